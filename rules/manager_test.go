package rules

import (
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/testlog"
)

// Rule files of the manager tests.
const (
	visitorRules = `rules:
  - id: visitor.watchlist
    source: visitor
    type: entry
    when: event.watchlist == "blacklist"
    level: high
    for: 72h
    title: 禁入名单人员进入校园
    provenance: 《中小学幼儿园安全管理办法》
  - id: canteen.fridge
    source: canteen
    type: [storage_temp]
    when: event.celsius > 8
    level: medium
    title: 冷藏温度超标
`
	// visitorRulesChanged lowers one rule's level and adds a rule.
	visitorRulesChanged = `rules:
  - id: visitor.watchlist
    source: visitor
    type: entry
    when: event.watchlist == "blacklist"
    level: medium
    for: 72h
    title: 禁入名单人员进入校园
    provenance: 《中小学幼儿园安全管理办法》
  - id: canteen.fridge
    source: canteen
    type: [storage_temp]
    when: event.celsius > 8
    level: medium
    title: 冷藏温度超标
  - id: canteen.rodent
    source: canteen
    type: ai_violation
    when: event.violation == "rodent"
    level: high
    title: 后厨发现鼠患
`
	drowningRules = `rules:
  - id: drowning.minors
    source: drowning
    type: fence_intrusion
    when: event.minors
    level: high
    for: 2h
    title: 未成年人进入危险水域
`
	// twoMistakesFixed is twoMistakes corrected.
	twoMistakesFixed = `rules:
  - id: visitor.misspelt
    source: visitor
    type: entry
    when: event.watchlist == "blacklist"
    level: high
    title: 禁入名单人员进入校园
  - id: canteen.type_error
    source: canteen
    when: event.celsius > 8
    level: medium
    title: 'temperature ${event.celsius}'
`
)

// syncBuffer is a buffer that a logger may write while a test reads.
type syncBuffer struct{ testlog.Buffer }

// records returns the JSON log records written so far with the message msg.
func (b *syncBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(b.String()) {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
}

// writeFileAtomic replaces a file by renaming a complete one over it, as a
// deployment should, so that no reader sees it half written. It may be
// called from any goroutine.
func writeFileAtomic(t *testing.T, dir, name, content string) {
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Error(err)
		return
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Error(err)
	}
}

// testManager is a manager over a temporary directory with its registry and
// its log.
type testManager struct {
	*Manager
	dir  string
	reg  *prometheus.Registry
	logs *syncBuffer
}

// newTestManager writes files into a new directory and starts a manager on
// it with opts; Dir, Logger and Registerer are set here.
func newTestManager(t *testing.T, files map[string]string, opts ManagerOptions) *testManager {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		writeFile(t, dir, name, content)
	}
	tm := &testManager{dir: dir, reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	opts.Dir = dir
	opts.Registerer = tm.reg
	opts.Logger = slog.New(slog.NewJSONHandler(tm.logs, nil))
	m, err := NewManager(opts)
	require.NoError(t, err)
	tm.Manager = m
	return tm
}

func ruleIDs(s *Set) []string {
	var ids []string
	for _, r := range s.Rules() {
		ids = append(ids, r.ID)
	}
	return ids
}

func (tm *testManager) requireMetrics(t *testing.T, successful, loaded, successes, failures float64) {
	t.Helper()
	require.Equal(t, successful, testutil.ToFloat64(tm.metrics.lastReloadSuccessful), "sanse_rules_last_reload_successful")
	require.Equal(t, loaded, testutil.ToFloat64(tm.metrics.loaded), "sanse_rules_loaded")
	require.Equal(t, successes, testutil.ToFloat64(tm.metrics.reloads.WithLabelValues("success")), "reloads_total{result=success}")
	require.Equal(t, failures, testutil.ToFloat64(tm.metrics.reloads.WithLabelValues("failure")), "reloads_total{result=failure}")
}

