package rules

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

// DefaultPollInterval is the usual ManagerOptions.PollInterval: a changed
// rule file is running within about this long.
const DefaultPollInterval = 5 * time.Second

// calendarCheckInterval is how often Run updates the calendar coverage
// metric and considers the daily warning.
const calendarCheckInterval = time.Hour

// calendarShortMsg is the message of the warning logged while the calendar
// covers fewer than CoverageAhead days.
const calendarShortMsg = "the school calendar does not cover the next 30 days"

// EmbeddedSource is Status.Source when the rules come from the default pack
// embedded in the binary rather than from a directory.
const EmbeddedSource = "embedded"

// ManagerOptions configures a Manager.
type ManagerOptions struct {
	// Dir is the directory of rule files (*.yaml, *.yml; *_test.yaml are
	// rule tests and not loaded). Empty uses the embedded default pack,
	// which never changes, so there is nothing to watch.
	Dir string
	// Logger receives a line per reload and every rule error; nothing is
	// logged when nil.
	Logger *slog.Logger
	// Registerer registers the rule metrics; they are not registered when
	// nil.
	Registerer prometheus.Registerer
	// PollInterval is how often Run looks at the rule files for a change.
	// Zero disables watching: the set then changes only through Reload.
	// DefaultPollInterval is the usual value.
	PollInterval time.Duration
	// Transform, when not nil, is applied to every newly compiled set
	// before it runs (the demo's Set.Scaled). It must return a non-nil set.
	Transform func(*Set) *Set
	// Contract is the event contract the rules are compiled against, the
	// one events are decoded with; nil is event.Builtin().
	Contract *event.Contract
}

// Manager holds the running rule set and replaces it when the rule files
// change. A replacement is all or nothing: the whole directory is compiled
// first, and on any error the running set stays in force while the errors
// are logged, kept for Status and counted in the metrics.
//
// Every method is safe for concurrent use. Reloads are serialised; Current
// never waits for one.
type Manager struct {
	dir       string
	contract  *event.Contract
	logger    *slog.Logger
	metrics   *metrics
	poll      time.Duration
	transform func(*Set) *Set
	now       func() time.Time // replaced by tests

	current atomic.Pointer[Set]

	// reloadMu serialises reloads, including the hooks they call, so that
	// hooks see the swaps in the order they happened.
	reloadMu sync.Mutex
	// seen is the fingerprint of the rule files as the last load read them;
	// guarded by reloadMu.
	seen string

	mu         sync.Mutex // guards the fields below and the store of current
	loadedAt   time.Time
	lastReload ReloadStatus
	hooks      []func(old, new *Set)
	// calendarWarned is when the calendar's short coverage was last logged,
	// and the end of coverage it was logged for.
	calendarWarned    time.Time
	calendarWarnedFor Date
}

// Status describes the running rule set and the last attempt to load one.
type Status struct {
	// Source is the rule directory, or EmbeddedSource.
	Source string
	// LoadedAt is when the running set was loaded.
	LoadedAt time.Time
	// LastReload is the outcome of the last load, successful or not; the
	// load at start-up counts.
	LastReload ReloadStatus
	// Rules are the rules of the running set, in file order.
	Rules []RuleStatus
}

// ReloadStatus is the outcome of one load of the rule files.
type ReloadStatus struct {
	At      time.Time
	Success bool
	// Errors are the problems that refused the load, each located by
	// file, rule, line and column where known; empty after a success.
	Errors []string
}

// RuleState is the state of a rule of the running set.
type RuleState string

// RuleActive is a rule that is evaluated against every event of its source.
const RuleActive RuleState = "active"

// RuleStatus is one rule of the running set, as listed for people.
type RuleStatus struct {
	ID     string
	Source engine.Source
	Types  []string // empty: every type of the source
	// Level is the rule's level; empty when LevelExpr decides it per match.
	Level     engine.Severity
	LevelExpr string
	// Grade is the four-grade level (I–IV) the rule was written with, if any.
	Grade string
	// For is how long a risk stays active after the last matching event; 0:
	// until a clearing event (clear_when).
	For        time.Duration
	File       string
	Line       int
	Provenance string
	State      RuleState
}

