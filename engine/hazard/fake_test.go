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

func (f *fakeStore) WriteHazard(_ context.Context, h *Hazard, t Transition) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	if f.fail != nil {
		return f.fail
	}
	f.transitions[t.ID] = t
	if cur, ok := f.hazards[h.ID]; !ok || h.Version >= cur.Version {
		f.hazards[h.ID] = h.Clone()
	}
	return nil
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

// engineCall is one call of the fake engine.
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

// fakeEngine records its calls and reports one transition for each.
type fakeEngine struct {
	mu    sync.Mutex
	calls []engineCall
	// resolveErr is what Resolve returns.
	resolveErr error
	// openErr is what Open returns.
	openErr error
}

func (f *fakeEngine) Open(schoolID string, m engine.Match, at time.Time, out *engine.Output) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, engineCall{op: "open", schoolID: schoolID, match: m, at: at})
	if f.openErr != nil {
		return f.openErr
	}
	out.Transitions = append(out.Transitions, engine.RiskTransition{SchoolID: schoolID, At: at, State: engine.RiskOpened,
		Risk: engine.Risk{Rule: m.Rule, Key: m.Key, Severity: m.Severity, Title: m.Title}})
	return nil
}

func (f *fakeEngine) Resolve(schoolID, rule, key, actor, comment string, at time.Time, out *engine.Output) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, engineCall{op: "resolve", schoolID: schoolID, rule: rule, key: key, actor: actor, comment: comment, at: at})
	if f.resolveErr != nil {
		return f.resolveErr
	}
	out.Transitions = append(out.Transitions, engine.RiskTransition{SchoolID: schoolID, At: at, State: engine.RiskResolved,
		Risk: engine.Risk{Rule: rule, Key: key}, Actor: actor, Comment: comment})
	return nil
}

func (f *fakeEngine) recorded() []engineCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// emitted records what the Manager hands to Emit.
type emitted struct {
	mu   sync.Mutex
	outs []engine.Output
}

func (e *emitted) emit(_ context.Context, out *engine.Output) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.outs = append(e.outs, engine.Output{
		Transitions: slices.Clone(out.Transitions), Changes: slices.Clone(out.Changes),
	})
	return nil
}

func (e *emitted) transitions() []engine.RiskTransition {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []engine.RiskTransition
	for _, o := range e.outs {
		out = append(out, o.Transitions...)
	}
	return out
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