func TestManagerInitialLoad(t *testing.T) {
	before := time.Now()
	tm := newTestManager(t, map[string]string{"visitor.yaml": visitorRules, "drowning.yaml": drowningRules, "notes.txt": "not rules"}, ManagerOptions{})

	require.Equal(t, []string{"drowning.minors", "visitor.watchlist", "canteen.fridge"}, ruleIDs(tm.Current()))
	tm.requireMetrics(t, 1, 3, 0, 0)
	require.InDelta(t, float64(time.Now().Unix()), testutil.ToFloat64(tm.metrics.lastReloadSuccess), 5)
	require.NoError(t, testutil.GatherAndCompare(tm.reg, strings.NewReader(`
# HELP sanse_rules_loaded Number of rules in the running rule set.
# TYPE sanse_rules_loaded gauge
sanse_rules_loaded 3
# HELP sanse_rules_reloads_total Reloads of the rule files after start-up, by result (success or failure).
# TYPE sanse_rules_reloads_total counter
sanse_rules_reloads_total{result="failure"} 0
sanse_rules_reloads_total{result="success"} 0
`), "sanse_rules_loaded", "sanse_rules_reloads_total"))

	st := tm.Status()
	require.Equal(t, tm.dir, st.Source)
	require.False(t, st.LoadedAt.Before(before))
	require.Equal(t, ReloadStatus{At: st.LoadedAt, Success: true}, st.LastReload)
	require.Len(t, st.Rules, 3)
	require.Equal(t, RuleStatus{
		ID: "visitor.watchlist", Source: engine.SourceVisitor, Types: []string{"entry"}, Level: engine.SeverityHigh,
		For: 72 * time.Hour, File: filepath.Join(tm.dir, "visitor.yaml"), Line: 2,
		Provenance: "《中小学幼儿园安全管理办法》", State: RuleActive,
	}, st.Rules[1])
	require.Equal(t, DefaultFor, st.Rules[2].For, "no `for` is the default")

	logged := tm.logs.records(t, "rules loaded")
	require.Len(t, logged, 1)
	require.Equal(t, "rules", logged[0]["component"])
	require.Equal(t, float64(3), logged[0]["rules"])
}

func TestManagerEmbeddedPack(t *testing.T) {
	m, err := NewManager(ManagerOptions{PollInterval: time.Millisecond})
	require.NoError(t, err)
	want, errs := Default()
	require.Empty(t, errs)
	require.Equal(t, ruleIDs(want), ruleIDs(m.Current()))
	require.Equal(t, EmbeddedSource, m.Status().Source)
	require.NoError(t, m.Reload())

	// There is nothing to watch: Run only waits for its context.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, m.Run(ctx))
}

func TestNewManagerRefuses(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		opts  ManagerOptions
		want  []*regexp.Regexp
	}{
		{
			name:  "two mistakes, both located",
			files: map[string]string{"visitor.yaml": visitorRules, "mistakes.yaml": twoMistakes},
			want: []*regexp.Regexp{
				regexp.MustCompile(`mistakes\.yaml:5:17: rule "visitor\.misspelt": when: unknown field event\.watchlst \(did you mean event\.watchlist\?\)`),
				regexp.MustCompile(`mistakes\.yaml:10:\d+: rule "canteen\.type_error": when: invalid operation: > \(mismatched types float64 and string\)`),
			},
		},
		{
			name:  "no rule files",
			files: map[string]string{"README.md": "# rules"},
			want:  []*regexp.Regexp{regexp.MustCompile(`no rule files`)},
		},
		{
			name:  "transform returning nothing",
			files: map[string]string{"visitor.yaml": visitorRules},
			opts:  ManagerOptions{Transform: func(*Set) *Set { return nil }},
			want:  []*regexp.Regexp{regexp.MustCompile(`transform .* returned no set`)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				writeFile(t, dir, name, content)
			}
			reg := prometheus.NewRegistry()
			opts := tt.opts
			opts.Dir, opts.Registerer = dir, reg
			m, err := NewManager(opts)
			require.Error(t, err)
			require.Nil(t, m)

			var joined interface{ Unwrap() []error }
			require.ErrorAs(t, err, &joined)
			errs := joined.Unwrap()
			require.Len(t, errs, len(tt.want), "every problem is reported: %v", err)
			for i, re := range tt.want {
				require.Regexp(t, re, errs[i].Error())
			}
			families, gerr := reg.Gather()
			require.NoError(t, gerr)
			require.Empty(t, families, "a refused manager registers no metrics")
		})
	}

	_, err := NewManager(ManagerOptions{Dir: filepath.Join(t.TempDir(), "missing")})
	require.ErrorContains(t, err, "read rule directory")
}

