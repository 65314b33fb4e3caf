package rules

import (
	"time"

	"github.com/expr-lang/expr"

	"github.com/sanse-campus/sanse/engine"
)

// Env is what a rule expression sees: the event (`event.watchlist`,
// `event.occurred_at` …, named as in the event contract), the school record
// (`school.stage`, `school.boarding` …) and the helper functions of
// functions().
type Env struct {
	Event  *engine.Event  `expr:"event"`
	School *engine.School `expr:"school"`
}

// local returns t in Asia/Shanghai, the time zone of school days.
func local(t time.Time) time.Time { return t.In(engine.Shanghai) }

// functions are the helpers available to every expression. Times are read in
// Asia/Shanghai.
func functions() []expr.Option {
	return []expr.Option{
		// hour(t) is the local hour of t, 0–23.
		expr.Function("hour", func(p ...any) (any, error) {
			return local(p[0].(time.Time)).Hour(), nil
		}, new(func(time.Time) int)),
		// minute(t) is the local minute of t, 0–59.
		expr.Function("minute", func(p ...any) (any, error) {
			return local(p[0].(time.Time)).Minute(), nil
		}, new(func(time.Time) int)),
		// weekday(t) is the local day of the week of t, 1 (Monday) to 7 (Sunday).
		expr.Function("weekday", func(p ...any) (any, error) {
			d := int(local(p[0].(time.Time)).Weekday())
			if d == 0 {
				d = 7
			}
			return d, nil
		}, new(func(time.Time) int)),
		// month(t) is the local month of t, 1–12.
		expr.Function("month", func(p ...any) (any, error) {
			return int(local(p[0].(time.Time)).Month()), nil
		}, new(func(time.Time) int)),
		// daysUntil(a, b) is the number of whole local days from a's date to b's date.
		expr.Function("daysUntil", func(p ...any) (any, error) {
			a, b := local(p[0].(time.Time)), local(p[1].(time.Time))
			da := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, engine.Shanghai)
			db := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, engine.Shanghai)
			return int(db.Sub(da).Hours() / 24), nil
		}, new(func(time.Time, time.Time) int)),
	}
}