// NewManager loads the rule set of opts.Dir, or the embedded default pack
// when it is empty, and returns a Manager running it. It refuses to start on
// any problem: the error it then returns joins every one (errors.Join), each
// a *Error where it can be located, and no metrics are registered.
func NewManager(opts ManagerOptions) (*Manager, error) {
	m := &Manager{
		dir:       opts.Dir,
		contract:  opts.Contract,
		logger:    opts.Logger,
		poll:      opts.PollInterval,
		transform: opts.Transform,
		now:       time.Now,
	}
	if m.logger == nil {
		m.logger = slog.New(slog.DiscardHandler)
	}
	m.logger = m.logger.With("component", "rules")
	m.seen = m.fingerprint()
	set, errs := m.load()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	now := m.now()
	m.metrics = newMetrics(opts.Registerer)
	set = set.counting(m.metrics.evaluationFailures, m.metrics.forgotten)
	m.current.Store(set)
	m.loadedAt = now
	m.lastReload = ReloadStatus{At: now, Success: true}

	m.metrics.lastReloadSuccessful.Set(1)
	m.metrics.lastReloadSuccess.Set(float64(now.UnixNano()) / 1e9)
	m.metrics.loaded.Set(float64(len(set.Rules())))
	m.logger.Info("rules loaded", "source", m.source(), "rules", len(set.Rules()), "files", len(set.Files()))
	m.checkCalendar()
	return m, nil
}

// Current returns the running rule set. It never blocks and never returns
// nil; the engine calls it once per event.
func (m *Manager) Current() *Set { return m.current.Load() }

// OnSwap adds fn to the functions called after every successful reload with
// the set that was running and the set that now runs, in the order they
// were added. They run in the goroutine of the reload, one reload at a
// time; they must return soon and must not call Reload.
func (m *Manager) OnSwap(fn func(old, new *Set)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hooks = append(m.hooks, fn)
}

// Reload compiles the rule files again and, when there is no problem,
// replaces the running set with the result in one atomic step, then calls
// the OnSwap functions. On any problem the running set stays in force and
// Reload returns every problem joined (errors.Join).
func (m *Manager) Reload() error {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	return m.reload(m.fingerprint())
}

// Run looks at the rule files every poll interval and reloads when their
// names, sizes, modification times or contents changed since the last load,
// until ctx is cancelled; it then returns nil. A refused reload is not
// retried until the files change again. With no poll interval, or with the
// embedded pack, nothing is watched. Every hour it also updates the
// calendar coverage metric and, while the calendar covers fewer than
// CoverageAhead days, logs a warning once a day.
func (m *Manager) Run(ctx context.Context) error {
	var poll <-chan time.Time
	if m.poll > 0 && m.dir != "" {
		t := time.NewTicker(m.poll)
		defer t.Stop()
		poll = t.C
	}
	cal := time.NewTicker(calendarCheckInterval)
	defer cal.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-poll:
			m.reloadIfChanged()
		case <-cal.C:
			m.checkCalendar()
		}
	}
}

// checkCalendar sets sanse_rules_calendar_covered_days from the running
// set's calendar and, when it covers fewer than CoverageAhead days, logs a
// warning: at most once a day, and at once when the end of coverage changed.
// The engine keeps running: /readyz does not depend on the calendar.
func (m *Manager) checkCalendar() {
	cal, now := m.Current().Calendar(), m.now()
	m.metrics.calendarCoveredDays.Set(cal.CoveredDays(now))
	msg := cal.CoverageWarning(now)
	if msg == "" {
		return
	}
	m.mu.Lock()
	due := m.calendarWarned.IsZero() || now.Sub(m.calendarWarned) >= 24*time.Hour || m.calendarWarnedFor != cal.CoversUntil
	if due {
		m.calendarWarned, m.calendarWarnedFor = now, cal.CoversUntil
	}
	m.mu.Unlock()
	if due {
		m.logger.Warn(calendarShortMsg, "source", m.source(), "covers_until", cal.CoversUntil.String(),
			"covered_days", cal.CoveredDays(now), "detail", msg)
	}
}

// Status returns the running set and the outcome of the last load. The
// caller may keep and modify the result.
func (m *Manager) Status() Status {
	m.mu.Lock()
	set, loadedAt, last := m.current.Load(), m.loadedAt, m.lastReload
	m.mu.Unlock()

	last.Errors = slices.Clone(last.Errors)
	st := Status{Source: m.source(), LoadedAt: loadedAt, LastReload: last, Rules: make([]RuleStatus, 0, len(set.Rules()))}
	for _, r := range set.Rules() {
		st.Rules = append(st.Rules, RuleStatus{
			ID: r.ID, Source: r.Source, Types: slices.Clone(r.Types), Level: r.Level, LevelExpr: r.LevelExpr,
			Grade: r.Grade, For: r.For, File: r.File, Line: r.Line, Provenance: r.Provenance, State: RuleActive,
		})
	}
	return st
}