func TestManagerReload(t *testing.T) {
	tm := newTestManager(t, map[string]string{"visitor.yaml": visitorRules}, ManagerOptions{})
	old := tm.Current()
	loadedAt := tm.Status().LoadedAt
	tm.now = func() time.Time { return loadedAt.Add(time.Minute) }

	writeFile(t, tm.dir, "visitor.yaml", visitorRulesChanged)
	require.NoError(t, tm.Reload())

	cur := tm.Current()
	require.NotSame(t, old, cur)
	require.Equal(t, []string{"visitor.watchlist", "canteen.fridge", "canteen.rodent"}, ruleIDs(cur))
	require.Equal(t, engine.SeverityMedium, cur.Rules()[0].Level)
	require.Equal(t, engine.SeverityHigh, old.Rules()[0].Level, "the old set is never modified")
	tm.requireMetrics(t, 1, 3, 1, 0)
	require.InDelta(t, float64(loadedAt.Add(time.Minute).UnixNano())/1e9, testutil.ToFloat64(tm.metrics.lastReloadSuccess), 1e-3)

	st := tm.Status()
	require.Equal(t, loadedAt.Add(time.Minute), st.LoadedAt)
	require.Equal(t, ReloadStatus{At: loadedAt.Add(time.Minute), Success: true}, st.LastReload)

	logged := tm.logs.records(t, "rules reloaded")
	require.Len(t, logged, 1)
	require.Equal(t, "INFO", logged[0]["level"])
	require.Equal(t, float64(3), logged[0]["rules"])
	require.Equal(t, []any{"canteen.rodent"}, logged[0]["added"])
	require.Equal(t, []any{"visitor.watchlist"}, logged[0]["changed"], "canteen.fridge is unchanged")
	require.Nil(t, logged[0]["removed"])
}

func TestManagerRefusesBadReload(t *testing.T) {
	tm := newTestManager(t, map[string]string{"visitor.yaml": visitorRules}, ManagerOptions{})
	good := tm.Current()
	loadedAt := tm.Status().LoadedAt
	successAt := testutil.ToFloat64(tm.metrics.lastReloadSuccess)
	tm.now = func() time.Time { return loadedAt.Add(time.Minute) }

	writeFile(t, tm.dir, "mistakes.yaml", twoMistakes)
	err := tm.Reload()
	require.Error(t, err)
	var joined interface{ Unwrap() []error }
	require.ErrorAs(t, err, &joined)
	errs := joined.Unwrap()
	require.Len(t, errs, 2, "both mistakes are reported: %v", err)
	for _, e := range errs {
		var re *Error
		require.ErrorAs(t, e, &re)
		require.Equal(t, filepath.Join(tm.dir, "mistakes.yaml"), re.File)
		require.Positive(t, re.Line)
		require.Positive(t, re.Column)
	}
	require.Contains(t, errs[0].Error(), `mistakes.yaml:5:17: rule "visitor.misspelt": when: unknown field event.watchlst`)
	require.Regexp(t, `mistakes\.yaml:10:\d+: rule "canteen\.type_error": when: invalid operation`, errs[1].Error())

	require.Same(t, good, tm.Current(), "the previous set keeps running")
	tm.requireMetrics(t, 0, 2, 0, 1)
	require.Equal(t, successAt, testutil.ToFloat64(tm.metrics.lastReloadSuccess), "no success to record")

	st := tm.Status()
	require.Equal(t, loadedAt, st.LoadedAt)
	require.Equal(t, loadedAt.Add(time.Minute), st.LastReload.At)
	require.False(t, st.LastReload.Success)
	require.Equal(t, []string{errs[0].Error(), errs[1].Error()}, st.LastReload.Errors)
	require.Len(t, st.Rules, 2, "the running rules are listed")

	logged := tm.logs.records(t, "rule error")
	require.Len(t, logged, 2)
	for i, rec := range logged {
		require.Equal(t, "ERROR", rec["level"])
		require.Equal(t, errs[i].Error(), rec["err"])
	}
	require.Len(t, tm.logs.records(t, "rules not reloaded, the previous rule set keeps running"), 1)

	// Fixing the file makes the next reload succeed.
	writeFile(t, tm.dir, "mistakes.yaml", twoMistakesFixed)
	require.NoError(t, tm.Reload())
	require.Equal(t, []string{"visitor.misspelt", "canteen.type_error", "visitor.watchlist", "canteen.fridge"}, ruleIDs(tm.Current()))
	tm.requireMetrics(t, 1, 4, 1, 1)
	st = tm.Status()
	require.True(t, st.LastReload.Success)
	require.Empty(t, st.LastReload.Errors)
}

