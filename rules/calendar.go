package rules

import (
	"fmt"
	"math"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sanse-campus/sanse/engine"
)

// CoverageAhead is how many days ahead the calendar should be known: when
// it covers fewer (Calendar.CoveredDays), the Manager warns at start and
// daily, the metric sanse_rules_calendar_covered_days shows it and `sanse
// config check` says so. The engine keeps running either way.
const CoverageAhead = 30

// Calendar is the school calendar rules read through `schoolDay(t)` and
// `summer(t)`: terms, holidays and make-up school days (调休), in
// Asia/Shanghai. It is declared under `calendar:` in a rule file.
//
// A calendar is known up to CoversUntil. Beyond it SchoolDay still guesses
// (a weekday in a term is a school day), so that an event that did happen
// (a visitor at the gate in class time) is judged as before; but an absence
// check — an alarm because something expected did not happen — is not run
// on a day the calendar does not know: in `absent.on`, schoolDay(now) and
// classTime(now) are false beyond coverage (see strict). An unpublished
// holiday then costs a missed reminder, not a district of yellow schools.
type Calendar struct {
	Terms    []DateRange
	Holidays []DateRange
	// SchoolDays are the make-up working days (调休上班): school days even on
	// a weekend or in a holiday, but only in a term when terms are given (a
	// make-up day in the winter vacation is no school day).
	SchoolDays   []Date
	SummerMonths []int // the drowning-prevention season, default June to September
	// CoversUntil is the last day the calendar is known for: `covers_until`
	// when given, else the latest day it names (a term's or holiday's end,
	// a make-up day). Zero for a calendar that names no day: it claims every
	// weekday, with no end.
	CoversUntil Date

	// strict marks the view used by absence checks: no school day beyond
	// CoversUntil.
	strict bool
}

// Date is a calendar day in Asia/Shanghai.
type Date struct{ Y, M, D int }

// DateRange is an inclusive range of days.
type DateRange struct {
	From, To Date
	Name     string
}

func dateOf(t time.Time) Date {
	l := t.In(engine.Shanghai)
	return Date{l.Year(), int(l.Month()), l.Day()}
}

// String formats d as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Y, d.M, d.D) }

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

func (d Date) less(o Date) bool {
	if d.Y != o.Y {
		return d.Y < o.Y
	}
	if d.M != o.M {
		return d.M < o.M
	}
	return d.D < o.D
}

// days is the number of days from d to o (negative when o is earlier).
func (d Date) days(o Date) int {
	a := time.Date(d.Y, time.Month(d.M), d.D, 0, 0, 0, 0, time.UTC)
	b := time.Date(o.Y, time.Month(o.M), o.D, 0, 0, 0, 0, time.UTC)
	return int(b.Sub(a).Hours() / 24)
}

func (r DateRange) contains(d Date) bool { return !d.less(r.From) && !r.To.less(d) }

