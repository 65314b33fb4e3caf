package report

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

// The fakes of the scheduler's collaborators: a generator that makes small
// outputs and counts its calls, an archive and claims kept in memory, a
// deliverer that records what it was given, and a clock.

// testRegistry has two districts with two schools each.
func testRegistry(t *testing.T) *engine.Registry {
	t.Helper()
	reg, err := engine.NewRegistry([]engine.School{
		{ID: "NH-1", Name: "南湖一小", District: "南湖区", Town: "新兴街道", Stage: engine.StagePrimary},
		{ID: "NH-2", Name: "南湖二中", District: "南湖区", Town: "新兴街道", Stage: engine.StageJunior},
		{ID: "XZ-1", Name: "秀洲一小", District: "秀洲区", Town: "新城街道", Stage: engine.StagePrimary},
		{ID: "XZ-2", Name: "秀洲幼儿园", District: "秀洲区", Town: "新城街道", Stage: engine.StageKindergarten},
	})
	require.NoError(t, err)
	return reg
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

// fakeGenerator makes an output per spec; err, when set, fails every call.
type fakeGenerator struct {
	mu    sync.Mutex
	calls []Spec
	err   error
	// failFor, when set, fails the specs it returns true for.
	failFor func(Spec) bool
	now     func() time.Time
	noPDF   bool
}

func (g *fakeGenerator) Generate(_ context.Context, spec Spec) (*Output, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls = append(g.calls, spec)
	if g.err != nil {
		return nil, g.err
	}
	if g.failFor != nil && g.failFor(spec) {
		return nil, errFake
	}
	name := spec.Scope.District + spec.Scope.School
	out := &Output{
		Spec: spec, Title: name + "校园安全报告（" + spec.From.Format(time.DateOnly) + "）", Generated: g.now(),
		Summary: Summary{Schools: 2, Red: 1, Green: 1, Lines: []string{name + "一所学校红色。"}},
		HTML:    []byte("<h1>" + name + "</h1>"), CSV: []byte("学校,颜色\n" + name + ",红色\n"),
	}
	if !g.noPDF {
		out.PDF = []byte("%PDF-1.7 " + name)
	}
	return out, nil
}

func (g *fakeGenerator) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.calls)
}

// memArchive keeps entries and outputs in memory; fail, when set, fails
// ArchiveReport.
type memArchive struct {
	mu      sync.Mutex
	entries map[string]Entry
	outputs map[string]*Output
	saves   int
	fail    error
}

func newMemArchive() *memArchive {
	return &memArchive{entries: map[string]Entry{}, outputs: map[string]*Output{}}
}

func (a *memArchive) ArchiveReport(_ context.Context, e Entry, out *Output) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail != nil {
		return a.fail
	}
	a.saves++
	a.entries[e.ID] = e
	a.outputs[e.ID] = out
	return nil
}

func (a *memArchive) ArchivedRuns(_ context.Context, schedule string, since time.Time) ([]Entry, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Entry
	for _, e := range a.entries {
		if e.Schedule == schedule && !e.Spec.From.Before(since) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (a *memArchive) ArchivedScopes(_ context.Context, schedule string) ([]Scope, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Scope
	for _, e := range a.entries {
		if e.Schedule == schedule && !slices.Contains(out, e.Spec.Scope) {
			out = append(out, e.Spec.Scope)
		}
	}
	return out, nil
}

func (a *memArchive) ArchivedOutput(_ context.Context, id string) (Entry, *Output, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.entries[id]
	if !ok {
		return Entry{}, nil, fmt.Errorf("report %s: %w", id, ErrNotFound)
	}
	return e, a.outputs[id], nil
}

// keys returns the run keys archived, sorted.
func (a *memArchive) keys() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, e := range a.entries {
		out = append(out, e.Key)
	}
	slices.Sort(out)
	return out
}

// memClaims keeps claims in memory. beforeAdd, when set, is called before a
// run claim is stored (the race test's barrier).
type memClaims struct {
	mu        sync.Mutex
	claims    []Claim
	beforeAdd func()
}

func (c *memClaims) AddReportClaim(_ context.Context, cl Claim) error {
	if c.beforeAdd != nil && cl.Step == StepRun {
		c.beforeAdd()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.claims = append(c.claims, cl)
	return nil
}

func (c *memClaims) ReportClaims(_ context.Context, key string, step Step) ([]Claim, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Claim
	for _, cl := range c.claims {
		if cl.Key == key && cl.Step == step {
			out = append(out, cl)
		}
	}
	return out, nil
}

func (c *memClaims) ReportMarked(_ context.Context, keys []string, step Step) (map[string]bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]bool{}
	for _, cl := range c.claims {
		if cl.Step == step && slices.Contains(keys, cl.Key) {
			out[cl.Key] = true
		}
	}
	return out, nil
}

// recordingDeliverer records the reports it is given; fail, when set,
// fails Deliver.
type recordingDeliverer struct {
	mu        sync.Mutex
	delivered []string // report ids
	files     map[string]int
	fail      error
}

func (d *recordingDeliverer) Deliver(_ context.Context, e Entry, out *Output, receivers []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return d.fail
	}
	if d.files == nil {
		d.files = map[string]int{}
	}
	d.delivered = append(d.delivered, e.ID)
	if out != nil {
		d.files[e.ID] = len(Attachments(e, out))
	}
	return nil
}

func (d *recordingDeliverer) ids() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.delivered)
}

// barrier lets n goroutines through together, again and again.
type barrier struct {
	mu      sync.Mutex
	n, seen int
	round   chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, round: make(chan struct{})} }

func (b *barrier) wait() {
	b.mu.Lock()
	round := b.round
	b.seen++
	if b.seen == b.n {
		b.seen = 0
		b.round = make(chan struct{})
		close(round)
		b.mu.Unlock()
		return
	}
	b.mu.Unlock()
	<-round
}

var errFake = errors.New("fake failure")