func TestManagerOnSwap(t *testing.T) {
	tm := newTestManager(t, map[string]string{"visitor.yaml": visitorRules, "drowning.yaml": drowningRules}, ManagerOptions{})
	type swap struct{ old, new *Set }
	var swaps []swap
	tm.OnSwap(func(old, new *Set) { swaps = append(swaps, swap{old, new}) })
	var order []int
	tm.OnSwap(func(*Set, *Set) { order = append(order, 1) })
	tm.OnSwap(func(*Set, *Set) { order = append(order, 2) })
	first := tm.Current()

	// A refused reload swaps nothing.
	writeFile(t, tm.dir, "drowning.yaml", twoMistakes)
	require.Error(t, tm.Reload())
	require.Empty(t, swaps)

	// Removing a rule.
	require.NoError(t, os.Remove(filepath.Join(tm.dir, "drowning.yaml")))
	require.NoError(t, tm.Reload())
	require.Len(t, swaps, 1)
	require.Same(t, first, swaps[0].old)
	require.Same(t, tm.Current(), swaps[0].new)
	require.Contains(t, ruleIDs(swaps[0].old), "drowning.minors")
	require.NotContains(t, ruleIDs(swaps[0].new), "drowning.minors")
	require.Equal(t, []int{1, 2}, order, "hooks run in the order they were added")

	logged := tm.logs.records(t, "rules reloaded")
	require.Len(t, logged, 1)
	require.Equal(t, []any{"drowning.minors"}, logged[0]["removed"])
	require.Nil(t, logged[0]["added"])
	require.Nil(t, logged[0]["changed"])
}

func TestManagerTransform(t *testing.T) {
	tm := newTestManager(t, map[string]string{"visitor.yaml": visitorRules}, ManagerOptions{
		Transform: func(s *Set) *Set { return s.Scaled(0.5) },
	})
	require.Equal(t, 36*time.Hour, tm.Current().Rules()[0].For)
	writeFile(t, tm.dir, "visitor.yaml", visitorRulesChanged)
	require.NoError(t, tm.Reload())
	require.Equal(t, 36*time.Hour, tm.Current().Rules()[0].For, "every new set is transformed")
	require.Equal(t, 36*time.Hour, tm.Status().Rules[0].For)
}

