package hazard

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

// fakeStore keeps hazards and transitions in memory, as the ClickHouse
// tables do: the highest version of each hazard, each transition once.
type fakeStore struct {
	mu          sync.Mutex
	hazards     map[string]*Hazard
	transitions map[string]Transition
	writes      int
	// fail makes every call return it while it is set.
	fail error
}

func newFakeStore() *fakeStore {
	return &fakeStore{hazards: map[string]*Hazard{}, transitions: map[string]Transition{}}
}

func (f *fakeStore) setFail(err error) {
	f.mu.Lock()
	f.fail = err
	f.mu.Unlock()
}

func (f *fakeStore) WriteHazards(_ context.Context, ws []Write) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	if f.fail != nil {
		return f.fail
	}
	for _, w := range ws {
		h, t := w.Hazard, w.Transition
		f.transitions[t.ID] = t
		if cur, ok := f.hazards[h.ID]; !ok || h.Version >= cur.Version {
			f.hazards[h.ID] = h.Clone()
		}
	}
	return nil
}

// WriteHazard is WriteHazards of one, for tests that store a hazard as
// another instance would.
func (f *fakeStore) WriteHazard(ctx context.Context, h *Hazard, t Transition) error {
	return f.WriteHazards(ctx, []Write{{h, t}})
}

func (f *fakeStore) LoadHazards(_ context.Context, closedSince time.Time) ([]*Hazard, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	var out []*Hazard
	for _, h := range f.hazards {
		if h.Status != StatusVerified || (!closedSince.IsZero() && !h.VerifiedAt.Before(closedSince)) {
			out = append(out, h.Clone())
		}
	}
	slices.SortFunc(out, func(a, b *Hazard) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

func (f *fakeStore) LoadHazard(_ context.Context, id string) (*Hazard, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	h, ok := f.hazards[id]
	if !ok {
		return nil, fmt.Errorf("hazard %q: %w", id, ErrNotFound)
	}
	return h.Clone(), nil
}

func (f *fakeStore) HazardHistory(_ context.Context, id string) ([]Transition, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	var out []Transition
	for _, t := range f.transitions {
		if t.HazardID == id {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b Transition) int { return int(a.Version) - int(b.Version) })
	return out, nil
}

// engineCall is one call of fakeRisks.
type engineCall struct {
	op       string // "open" or "resolve"
	schoolID string
	match    engine.Match // open
	rule     string       // resolve
	key      string       // resolve
	actor    string
	comment  string
	at       time.Time
}

// fakeRisks records its calls, as the composition root's Risks would apply
// them to the engine.
type fakeRisks struct {
	mu    sync.Mutex
	calls []engineCall
	// resolveErr is what ResolveRisk returns.
	resolveErr error
	// openErr is what OpenRisk returns.
	openErr error
}

func (f *fakeRisks) OpenRisk(_ context.Context, schoolID string, m engine.Match, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, engineCall{op: "open", schoolID: schoolID, match: m, at: at})
	return f.openErr
}

func (f *fakeRisks) ResolveRisk(_ context.Context, schoolID, rule, key, by, comment string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, engineCall{op: "resolve", schoolID: schoolID, rule: rule, key: key, actor: by, comment: comment, at: at})
	return f.resolveErr
}

func (f *fakeRisks) recorded() []engineCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// clock is a settable clock for the Manager.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}