// Validate checks one rule file on its own, against the built-in event
// contract: it parses data as a file named name and compiles it with no
// other file, so a rule id that the running set also has is no error. It returns every problem found, each a *Error where
// it can be located, or nil when the file is valid.
func Validate(name string, data []byte) []error {
	f, errs := ParseFile(name, data)
	if f == nil {
		return errs
	}
	_, cerrs := Compile(f)
	return append(errs, cerrs...)
}

// Validate checks data as the rule file name of the manager's directory (or
// of the embedded pack): it is compiled with the other files as they are now
// on disk, in place of the file of that base name if there is one, as the
// next reload would compile it. So it sees the params, calendar and grades
// declared in other files, and a rule id is a duplicate only when another
// file has it too; it is compiled against the manager's contract. It returns every problem found, each a *Error where it
// can be located, or nil when the set would compile. Nothing changes.
func (m *Manager) Validate(name string, data []byte) []error {
	fsys, prefix := Pack(), "pack"
	if m.dir != "" {
		fsys, prefix = os.DirFS(m.dir), m.dir
	}
	base := filepath.Base(name)
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return []error{fmt.Errorf("read rule directory: %w", err)}
	}
	var (
		files []*File
		errs  []error
	)
	add := func(name string, data []byte) {
		f, perrs := ParseFile(name, data)
		errs = append(errs, perrs...)
		if f != nil {
			files = append(files, f)
		}
	}
	added := false
	for _, e := range entries { // in name order, as LoadFS reads them
		if e.IsDir() || !isRuleFile(e.Name()) {
			continue
		}
		if !added && e.Name() >= base {
			add(filepath.Join(prefix, base), data)
			added = true
		}
		if e.Name() == base {
			continue
		}
		other, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		add(filepath.Join(prefix, e.Name()), other)
	}
	if !added {
		add(filepath.Join(prefix, base), data)
	}
	_, cerrs := CompileContract(m.contract, files...)
	return append(errs, cerrs...)
}

func (m *Manager) source() string {
	if m.dir == "" {
		return EmbeddedSource
	}
	return m.dir
}

// load compiles the rule files and applies the transform.
func (m *Manager) load() (*Set, []error) {
	var (
		set  *Set
		errs []error
	)
	if m.dir == "" {
		set, errs = LoadFSContract(m.contract, Pack(), "pack")
	} else {
		set, errs = LoadDirContract(m.contract, m.dir)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if m.transform != nil {
		if set = m.transform(set); set == nil {
			return nil, []error{errors.New("rules: the transform of the compiled set returned no set")}
		}
	}
	return set, nil
}

// reloadIfChanged reloads when the fingerprint of the rule files differs
// from the one of the last load.
func (m *Manager) reloadIfChanged() {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	fp := m.fingerprint()
	if fp == m.seen {
		return
	}
	m.logger.Info("rule files changed, reloading", "source", m.source())
	_ = m.reload(fp) // reload logs and records the outcome
}

// reload loads the rule files, whose fingerprint before reading was fp, and
// swaps the result in. m.reloadMu must be held.
func (m *Manager) reload(fp string) error {
	// Remember the files even when they are refused: the poller waits for
	// the next change instead of logging the same errors every interval.
	m.seen = fp
	set, errs := m.load()
	now := m.now()
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, err := range errs {
			msgs[i] = err.Error()
			m.logger.Error("rule error", "err", err)
		}
		m.logger.Error("rules not reloaded, the previous rule set keeps running",
			"source", m.source(), "errors", len(errs))
		m.mu.Lock()
		m.lastReload = ReloadStatus{At: now, Success: false, Errors: msgs}
		m.mu.Unlock()
		m.metrics.lastReloadSuccessful.Set(0)
		m.metrics.reloads.WithLabelValues(resultFailure).Inc()
		return errors.Join(errs...)
	}

	set = set.counting(m.metrics.evaluationFailures, m.metrics.forgotten)
	m.mu.Lock()
	old := m.current.Swap(set)
	m.loadedAt = now
	m.lastReload = ReloadStatus{At: now, Success: true}
	hooks := slices.Clone(m.hooks)
	m.mu.Unlock()
	m.metrics.lastReloadSuccessful.Set(1)
	m.metrics.lastReloadSuccess.Set(float64(now.UnixNano()) / 1e9)
	m.metrics.reloads.WithLabelValues(resultSuccess).Inc()
	m.metrics.loaded.Set(float64(len(set.Rules())))

	m.logger.Info("rules reloaded", append([]any{"source", m.source(), "rules", len(set.Rules())}, diff(old, set)...)...)
	m.checkCalendar()
	for _, fn := range hooks {
		fn(old, set)
	}
	return nil
}