func TestManagerRunPolls(t *testing.T) {
	const poll = 5 * time.Millisecond
	tm := newTestManager(t, map[string]string{"visitor.yaml": visitorRules, "drowning.yaml": drowningRules}, ManagerOptions{PollInterval: poll})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tm.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after its context was cancelled")
		}
	}()
	settle := func() { time.Sleep(20 * poll) }
	waitFor := func(cond func() bool, msg string) {
		t.Helper()
		require.Eventually(t, cond, 5*time.Second, poll, msg)
	}

	settle()
	tm.requireMetrics(t, 1, 3, 0, 0) // nothing changed, nothing reloaded

	// A good change is picked up.
	writeFileAtomic(t, tm.dir, "visitor.yaml", visitorRulesChanged)
	waitFor(func() bool { return len(tm.Current().Rules()) == 4 }, "the changed file is loaded")
	settle()
	tm.requireMetrics(t, 1, 4, 1, 0)

	// A bad change is refused once, not again at every poll.
	writeFileAtomic(t, tm.dir, "mistakes.yaml", twoMistakes)
	waitFor(func() bool { return testutil.ToFloat64(tm.metrics.lastReloadSuccessful) == 0 }, "the bad file is refused")
	settle()
	tm.requireMetrics(t, 0, 4, 1, 1)
	require.Len(t, tm.logs.records(t, "rule error"), 2)
	require.Len(t, tm.Current().Rules(), 4, "the previous set keeps running")

	// Fixing it is picked up.
	writeFileAtomic(t, tm.dir, "mistakes.yaml", twoMistakesFixed)
	waitFor(func() bool { return testutil.ToFloat64(tm.metrics.lastReloadSuccessful) == 1 }, "the fixed file is loaded")
	require.Len(t, tm.Current().Rules(), 6)
	tm.requireMetrics(t, 1, 6, 2, 1)
}

func TestManagerNoticesChanges(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		// reloaded calls Reload after the change, before the poll.
		reloaded bool
		reload   bool
	}{
		{name: "nothing", change: func(*testing.T, string) {}},
		{
			name: "content of the same size and modification time",
			change: func(t *testing.T, dir string) {
				path := filepath.Join(dir, "drowning.yaml")
				info, err := os.Stat(path)
				require.NoError(t, err)
				writeFile(t, dir, "drowning.yaml", strings.Replace(drowningRules, "for: 2h", "for: 3h", 1))
				require.NoError(t, os.Chtimes(path, info.ModTime(), info.ModTime()))
			},
			reload: true,
		},
		{
			name: "modification time alone",
			change: func(t *testing.T, dir string) {
				later := time.Now().Add(time.Hour)
				require.NoError(t, os.Chtimes(filepath.Join(dir, "visitor.yaml"), later, later))
			},
			reload: true,
		},
		{
			name:   "a file removed",
			change: func(t *testing.T, dir string) { require.NoError(t, os.Remove(filepath.Join(dir, "drowning.yaml"))) },
			reload: true,
		},
		{
			name: "a .yml file added",
			change: func(t *testing.T, dir string) {
				writeFile(t, dir, "bullying.yml", strings.ReplaceAll(drowningRules, "drowning.minors", "drowning.minors2"))
			},
			reload: true,
		},
		{
			name: "files that are not rules",
			change: func(t *testing.T, dir string) {
				writeFile(t, dir, "README.md", "# rules")
				writeFile(t, dir, "visitor_test.yaml", "tests: []")
				writeFile(t, dir, ".visitor.yaml.swp", "x")
				require.NoError(t, os.Mkdir(filepath.Join(dir, "old.yaml"), 0o755))
			},
		},
		{
			name:     "a change already reloaded by Reload",
			change:   func(t *testing.T, dir string) { writeFile(t, dir, "visitor.yaml", visitorRulesChanged) },
			reloaded: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := newTestManager(t, map[string]string{"visitor.yaml": visitorRules, "drowning.yaml": drowningRules}, ManagerOptions{})
			tt.change(t, tm.dir)
			if tt.reloaded {
				require.NoError(t, tm.Reload())
			}
			before := testutil.ToFloat64(tm.metrics.reloads.WithLabelValues("success"))
			tm.reloadIfChanged()
			tm.reloadIfChanged()
			want := before
			if tt.reload {
				want++
			}
			require.Equal(t, want, testutil.ToFloat64(tm.metrics.reloads.WithLabelValues("success")))
		})
	}
}