// SchoolDay reports whether t falls on a school day: a day in a term (when
// terms are given) that is a make-up day, or a weekday not in a holiday.
// Beyond CoversUntil this is a guess by the same rules, except in the view
// absence checks use, where it is false.
func (c *Calendar) SchoolDay(t time.Time) bool {
	d := dateOf(t)
	if c.strict && !c.covers(d) {
		return false
	}
	if len(c.Terms) > 0 && !slices.ContainsFunc(c.Terms, func(r DateRange) bool { return r.contains(d) }) {
		return false
	}
	if slices.Contains(c.SchoolDays, d) {
		return true
	}
	if slices.ContainsFunc(c.Holidays, func(r DateRange) bool { return r.contains(d) }) {
		return false
	}
	wd := t.In(engine.Shanghai).Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// Covers reports whether the calendar is known for the day of t.
func (c *Calendar) Covers(t time.Time) bool { return c.covers(dateOf(t)) }

func (c *Calendar) covers(d Date) bool { return c.CoversUntil.IsZero() || !c.CoversUntil.less(d) }

// CoveredDays is the number of days after the day of now that the calendar
// still covers: 0 when it ends today, negative when it has ended, +Inf when
// it has no end. Below CoverageAhead the calendar needs its next year.
func (c *Calendar) CoveredDays(now time.Time) float64 {
	if c.CoversUntil.IsZero() {
		return math.Inf(1)
	}
	return float64(dateOf(now).days(c.CoversUntil))
}

// CoverageWarning is the sentence people read when the calendar covers
// fewer than CoverageAhead days after the day of now, "" otherwise.
func (c *Calendar) CoverageWarning(now time.Time) string {
	days := c.CoveredDays(now)
	switch {
	case days >= CoverageAhead:
		return ""
	case days < 0:
		return fmt.Sprintf("the school calendar ended on %s: absence checks that depend on it (schoolDay, classTime) are not run; add the coming public holidays, make-up working days and terms", c.CoversUntil)
	default:
		return fmt.Sprintf("the school calendar covers only until %s, %d days from today, fewer than %d: after it absence checks that depend on it (schoolDay, classTime) are not run; add the coming public holidays, make-up working days and terms", c.CoversUntil, int(days), CoverageAhead)
	}
}

// Summer reports whether t falls in the drowning-prevention season.
func (c *Calendar) Summer(t time.Time) bool {
	return slices.Contains(c.SummerMonths, int(t.In(engine.Shanghai).Month()))
}

// absence returns the view of c that absence checks are compiled with: the
// same calendar, with no school day beyond coverage.
func (c *Calendar) absence() *Calendar {
	if c == nil {
		return nil
	}
	s := *c
	s.strict = true
	return &s
}

func defaultCalendar() *Calendar { return &Calendar{SummerMonths: []int{6, 7, 8, 9}} }

// parseCalendar reads a `calendar` mapping.
func parseCalendar(f *File, n *yaml.Node) (*Calendar, []error) {
	c := defaultCalendar()
	var errs []error
	fail := func(v *yaml.Node, msg string) {
		errs = append(errs, &Error{File: f.Name, Line: v.Line, Column: v.Column, Field: "calendar", Msg: msg})
	}
	date := func(v *yaml.Node) (Date, bool) {
		t, err := time.Parse("2006-01-02", v.Value)
		if err != nil || v.Kind != yaml.ScalarNode {
			fail(v, fmt.Sprintf("%q is not a date, expected YYYY-MM-DD", v.Value))
			return Date{}, false
		}
		return Date{t.Year(), int(t.Month()), t.Day()}, true
	}
	dates := func(v *yaml.Node) []Date {
		if v.Kind != yaml.SequenceNode {
			fail(v, "expected a list of dates YYYY-MM-DD")
			return nil
		}
		var out []Date
		for _, e := range v.Content {
			if d, ok := date(e); ok {
				out = append(out, d)
			}
		}
		return out
	}
	// ranges reads a list of {from, to, name}; holidays may also list their
	// make-up working days under work, which go to c.SchoolDays.
	ranges := func(v *yaml.Node, holidays bool) []DateRange {
		shape, keys := "{from: YYYY-MM-DD, to: YYYY-MM-DD, name: …}", "from, to or name"
		if holidays {
			shape, keys = "{from: YYYY-MM-DD, to: YYYY-MM-DD, name: …, work: [YYYY-MM-DD, …]}", "from, to, name or work"
		}
		if v.Kind != yaml.SequenceNode {
			fail(v, "expected a list of "+shape)
			return nil
		}
		var out []DateRange
		for _, e := range v.Content {
			if e.Kind != yaml.MappingNode {
				fail(e, "expected "+shape)
				continue
			}
			var (
				r              DateRange
				hasFrom, hasTo bool
				ok             = true
			)
			for i := 0; i+1 < len(e.Content); i += 2 {
				k, x := e.Content[i], e.Content[i+1]
				var good bool
				switch {
				case k.Value == "from":
					hasFrom = true
					r.From, good = date(x)
					ok = ok && good
				case k.Value == "to":
					hasTo = true
					r.To, good = date(x)
					ok = ok && good
				case k.Value == "name":
					r.Name = x.Value
				case k.Value == "work" && holidays:
					c.SchoolDays = append(c.SchoolDays, dates(x)...)
				default:
					fail(k, fmt.Sprintf("unknown key %q, expected %s", k.Value, keys))
					ok = false
				}
			}
			if !hasFrom || !hasTo {
				fail(e, "expected both from and to")
				ok = false
			}
			if ok && r.To.less(r.From) {
				fail(e, "to is before from")
				ok = false
			}
			if ok {
				out = append(out, r)
			}
		}
		return out
	}
	var covers *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "terms":
			c.Terms = ranges(v, false)
		case "holidays":
			c.Holidays = ranges(v, true)
		case "school_days":
			c.SchoolDays = append(c.SchoolDays, dates(v)...)
		case "covers_until":
			covers = v
		case "summer_months":
			var months []int
			if err := v.Decode(&months); err != nil {
				fail(v, "expected a list of months 1–12")
				continue
			}
			for _, m := range months {
				if m < 1 || m > 12 {
					fail(v, fmt.Sprintf("month %d is not 1–12", m))
				}
			}
			c.SummerMonths = months
		default:
			fail(k, fmt.Sprintf("unknown key %q, expected terms, holidays, school_days, covers_until or summer_months", k.Value))
		}
	}
	if covers != nil {
		if d, ok := date(covers); ok {
			c.CoversUntil = d
		}
	} else {
		c.CoversUntil = c.lastNamed()
	}
	return c, errs
}

// lastNamed is the latest day the calendar names, zero when it names none.
func (c *Calendar) lastNamed() Date {
	var last Date
	later := func(d Date) {
		if last.less(d) {
			last = d
		}
	}
	for _, r := range c.Terms {
		later(r.To)
	}
	for _, r := range c.Holidays {
		later(r.To)
	}
	for _, d := range c.SchoolDays {
		later(d)
	}
	return last
}
