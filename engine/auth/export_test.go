package auth

import "time"

// SetNow replaces the clock of v.
func SetNow(v *Verifier, now func() time.Time) { v.now = now }
