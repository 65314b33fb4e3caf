package alert

import (
	"fmt"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

// Quiet hours hold a group's yellow first message back until they end; a
// group with a red alert is never held (see checkGroup).

// span returns the quiet hours as minutes since midnight.
func (q QuietHours) span() (start, end int, err error) {
	parse := func(s string) (int, error) {
		t, err := time.Parse("15:04", s)
		if err != nil {
			return 0, fmt.Errorf("%q is not a time of day like 22:00", s)
		}
		return t.Hour()*60 + t.Minute(), nil
	}
	if start, err = parse(q.Start); err != nil {
		return 0, 0, err
	}
	if end, err = parse(q.End); err != nil {
		return 0, 0, err
	}
	return start, end, nil
}

// quiet reports whether t falls in quiet hours (Asia/Shanghai), and when
// they end.
func quiet(hours []QuietHours, t time.Time) (bool, time.Time) {
	local := t.In(engine.Shanghai)
	min := local.Hour()*60 + local.Minute()
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, engine.Shanghai)
	for _, q := range hours {
		start, end, err := q.span()
		if err != nil || start == end {
			continue
		}
		switch {
		case start < end && min >= start && min < end:
			return true, midnight.Add(time.Duration(end) * time.Minute)
		case start > end && min >= start:
			return true, midnight.AddDate(0, 0, 1).Add(time.Duration(end) * time.Minute)
		case start > end && min < end:
			return true, midnight.Add(time.Duration(end) * time.Minute)
		}
	}
	return false, time.Time{}
}
