package report

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/notify"
)

// Config is the reports section of the configuration file: when reports
// are made, for whom, and who receives them.
type Config struct {
	// Timezone is the zone of the schedules' times and of the periods
	// (local midnight to local midnight); Asia/Shanghai when empty.
	Timezone string `yaml:"timezone"`
	// CatchUpRuns bounds the missed runs of a schedule made when Sanse
	// comes back: at most the last CatchUpRuns periods per scope
	// (DefaultCatchUpRuns when zero; 1 makes only the latest).
	CatchUpRuns int `yaml:"catch_up_runs"`
	// ClaimLease is how long a run claimed by one instance is left to it;
	// past it, a run whose report never appeared may be taken over
	// (DefaultClaimLease when zero). A run that takes longer is given up.
	ClaimLease time.Duration `yaml:"claim_lease"`
	// CheckInterval is how often every instance looks for runs that are
	// due and not made (DefaultCheckInterval when zero); a run is also
	// looked at the moment its schedule fires.
	CheckInterval time.Duration `yaml:"check_interval"`
	// PDF says how reports are printed to PDF: "" or "auto" with the
	// Chromium found on PATH (chromium, chromium-browser, google-chrome),
	// and without PDF when there is none; "none" never; any other value is
	// the browser's executable, refused at start when missing.
	PDF string `yaml:"pdf"`
	// Schedules are the periodic reports.
	Schedules []ScheduleConfig `yaml:"schedules"`
}

// PDFRenderer returns the renderer PDF asks for, or nil for none.
func (c Config) PDFRenderer() (PDFRenderer, error) {
	switch c.PDF {
	case "none":
		return nil, nil
	case "", "auto":
		r, err := FindChromium("")
		if r == nil || err != nil {
			return nil, err
		}
		return r, nil
	}
	r, err := FindChromium(c.PDF)
	if err != nil {
		return nil, fmt.Errorf("reports.pdf: %w", err)
	}
	return r, nil
}

// Defaults of Config.
const (
	DefaultTimezone      = "Asia/Shanghai"
	DefaultCatchUpRuns   = 7
	DefaultClaimLease    = 15 * time.Minute
	DefaultCheckInterval = time.Minute
	// MaxCatchUpRuns bounds CatchUpRuns.
	MaxCatchUpRuns = 100
)

// ScheduleConfig is one schedule: a cron spec, the kind of report, the
// scopes (every district, some districts, or some schools) and the
// receivers (names of alerting.receivers).
type ScheduleConfig struct {
	Name string
	// Cron is a standard five-field spec (minute hour day-of-month month
	// day-of-week) or a descriptor such as @daily, in Timezone.
	Cron string
	// Kind is daily (the previous day), weekly (the previous Monday to
	// Sunday) or monthly (the previous month).
	Kind Kind
	// AllDistricts makes one report per district of the registry in
	// force at each run (districts: all).
	AllDistricts bool
	// Districts and Schools make one report per name or id listed.
	Districts []string
	Schools   []string
	Receivers []string

	// line is the line of the schedule in the file, lines those of its
	// keys; zero for a schedule not read from a file.
	line  int
	lines map[string]int
}

// scheduleKeys are the keys of a schedule, in the order docs list them.
var scheduleKeys = []string{"name", "cron", "kind", "districts", "schools", "receivers"}