func TestManagerNoticesDirectoryGoneAndBack(t *testing.T) {
	tm := newTestManager(t, map[string]string{"visitor.yaml": visitorRules}, ManagerOptions{})
	moved := tm.dir + ".moved"
	require.NoError(t, os.Rename(tm.dir, moved))
	tm.reloadIfChanged()
	tm.requireMetrics(t, 0, 2, 0, 1)
	require.Contains(t, tm.Status().LastReload.Errors[0], "read rule directory")
	tm.reloadIfChanged()
	tm.requireMetrics(t, 0, 2, 0, 1)

	require.NoError(t, os.Rename(moved, tm.dir))
	tm.reloadIfChanged()
	tm.requireMetrics(t, 1, 2, 1, 1)
}

func TestManagerConcurrentUse(t *testing.T) {
	tm := newTestManager(t, map[string]string{"visitor.yaml": visitorRules}, ManagerOptions{})
	var swapped atomic.Int64
	tm.OnSwap(func(old, new *Set) {
		if old == nil || new == nil {
			t.Error("OnSwap called with a nil set")
		}
		swapped.Add(1)
	})
	ctx, cancel := context.WithCancel(context.Background())
	var readers sync.WaitGroup
	for range 3 {
		readers.Go(func() {
			for ctx.Err() == nil {
				if n := len(tm.Current().Rules()); n != 2 && n != 3 {
					t.Errorf("Current has %d rules", n)
				}
				if st := tm.Status(); len(st.Rules) != 2 && len(st.Rules) != 3 {
					t.Errorf("Status has %d rules", len(st.Rules))
				}
			}
		})
	}
	var reloaders sync.WaitGroup
	reloaders.Go(func() {
		for i := range 20 {
			content := visitorRules
			if i%2 == 0 {
				content = visitorRulesChanged
			}
			writeFileAtomic(t, tm.dir, "visitor.yaml", content)
			if err := tm.Reload(); err != nil {
				t.Errorf("reload: %v", err)
			}
		}
	})
	reloaders.Go(func() {
		for range 20 {
			if err := tm.Reload(); err != nil {
				t.Errorf("reload: %v", err)
			}
		}
	})
	reloaders.Wait()
	cancel()
	readers.Wait()
	require.Equal(t, int64(40), swapped.Load())
	require.Equal(t, float64(40), testutil.ToFloat64(tm.metrics.reloads.WithLabelValues("success")))
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{name: "valid", src: visitorRules},
		{name: "an id the default pack has is no error", src: strings.ReplaceAll(visitorRules, "visitor.watchlist", "visitor.watchlist_entry")},
		{
			name: "two mistakes",
			src:  twoMistakes,
			want: []string{`new.yaml:5:17: rule "visitor.misspelt": when: unknown field event.watchlst`, `new.yaml:10:`},
		},
		{
			name: "duplicate ids within the file",
			src:  visitorRules + strings.TrimPrefix(visitorRules, "rules:\n"),
			want: []string{`new.yaml:16: rule "visitor.watchlist": duplicate rule id, first defined at new.yaml:2`, `new.yaml:24: rule "canteen.fridge": duplicate rule id, first defined at new.yaml:10`},
		},
		{
			name: "structure and expressions at once",
			src:  "rules:\n  - id: a\n    source: visitor\n    when: event.gat == 'x'\n    title: x\n    levle: high\n",
			want: []string{`new.yaml:6:5: rule "a": unknown field "levle"`, `new.yaml:2:5: rule "a": level: required`, `new.yaml:4:`},
		},
		{name: "invalid YAML", src: "rules:\n  - id: g\n   source: visitor\n", want: []string{"new.yaml:1: invalid YAML: did not find expected"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := Validate("new.yaml", []byte(tt.src))
			require.Len(t, errs, len(tt.want), "%v", errs)
			for i, w := range tt.want {
				require.Contains(t, errs[i].Error(), w)
			}
		})
	}
}

