package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/notify"
	"github.com/sanse-campus/sanse/engine/registry"
	"github.com/sanse-campus/sanse/engine/report"
	"github.com/sanse-campus/sanse/rules"
)

// cmdConfig runs `sanse config check`: the configuration, the registry it
// names and its rules are loaded exactly as `sanse serve` loads them, and
// every problem is reported.
func cmdConfig(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprint(stderr, "Usage: sanse config check [flags]\n\nLoads the configuration (file, environment, flags), the school registry and the rules\nas `sanse serve` would, and reports every problem without starting anything.\n")
		return errUsage
	}
	fs := newFlagSet("config check", "config check [flags]", stderr)
	cf := newConfigFlags(fs)
	skipRegistry := fs.Bool("skip-registry", false, "do not load the registry file (e.g. when it is mounted only at run time)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	cfg, err := cf.load()
	if err != nil && !(*skipRegistry && onlyRegistryMissing(err)) {
		return err
	}
	// The sources, each with the topic it is read from.
	topics := cfg.topics()
	for _, s := range cfg.contract().Sources() {
		from := s.File
		if event.Builtin().Source(s.Name) != nil {
			from = "built-in"
		}
		fmt.Fprintf(stdout, "source %s (%s): topic %s, %s\n", s.Name, s.Title[0], topics[s.Name], from)
	}
	var errs []error
	var reg *engine.Registry
	if !*skipRegistry {
		if reg, err = registry.Load(cfg.Registry.File); err != nil {
			errs = append(errs, err)
		} else {
			fmt.Fprintf(stdout, "registry %s: %d schools\n", cfg.Registry.File, reg.Len())
		}
	}
	set, rerrs := loadRules(cfg.contract(), cfg.Rules.Dir)
	errs = append(errs, rerrs...)
	if set != nil {
		name := cfg.Rules.Dir
		if name == "" {
			name = "the default pack"
		}
		fmt.Fprintf(stdout, "rules %s: %d rules\n", name, len(set.Rules()))
		// A calendar running out is a warning, not an error: serve starts
		// and stays ready, and absence checks stop beyond it.
		cal := set.Calendar()
		if msg := cal.CoverageWarning(time.Now()); msg != "" {
			fmt.Fprintf(stdout, "warning: %s\n", msg)
		} else if !cal.CoversUntil.IsZero() {
			fmt.Fprintf(stdout, "calendar: covers until %s\n", cal.CoversUntil)
		}
	}
	printSchedules(stdout, &cfg, reg)
	// Building each receiver reads its secret files, as the start does.
	for _, rc := range cfg.Alerting.Receivers {
		if _, err := notify.NewReceiver(rc, notify.Options{}); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	fmt.Fprintln(stdout, "configuration OK")
	return nil
}

// printSchedules lists the report schedules with their next run, and warns
// of a district or school that the registry (when loaded) does not have.
func printSchedules(w io.Writer, cfg *Config, reg *engine.Registry) {
	schedules, err := cfg.Reports.Compile(cfg.Alerting.Receivers)
	if err != nil {
		return // reported by load
	}
	loc, _ := cfg.Reports.Location()
	now := time.Now()
	for _, s := range schedules {
		var scope string
		switch {
		case s.AllDistricts:
			scope = "every district"
		case len(s.Districts) > 0:
			scope = "districts " + strings.Join(s.Districts, ", ")
		default:
			scope = "schools " + strings.Join(s.Schools, ", ")
		}
		receivers := "none (archived only)"
		if len(s.Receivers) > 0 {
			receivers = strings.Join(s.Receivers, ", ")
		}
		fmt.Fprintf(w, "report schedule %s: %q, %s reports of %s, next %s; receivers: %s\n",
			s.Name, s.Cron, s.Kind, scope, s.Next(now, loc).Format("2006-01-02 15:04 MST"), receivers)
		if reg == nil {
			continue
		}
		for _, sc := range s.Scopes(reg) {
			if !report.KnownScope(reg, sc) {
				fmt.Fprintf(w, "warning: report schedule %s: the registry has no %s; no report is made for it\n", s.Name, sc)
			}
		}
	}
}

func onlyRegistryMissing(err error) bool {
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) {
		errs := j.Unwrap()
		return len(errs) == 1 && errors.Is(errs[0], errRegistryRequired)
	}
	return errors.Is(err, errRegistryRequired)
}

// loadRules compiles the rule files of dir against the sources of c, or the
// default pack when dir is empty.
func loadRules(c *event.Contract, dir string) (*rules.Set, []error) {
	if dir == "" {
		return rules.Default()
	}
	return rules.LoadDirContract(c, dir)
}