// UnmarshalYAML decodes a schedule, keeping the line of each key for the
// errors of Validate. An unknown key is an error, as everywhere in the
// configuration.
func (s *ScheduleConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: reports.schedules: expected a mapping with %s", n.Line, strings.Join(scheduleKeys, ", "))
	}
	*s = ScheduleConfig{line: n.Line, lines: map[string]int{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if _, seen := s.lines[k.Value]; seen {
			return fmt.Errorf("line %d: reports.schedules: %s is given twice", k.Line, k.Value)
		}
		s.lines[k.Value] = v.Line
		list := func(dst *[]string, what string) error {
			if v.Kind != yaml.SequenceNode || v.Decode(dst) != nil {
				return fmt.Errorf("line %d: reports.schedules: %s: expected %s", v.Line, k.Value, what)
			}
			return nil
		}
		var err error
		switch k.Value {
		case "name", "cron", "kind":
			var str string
			if v.Kind != yaml.ScalarNode || v.Decode(&str) != nil {
				return fmt.Errorf("line %d: reports.schedules: %s: expected a string", v.Line, k.Value)
			}
			switch k.Value {
			case "name":
				s.Name = str
			case "cron":
				s.Cron = str
			default:
				s.Kind = Kind(str)
			}
		case "districts":
			if v.Kind == yaml.ScalarNode && v.Value == "all" {
				s.AllDistricts = true
				continue
			}
			err = list(&s.Districts, "all, or a list of district names")
		case "schools":
			err = list(&s.Schools, "a list of school ids")
		case "receivers":
			err = list(&s.Receivers, "a list of receiver names (alerting.receivers)")
		default:
			err = fmt.Errorf("line %d: reports.schedules: unknown key %s (expected %s; see docs/reports.md)", k.Line, k.Value, strings.Join(scheduleKeys, ", "))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// MarshalYAML writes the schedule as it is read.
func (s ScheduleConfig) MarshalYAML() (any, error) {
	m := map[string]any{"name": s.Name, "cron": s.Cron, "kind": string(s.Kind)}
	switch {
	case s.AllDistricts:
		m["districts"] = "all"
	case len(s.Districts) > 0:
		m["districts"] = s.Districts
	}
	if len(s.Schools) > 0 {
		m["schools"] = s.Schools
	}
	if len(s.Receivers) > 0 {
		m["receivers"] = s.Receivers
	}
	return m, nil
}

// where names schedule i and the line of key (of the schedule when the key
// is not given) for an error.
func (s *ScheduleConfig) where(i int, key string) string {
	w := fmt.Sprintf("reports.schedules[%d]", i)
	if s.Name != "" {
		w += fmt.Sprintf(" (%s)", s.Name)
	}
	if key != "" {
		w += "." + key
	}
	line := s.lines[key]
	if line == 0 {
		line = s.line
	}
	if line > 0 {
		w = fmt.Sprintf("line %d: %s", line, w)
	}
	return w
}

// scheduleName is what a schedule may be called: it names the runs'
// keys, the metrics and the archive's entries.
var scheduleName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// cronParser reads the standard five fields and the descriptors (@daily,
// @weekly, @monthly, @every 1h); a spec may begin with CRON_TZ=zone.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// cronHelp says what a cron spec looks like.
const cronHelp = `expected five fields "minute hour day-of-month month day-of-week" such as "30 7 * * *" (07:30 every day) or "0 8 * * 1" (08:00 on Mondays), or @daily, @weekly, @monthly`

// Location returns the zone of Timezone.
func (c *Config) Location() (*time.Location, error) {
	switch c.Timezone {
	case "", DefaultTimezone:
		// China Standard Time has had no daylight saving since 1991: the
		// fixed zone is exact and needs no time zone database.
		return engine.Shanghai, nil
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return nil, fmt.Errorf("reports.timezone %q: %w (expected a zone such as Asia/Shanghai)", c.Timezone, err)
	}
	return loc, nil
}

// Validate reports every mistake of c at once, each with its line in the
// file: a cron spec that does not parse, an unknown kind, a schedule
// without scope or with two, a receiver that alerting.receivers does not
// name or that carries no reports (an Alertmanager receiver).
func (c *Config) Validate(receivers []notify.ReceiverConfig) error {
	var errs []error
	if _, err := c.Location(); err != nil {
		errs = append(errs, err)
	}
	if c.CatchUpRuns < 0 || c.CatchUpRuns > MaxCatchUpRuns {
		errs = append(errs, fmt.Errorf("reports.catch_up_runs must be from 1 to %d (0 takes the default, %d), got %d", MaxCatchUpRuns, DefaultCatchUpRuns, c.CatchUpRuns))
	}
	if c.ClaimLease != 0 && c.ClaimLease < time.Minute {
		errs = append(errs, fmt.Errorf("reports.claim_lease must be at least 1m (it bounds how long one report may take), got %s", c.ClaimLease))
	}
	if c.CheckInterval != 0 && c.CheckInterval < time.Second {
		errs = append(errs, fmt.Errorf("reports.check_interval must be at least 1s, got %s", c.CheckInterval))
	}
	byName := map[string]*notify.ReceiverConfig{}
	var names []string
	for i := range receivers {
		byName[receivers[i].Name] = &receivers[i]
		names = append(names, receivers[i].Name)
	}
	seen := map[string]bool{}
	for i := range c.Schedules {
		s := &c.Schedules[i]
		switch {
		case s.Name == "":
			errs = append(errs, fmt.Errorf("%s: name is required", s.where(i, "")))
		case !scheduleName.MatchString(s.Name):
			errs = append(errs, fmt.Errorf("%s: %q: expected letters, digits, '.', '_' and '-', such as district-daily", s.where(i, "name"), s.Name))
		case seen[s.Name]:
			errs = append(errs, fmt.Errorf("%s: the name %q is used twice", s.where(i, "name"), s.Name))
		}
		seen[s.Name] = true
		if s.Cron == "" {
			errs = append(errs, fmt.Errorf("%s: cron is required: %s", s.where(i, ""), cronHelp))
		} else if spec, err := cronParser.Parse(s.Cron); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q: %w; %s", s.where(i, "cron"), s.Cron, err, cronHelp))
		} else if err := firesEveryPeriod(spec, s.Kind); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q %w", s.where(i, "cron"), s.Cron, err))
		}
		switch s.Kind {
		case KindDaily, KindWeekly, KindMonthly:
		case "":
			errs = append(errs, fmt.Errorf("%s: kind is required: expected daily, weekly or monthly", s.where(i, "")))
		default:
			errs = append(errs, fmt.Errorf("%s: %q: expected daily (the previous day), weekly (the previous Monday to Sunday) or monthly (the previous month)", s.where(i, "kind"), s.Kind))
		}
		hasDistricts := s.AllDistricts || len(s.Districts) > 0
		switch {
		case hasDistricts && len(s.Schools) > 0:
			errs = append(errs, fmt.Errorf("%s: set districts or schools, not both (a schedule makes district reports or school reports)", s.where(i, "schools")))
		case !hasDistricts && len(s.Schools) == 0:
			errs = append(errs, fmt.Errorf("%s: no scope: expected districts: all, districts: [names] or schools: [ids]", s.where(i, "")))
		}
		for _, d := range s.Districts {
			if strings.TrimSpace(d) == "" {
				errs = append(errs, fmt.Errorf("%s: an empty district name", s.where(i, "districts")))
			}
		}
		for _, id := range s.Schools {
			if strings.TrimSpace(id) == "" {
				errs = append(errs, fmt.Errorf("%s: an empty school id", s.where(i, "schools")))
			}
		}
		for _, r := range s.Receivers {
			rc, ok := byName[r]
			switch {
			case !ok && len(names) == 0:
				errs = append(errs, fmt.Errorf("%s: no receiver is named %q: alerting.receivers names none", s.where(i, "receivers"), r))
			case !ok:
				errs = append(errs, fmt.Errorf("%s: no receiver is named %q (expected one of alerting.receivers: %s)", s.where(i, "receivers"), r, strings.Join(names, ", ")))
			case !rc.CarriesReports():
				errs = append(errs, fmt.Errorf("%s: receiver %q has only an alertmanager channel, which does not carry reports; give it webhook, dingtalk, wecom or email", s.where(i, "receivers"), r))
			}
		}
		if dup := duplicate(s.Receivers); dup != "" {
			errs = append(errs, fmt.Errorf("%s: %q is listed twice", s.where(i, "receivers"), dup))
		}
	}
	return errors.Join(errs...)
}

// firesEveryPeriod checks that spec fires in every period of kind (over
// four years, a whole leap cycle): the run owed for a period is made at the
// first fire of the next, so a period without one leaves the report of the
// period before it unmade.
func firesEveryPeriod(spec cron.Schedule, k Kind) error {
	var unit, example string
	switch k {
	case KindDaily:
		unit, example = "day", `"30 7 * * *"`
	case KindWeekly:
		unit, example = "week (Monday to Sunday)", `"0 8 * * 1" (Mondays)`
	case KindMonthly:
		unit, example = "month", `"0 9 1 * *" (the 1st)`
	default:
		return nil
	}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, engine.Shanghai) // a Monday
	end := start.AddDate(4, 0, 0)
	for from := start; from.Before(end); {
		_, to := Period(k, from, engine.Shanghai)
		if next := spec.Next(from.Add(-time.Second)); next.IsZero() || !next.Before(to) {
			return fmt.Errorf("does not fire in every %s (not in the %s from %s), so the %s reports of the %s before would never be made; e.g. %s",
				unit, unit, from.Format(time.DateOnly), k, unit, example)
		}
		from = to
	}
	return nil
}

