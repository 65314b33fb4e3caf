package rules

import (
	"time"

	"github.com/expr-lang/expr"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/words"
)

// Env holds what a rule expression reads: the event, the school record and,
// for a rule with a window, its aggregate. Expressions do not see it as a
// Go struct: `event` is typed from the declaration of the rule's source
// (see ruleEnv), so that `event.watchlist` is a string field of visitor
// events and `event.watchlst` a compile error; `school` (`school.stage`,
// `school.boarding` …) and `window` (`window.count`, `window.span` …) are
// the structs, and the helpers are those of functions().
type Env struct {
	Event  *engine.Event
	School *engine.School
	Window *Aggregate
}

// CheckEnv is what the expressions of an absence check see: the school,
// the time of the check (`now`), and in titles the entity (`key`) and when
// it was last seen (`last_seen`, zero when never).
type CheckEnv struct {
	School   *engine.School `expr:"school"`
	Now      time.Time      `expr:"now"`
	Key      string         `expr:"key"`
	LastSeen time.Time      `expr:"last_seen"`
}

// PolicyEnv is what a level policy expression sees: the school's active
// risks and the school record.
type PolicyEnv struct {
	Risks  []PolicyRisk   `expr:"risks"`
	School *engine.School `expr:"school"`
}

// PolicyRisk is one active risk as a level policy sees it.
type PolicyRisk struct {
	Rule   string `expr:"rule"`
	Key    string `expr:"key"`
	Level  string `expr:"level"`
	Grade  string `expr:"grade"`
	Source string `expr:"source"`
}

// local returns t in Asia/Shanghai, the time zone of school days.
func local(t time.Time) time.Time { return t.In(engine.Shanghai) }

// midnight returns the start of t's day in Asia/Shanghai.
func midnight(t time.Time) time.Time {
	l := local(t)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, engine.Shanghai)
}

// functions are the helpers available to every expression. Times are read in
// Asia/Shanghai; schoolDay and summer read the rule set's calendar, season
// the dates it is given, zh the labels of the set's contract.
func functions(cal *Calendar, labels map[string]string) []expr.Option {
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
			a, b := midnight(p[0].(time.Time)), midnight(p[1].(time.Time))
			return int(b.Sub(a).Hours() / 24), nil
		}, new(func(time.Time, time.Time) int)),
		// schoolDay(t) reports whether t is on a school day of the calendar.
		expr.Function("schoolDay", func(p ...any) (any, error) {
			return cal.SchoolDay(p[0].(time.Time)), nil
		}, new(func(time.Time) bool)),
		// summer(t) reports whether t is in the drowning-prevention season.
		expr.Function("summer", func(p ...any) (any, error) {
			return cal.Summer(p[0].(time.Time)), nil
		}, new(func(time.Time) bool)),
		// season(t, from, to) reports whether t's local date is between
		// from and to (MM-DD, both included): season(t, "04-15", "10-15").
		expr.Function("season", func(p ...any) (any, error) {
			return seasonOf(p[0].(time.Time), p[1].(string), p[2].(string))
		}, new(func(time.Time, string, string) bool)),
		// classTime(t) reports whether t is in class hours on a school day
		// (08:00–11:30 and 13:30–16:30 local).
		expr.Function("classTime", func(p ...any) (any, error) {
			t := p[0].(time.Time)
			if !cal.SchoolDay(t) {
				return false, nil
			}
			m := local(t).Hour()*60 + local(t).Minute()
			return (m >= 8*60 && m < 11*60+30) || (m >= 13*60+30 && m < 16*60+30), nil
		}, new(func(time.Time) bool)),
		// zh(code) is the Chinese label of an enumerated value of the event
		// contract (no_hat → 未戴工作帽), of a source or of a severity, or
		// the code itself.
		expr.Function("zh", func(p ...any) (any, error) {
			if l, ok := labels[p[0].(string)]; ok {
				return l, nil
			}
			return p[0], nil
		}, new(func(string) string)),
		// minutes(n) and hours(n) are durations, for comparing with window.span.
		expr.Function("minutes", func(p ...any) (any, error) {
			return time.Duration(toFloat(p[0]) * float64(time.Minute)), nil
		}, new(func(float64) time.Duration), new(func(int) time.Duration)),
		expr.Function("hours", func(p ...any) (any, error) {
			return time.Duration(toFloat(p[0]) * float64(time.Hour)), nil
		}, new(func(float64) time.Duration), new(func(int) time.Duration)),
	}
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case float64:
		return x
	}
	return 0
}

// labelsOf returns the Chinese names zh() gives: the labels the contract
// declares for its fields' values (the first declaration of a value wins, as
// in Contract.Label), the sources' titles and the severities' names, from
// engine/words, the one place they are written.
func labelsOf(c *event.Contract) map[string]string {
	m := map[string]string{}
	for _, src := range c.Sources() {
		for _, f := range src.Fields {
			for v := range f.Labels {
				if _, done := m[v]; !done {
					m[v], _ = c.Label(v)
				}
			}
		}
	}
	for _, src := range c.Names() {
		m[string(src)] = c.Title(src, false)
	}
	for _, sev := range engine.Severities {
		m[string(sev)] = words.Severity(sev, words.Chinese)
	}
	return m
}
