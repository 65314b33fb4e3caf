package report

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/sanse-campus/sanse/engine"
)

// Schedule is a compiled schedule of Config: when it fires, which kind of
// report each run makes, for which scopes, and who receives them.
type Schedule struct {
	Name string
	Kind Kind
	// AllDistricts makes one report per district of the registry in force
	// at each run; otherwise one per district in Districts, or one per
	// school in Schools.
	AllDistricts bool
	Districts    []string
	Schools      []string
	Receivers    []string
	// Cron is the spec as written.
	Cron string
	spec cron.Schedule
}

// Run is one report a schedule owes: its scope and period, and the
// deterministic key that names it, so that every instance and every restart
// agree on what was made.
type Run struct {
	Schedule *Schedule
	Spec     Spec
	// Due is when the run became due: the first time the schedule fired
	// after the period ended.
	Due time.Time
}

// Key returns the run's key: the schedule, the kind, the scope and the
// first day of the period, e.g. district-daily/daily/district:南湖区/2026-12-03.
func (r Run) Key() string {
	return RunKey(r.Schedule.Name, r.Spec)
}

// RunKey returns the key of the run of schedule that makes spec.
func RunKey(schedule string, spec Spec) string {
	return schedule + "/" + string(spec.Kind) + "/" + spec.Scope.String() + "/" + spec.From.Format(time.DateOnly)
}

// IDForKey returns the archive id of the report of a run key: the same for
// every instance that makes the run, so that a report made twice (which
// the claims make rare, not impossible) is one entry of the archive.
func IDForKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "r" + hex.EncodeToString(sum[:10])
}

// NewID returns a random archive id, for a report asked for on demand.
func NewID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "c" + hex.EncodeToString(b[:])
}

// DuePeriod is one period a schedule's run covers, [From, To), and when
// the run became due.
type DuePeriod struct {
	From, To time.Time
	Due      time.Time
}

// Due returns the periods that the schedule's runs up to now cover, the
// latest n of them, oldest first. Each period is listed once, however often
// the spec fires after it: a daily schedule firing every hour still owes one
// report per day. Times are in loc.
func (s *Schedule) Due(now time.Time, n int, loc *time.Location) []DuePeriod {
	if n <= 0 || s.spec == nil {
		return nil
	}
	now = now.In(loc)
	// Start n+1 periods back: the run of the period before that is due in
	// the period after it, within the window.
	start, _ := Period(s.Kind, now, loc)
	for range n + 1 {
		start, _ = Previous(s.Kind, start, loc)
	}
	var out []DuePeriod
	t := s.spec.Next(start.Add(-time.Second))
	for !t.IsZero() && !t.After(now) {
		from, to := Previous(s.Kind, t, loc)
		out = append(out, DuePeriod{From: from, To: to, Due: t})
		// The next fire that owes another period is in the next period.
		_, end := Period(s.Kind, t, loc)
		t = s.spec.Next(end.Add(-time.Second))
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}

// Next returns when the schedule next fires after t.
func (s *Schedule) Next(t time.Time, loc *time.Location) time.Time {
	if s.spec == nil {
		return time.Time{}
	}
	return s.spec.Next(t.In(loc))
}

// Scopes returns the scopes the schedule makes reports for, with the
// registry in force: every district it has (districts: all), or the
// districts or schools listed, each once, in order.
func (s *Schedule) Scopes(reg *engine.Registry) []Scope {
	var out []Scope
	switch {
	case s.AllDistricts:
		for _, d := range Districts(reg) {
			out = append(out, Scope{District: d})
		}
	case len(s.Districts) > 0:
		for _, d := range s.Districts {
			out = append(out, Scope{District: d})
		}
	default:
		for _, id := range s.Schools {
			out = append(out, Scope{School: id})
		}
	}
	seen := map[Scope]bool{}
	return slices.DeleteFunc(out, func(s Scope) bool {
		dup := seen[s]
		seen[s] = true
		return dup
	})
}

// Districts returns the districts of the registry, sorted.
func Districts(reg *engine.Registry) []string {
	if reg == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, sc := range reg.Schools() {
		if sc.District != "" && !seen[sc.District] {
			seen[sc.District] = true
			out = append(out, sc.District)
		}
	}
	slices.Sort(out)
	return out
}

// KnownScope reports whether the registry has the scope's district or
// school.
func KnownScope(reg *engine.Registry, s Scope) bool {
	if reg == nil {
		return false
	}
	if s.School != "" {
		return reg.School(s.School) != nil
	}
	return slices.Contains(Districts(reg), s.District)
}
