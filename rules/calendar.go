package rules

import (
	"fmt"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sanse-campus/sanse/engine"
)

// Calendar is the school calendar rules read through `schoolDay(t)` and
// `summer(t)`: terms, holidays and make-up school days (调休), in
// Asia/Shanghai. It is declared under `calendar:` in a rule file.
type Calendar struct {
	Terms        []DateRange
	Holidays     []DateRange
	SchoolDays   []Date // make-up days: school days even on a weekend or in a holiday
	SummerMonths []int  // the drowning-prevention season, default June to September
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

func (d Date) less(o Date) bool {
	if d.Y != o.Y {
		return d.Y < o.Y
	}
	if d.M != o.M {
		return d.M < o.M
	}
	return d.D < o.D
}

func (r DateRange) contains(d Date) bool { return !d.less(r.From) && !r.To.less(d) }

// SchoolDay reports whether t falls on a school day: a make-up day, or a
// weekday that is in a term (when terms are given) and not in a holiday.
func (c *Calendar) SchoolDay(t time.Time) bool {
	d := dateOf(t)
	if slices.Contains(c.SchoolDays, d) {
		return true
	}
	for _, h := range c.Holidays {
		if h.contains(d) {
			return false
		}
	}
	if len(c.Terms) > 0 {
		in := false
		for _, term := range c.Terms {
			if term.contains(d) {
				in = true
				break
			}
		}
		if !in {
			return false
		}
	}
	wd := t.In(engine.Shanghai).Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// Summer reports whether t falls in the drowning-prevention season.
func (c *Calendar) Summer(t time.Time) bool {
	return slices.Contains(c.SummerMonths, int(t.In(engine.Shanghai).Month()))
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
		if err != nil {
			fail(v, fmt.Sprintf("%q is not a date, expected YYYY-MM-DD", v.Value))
			return Date{}, false
		}
		return Date{t.Year(), int(t.Month()), t.Day()}, true
	}
	ranges := func(v *yaml.Node) []DateRange {
		if v.Kind != yaml.SequenceNode {
			fail(v, "expected a list of {from, to, name}")
			return nil
		}
		var out []DateRange
		for _, e := range v.Content {
			var r DateRange
			ok := true
			if e.Kind != yaml.MappingNode {
				fail(e, "expected {from: YYYY-MM-DD, to: YYYY-MM-DD, name: …}")
				continue
			}
			for i := 0; i+1 < len(e.Content); i += 2 {
				k, x := e.Content[i], e.Content[i+1]
				switch k.Value {
				case "from":
					r.From, ok = date(x)
				case "to":
					r.To, ok = date(x)
				case "name":
					r.Name = x.Value
				default:
					fail(k, fmt.Sprintf("unknown key %q, expected from, to or name", k.Value))
					ok = false
				}
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
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "terms":
			c.Terms = ranges(v)
		case "holidays":
			c.Holidays = ranges(v)
		case "school_days":
			if v.Kind != yaml.SequenceNode {
				fail(v, "expected a list of dates")
				continue
			}
			for _, e := range v.Content {
				if d, ok := date(e); ok {
					c.SchoolDays = append(c.SchoolDays, d)
				}
			}
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
			fail(k, fmt.Sprintf("unknown key %q, expected terms, holidays, school_days or summer_months", k.Value))
		}
	}
	return c, errs
}