// Files of a rule set that uses params, a calendar, grades, a window, a
// clearing condition, a level expression and a level policy.
const (
	setParams = `params:
  fridge_max_c: 8
  repeat_count: 3
  watch_window: 7d
grades:
  II: high
calendar:
  summer_months: [6, 7, 8]
`
	setRules = `rules:
  - id: canteen.fridge_window
    source: canteen
    type: storage_temp
    key: event.device
    when: event.zone == "fridge" and event.celsius > params.fridge_max_c
    window:
      size: 2h
      having: window.count >= 2
    clear_when: event.zone == "fridge" and event.celsius <= params.fridge_max_c
    level: medium
    title: 冷藏温度持续超标（${event.device}）
  - id: bullying.repeated
    source: bullying
    type: report
    key: event.victim_ref
    when: "true"
    window:
      size: params.watch_window
    level: 'window.count >= params.repeat_count ? "high" : "medium"'
    for: 7d
    title: 同一学生被多次举报欺凌
  - id: visitor.wanted
    source: visitor
    type: entry
    when: event.watchlist == "wanted"
    grade: II
    title: 在逃人员进入校园
`
	setPolicy = `policy:
  - id: policy.two_high
    when: count(risks, .level == "high") >= 2
    level: red
    reason: 两项高风险
`
)