// duplicate returns a value listed twice in list, or "".
func duplicate(list []string) string {
	sorted := slices.Sorted(slices.Values(list))
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			return sorted[i]
		}
	}
	return ""
}

// Reach returns how far back the catch-up of the schedules looks: the
// longest of their CatchUpRuns periods. An archive that drops reports
// sooner than this would have them made again.
func (c *Config) Reach() time.Duration {
	runs := c.WithDefaults().CatchUpRuns
	var out time.Duration
	for _, s := range c.Schedules {
		out = max(out, time.Duration(runs+1)*s.Kind.longest())
	}
	return out
}

// longest returns the longest period of a periodic kind.
func (k Kind) longest() time.Duration {
	switch k {
	case KindWeekly:
		return 7 * 24 * time.Hour
	case KindMonthly:
		return 31 * 24 * time.Hour
	}
	return 24 * time.Hour
}

// Compile validates c against the receivers and returns its schedules.
func (c *Config) Compile(receivers []notify.ReceiverConfig) ([]*Schedule, error) {
	if err := c.Validate(receivers); err != nil {
		return nil, err
	}
	out := make([]*Schedule, 0, len(c.Schedules))
	for _, s := range c.Schedules {
		spec, err := cronParser.Parse(s.Cron)
		if err != nil {
			return nil, fmt.Errorf("schedule %s: cron %q: %w", s.Name, s.Cron, err)
		}
		out = append(out, &Schedule{
			Name: s.Name, Kind: s.Kind, AllDistricts: s.AllDistricts,
			Districts: slices.Clone(s.Districts), Schools: slices.Clone(s.Schools), Receivers: slices.Clone(s.Receivers),
			Cron: s.Cron, spec: spec,
		})
	}
	return out, nil
}

// WithDefaults returns c with the defaults where it is silent.
func (c Config) WithDefaults() Config {
	if c.Timezone == "" {
		c.Timezone = DefaultTimezone
	}
	if c.CatchUpRuns == 0 {
		c.CatchUpRuns = DefaultCatchUpRuns
	}
	if c.ClaimLease == 0 {
		c.ClaimLease = DefaultClaimLease
	}
	if c.CheckInterval == 0 {
		c.CheckInterval = DefaultCheckInterval
	}
	return c
}
