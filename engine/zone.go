package engine

import "time"

// Shanghai is the time zone of school days, local hours and every time shown
// to people (Asia/Shanghai). China Standard Time is UTC+8 and has had no
// daylight saving since 1991, so a fixed zone is exact and needs no time zone
// database on the host. It is the one location of the whole program.
var Shanghai = time.FixedZone("CST", 8*3600)