func TestManagerDiff(t *testing.T) {
	files := map[string]string{"params.yaml": setParams, "rules.yaml": setRules, "policy.yaml": setPolicy}
	tests := []struct {
		name   string
		change map[string]string // file → new content
		want   map[string]any    // the log attributes of what changed
	}{
		{
			name: "nothing, though every program is compiled again",
			want: map[string]any{"added": nil, "removed": nil, "changed": nil},
		},
		{
			name:   "a rule moved to another line and file is the same rule",
			change: map[string]string{"rules.yaml": strings.Replace(setRules, "  - id: visitor.wanted", "  - id: visitor.other\n    source: visitor\n    when: 'true'\n    level: low\n    title: x\n  - id: visitor.wanted", 1)},
			want:   map[string]any{"added": []any{"visitor.other"}, "removed": nil, "changed": nil},
		},
		{
			name:   "a window",
			change: map[string]string{"rules.yaml": strings.Replace(setRules, "window.count >= 2", "window.count >= 3", 1)},
			want:   map[string]any{"added": nil, "removed": nil, "changed": []any{"canteen.fridge_window"}},
		},
		{
			name:   "a level expression",
			change: map[string]string{"rules.yaml": strings.Replace(setRules, `? "high" : "medium"`, `? "high" : "low"`, 1)},
			want:   map[string]any{"added": nil, "removed": nil, "changed": []any{"bullying.repeated"}},
		},
		{
			name:   "a param read by a window size changes the rule",
			change: map[string]string{"params.yaml": strings.Replace(setParams, "watch_window: 7d", "watch_window: 14d", 1)},
			want: map[string]any{"added": nil, "removed": nil, "changed": []any{"bullying.repeated"},
				"params_changed": []any{"watch_window"}},
		},
		{
			name:   "a param read by an expression is listed as a param",
			change: map[string]string{"params.yaml": strings.Replace(setParams, "fridge_max_c: 8", "fridge_max_c: 6", 1)},
			want:   map[string]any{"added": nil, "removed": nil, "changed": nil, "params_changed": []any{"fridge_max_c"}},
		},
		{
			name:   "a grade mapping",
			change: map[string]string{"params.yaml": strings.Replace(setParams, "II: high", "II: medium", 1)},
			want:   map[string]any{"added": nil, "removed": nil, "changed": []any{"visitor.wanted"}},
		},
		{
			name:   "the calendar",
			change: map[string]string{"params.yaml": strings.Replace(setParams, "[6, 7, 8]", "[6, 7, 8, 9]", 1)},
			want:   map[string]any{"added": nil, "removed": nil, "changed": nil, "calendar_changed": true},
		},
		{
			name:   "the policy",
			change: map[string]string{"policy.yaml": strings.Replace(setPolicy, ">= 2", ">= 3", 1)},
			want: map[string]any{"added": nil, "removed": nil, "changed": nil,
				"policy_added": nil, "policy_removed": nil, "policy_changed": []any{"policy.two_high"}},
		},
		{
			name:   "the policy removed",
			change: map[string]string{"policy.yaml": "# no policy\npolicy: []\n"},
			want: map[string]any{"added": nil, "removed": nil, "changed": nil,
				"policy_added": nil, "policy_removed": []any{"policy.two_high"}, "policy_changed": nil},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := newTestManager(t, files, ManagerOptions{})
			for name, content := range tt.change {
				writeFile(t, tm.dir, name, content)
			}
			require.NoError(t, tm.Reload())
			logged := tm.logs.records(t, "rules reloaded")
			require.Len(t, logged, 1)
			got := map[string]any{}
			for k, v := range logged[0] {
				switch k {
				case "time", "level", "msg", "component", "source", "rules":
				default:
					got[k] = v
				}
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestManagerValidate(t *testing.T) {
	tm := newTestManager(t, map[string]string{"params.yaml": setParams, "rules.yaml": setRules, "visitor.yaml": visitorRules}, ManagerOptions{})
	tests := []struct {
		name string
		file string
		src  string
		want []string
	}{
		{name: "a new version of a running file", file: "rules.yaml", src: strings.Replace(setRules, "window.count >= 2", "window.count >= 3", 1)},
		{name: "a path is reduced to its base name", file: "../x/rules.yaml", src: setRules},
		{
			name: "params come from the other files",
			file: "canteen.yaml",
			src:  "rules:\n  - id: canteen.hot\n    source: canteen\n    when: event.celsius > params.fridge_max_c + 2\n    level: high\n    title: x\n",
		},
		{
			name: "an unknown param",
			file: "canteen.yaml",
			src:  "rules:\n  - id: canteen.hot\n    source: canteen\n    when: event.celsius > params.fridge_max\n    level: high\n    title: x\n",
			want: []string{filepath.Join(tm.dir, "canteen.yaml") + `:4:34: rule "canteen.hot": when: unknown param params.fridge_max (did you mean params.fridge_max_c?)`},
		},
		{
			name: "an id another file has",
			file: "canteen.yaml",
			src:  "rules:\n  - id: visitor.wanted\n    source: visitor\n    when: 'true'\n    level: high\n    title: x\n",
			want: []string{`rule "visitor.wanted": duplicate rule id, first defined at ` + filepath.Join(tm.dir, "canteen.yaml") + ":2"},
		},
		{
			name: "a param declared twice",
			file: "more.yaml",
			src:  "params:\n  fridge_max_c: 6\n",
			want: []string{`param "fridge_max_c" is already defined`},
		},
		{
			name: "two mistakes",
			file: "rules.yaml",
			src:  twoMistakes,
			want: []string{filepath.Join(tm.dir, "rules.yaml") + ":5:17: ", filepath.Join(tm.dir, "rules.yaml") + ":10:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := tm.Validate(tt.file, []byte(tt.src))
			require.Len(t, errs, len(tt.want), "%v", errs)
			for i, w := range tt.want {
				require.Contains(t, errs[i].Error(), w)
			}
		})
	}
	require.Equal(t, 0.0, testutil.ToFloat64(tm.metrics.reloads.WithLabelValues("failure")), "validating changes nothing")
	require.Len(t, tm.Current().Rules(), 5)

	m, err := NewManager(ManagerOptions{})
	require.NoError(t, err)
	pack, err := fs.ReadFile(Pack(), "canteen.yaml")
	require.NoError(t, err)
	require.Empty(t, m.Validate("canteen.yaml", pack), "a file of the embedded pack, validated in place")
}

// twoMistakes has a misspelt field and a type error (testdata/rules/bad).
var twoMistakes = func() string {
	b, err := os.ReadFile("../testdata/rules/bad/two_mistakes.yaml")
	if err != nil {
		panic(err)
	}
	return string(b)
}()