// fingerprint summarises the names, sizes, modification times and contents
// of the rule files of the directory, following symbolic links (as in a
// Kubernetes ConfigMap volume). A directory that cannot be read has a
// fingerprint of its own, so that it is noticed, and so is its return.
func (m *Manager) fingerprint() string {
	if m.dir == "" {
		return ""
	}
	fsys := os.DirFS(m.dir)
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return "unreadable: " + err.Error()
	}
	h := sha256.New()
	for _, e := range entries {
		if !isRuleFile(e.Name()) {
			continue
		}
		info, err := fs.Stat(fsys, e.Name())
		if err != nil {
			fmt.Fprintf(h, "%s\x00error\x00%v\n", e.Name(), err)
			continue
		}
		if info.IsDir() {
			continue
		}
		data, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			fmt.Fprintf(h, "%s\x00error\x00%v\n", e.Name(), err)
			continue
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00%x\n", e.Name(), info.Size(), info.ModTime().UnixNano(), sum)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// isRuleFile reports whether LoadDir loads a file of this name.
func isRuleFile(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return (ext == ".yaml" || ext == ".yml") && !strings.HasSuffix(name, "_test.yaml")
}

// diff describes what changed from set a to set b as log attributes: the
// ids of the rules added, removed and changed (always), and, only when
// something changed there, the ids of the level policy entries, the names of
// the params, and whether the calendar changed.
func diff(a, b *Set) []any {
	ruleID := func(r *Rule) string { return r.ID }
	added, removed, changed := diffByID(a.Rules(), b.Rules(), ruleID)
	attrs := []any{"added", added, "removed", removed, "changed", changed}

	policyID := func(p *Policy) string { return p.ID }
	if pa, pr, pc := diffByID(a.Policy(), b.Policy(), policyID); len(pa)+len(pr)+len(pc) > 0 {
		attrs = append(attrs, "policy_added", pa, "policy_removed", pr, "policy_changed", pc)
	}
	var params []string
	for name, v := range b.Params() {
		if old, ok := a.Params()[name]; !ok || !same(reflect.ValueOf(old), reflect.ValueOf(v)) {
			params = append(params, name)
		}
	}
	for name := range a.Params() {
		if _, ok := b.Params()[name]; !ok {
			params = append(params, name)
		}
	}
	if len(params) > 0 {
		slices.Sort(params)
		attrs = append(attrs, "params_changed", params)
	}
	if !same(reflect.ValueOf(a.Calendar()), reflect.ValueOf(b.Calendar())) {
		attrs = append(attrs, "calendar_changed", true)
	}
	return attrs
}

// diffByID returns the ids of the entries only in b (added), only in a
// (removed), and in both but written differently (changed), each in the
// order of its set.
func diffByID[T any](a, b []T, id func(T) string) (added, removed, changed []string) {
	before := make(map[string]T, len(a))
	for _, x := range a {
		before[id(x)] = x
	}
	after := make(map[string]bool, len(b))
	for _, y := range b {
		after[id(y)] = true
		x, ok := before[id(y)]
		switch {
		case !ok:
			added = append(added, id(y))
		case !same(reflect.ValueOf(x), reflect.ValueOf(y)):
			changed = append(changed, id(y))
		}
	}
	for _, x := range a {
		if !after[id(x)] {
			removed = append(removed, id(x))
		}
	}
	return added, removed, changed
}

// same reports whether a and b are written alike: it compares exported
// fields only (compiled programs differ between two compilations of the same
// text), ignores functions, and ignores File and Line, since a rule moved
// to another line or file is the same rule. Structs without exported fields
// (time.Time) are compared whole. Comparing by reflection keeps the
// comparison right as the rule language grows.
func same(a, b reflect.Value) bool {
	if !a.IsValid() || !b.IsValid() {
		return a.IsValid() == b.IsValid()
	}
	if a.Type() != b.Type() {
		return false
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return same(a.Elem(), b.Elem())
	case reflect.Struct:
		t := a.Type()
		exported := false
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			exported = true
			if f.Name == "File" || f.Name == "Line" {
				continue
			}
			if !same(a.Field(i), b.Field(i)) {
				return false
			}
		}
		if !exported && t.NumField() > 0 {
			return reflect.DeepEqual(a.Interface(), b.Interface())
		}
		return true
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !same(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			if !same(a.MapIndex(k), b.MapIndex(k)) {
				return false
			}
		}
		return true
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return true
	default:
		return reflect.DeepEqual(a.Interface(), b.Interface())
	}
}
