package engine

import (
	"slices"
	"time"
)

// Memory is what rules remember about one school between events: sliding
// event-time windows and the last time something was seen (for absence
// checks). The engine owns one per school and passes it to the Evaluator
// under its lock; the Evaluator decides what goes in. Memory is rebuilt on
// start by replaying stored events, like the rest of the state.
type Memory struct {
	windows map[string]*Window
	seen    map[string]time.Time
}

func newMemory() *Memory {
	return &Memory{windows: map[string]*Window{}, seen: map[string]time.Time{}}
}

// Window returns the window with the given key, creating it when create is set.
func (m *Memory) Window(key string, create bool) *Window {
	w := m.windows[key]
	if w == nil && create {
		w = &Window{}
		m.windows[key] = w
	}
	return w
}

// DropWindow forgets a window, e.g. when its risk is cleared.
func (m *Memory) DropWindow(key string) { delete(m.windows, key) }

// Seen records that key was seen at t; an earlier time never replaces a later one.
func (m *Memory) Seen(key string, t time.Time) {
	if prev, ok := m.seen[key]; !ok || t.After(prev) {
		m.seen[key] = t
	}
}

// LastSeen returns when key was last seen, and whether it ever was.
func (m *Memory) LastSeen(key string) (time.Time, bool) {
	t, ok := m.seen[key]
	return t, ok
}

// prune forgets windows that hold nothing newer than before.
func (m *Memory) prune(before time.Time) {
	for k, w := range m.windows {
		if len(w.samples) == 0 || w.samples[len(w.samples)-1].At.Before(before) {
			delete(m.windows, k)
		}
	}
	for k, t := range m.seen {
		if t.Before(before) {
			delete(m.seen, k)
		}
	}
}

func (m *Memory) empty() bool { return len(m.windows) == 0 && len(m.seen) == 0 }

// Sample is one event's contribution to a window.
type Sample struct {
	At       time.Time
	Value    float64
	Distinct string
}

// Window is a sliding event-time window of samples, kept in time order.
type Window struct {
	samples []Sample
}

// Aggregate is what a window holds over a span of time.
type Aggregate struct {
	Count    int           `expr:"count"`
	Sum      float64       `expr:"sum"`
	Min      float64       `expr:"min"`
	Max      float64       `expr:"max"`
	Distinct int           `expr:"distinct"`
	First    time.Time     `expr:"first"`
	Last     time.Time     `expr:"last"`
	Span     time.Duration `expr:"span"` // Last - First
}

// Add inserts s in time order and evicts samples that can no longer fall in
// any window: older than the newest sample minus size and lateness. It
// returns false, adding nothing, for a sample older than that bound (too late).
func (w *Window) Add(s Sample, size, lateness time.Duration) bool {
	n := len(w.samples)
	if n > 0 {
		newest := w.samples[n-1].At
		if s.At.Before(newest.Add(-size - lateness)) {
			return false
		}
	}
	i := n
	for i > 0 && w.samples[i-1].At.After(s.At) {
		i--
	}
	w.samples = slices.Insert(w.samples, i, s)
	bound := w.samples[len(w.samples)-1].At.Add(-size - lateness)
	drop := 0
	for drop < len(w.samples) && w.samples[drop].At.Before(bound) {
		drop++
	}
	if drop > 0 {
		w.samples = slices.Delete(w.samples, 0, drop)
	}
	return true
}

// Over aggregates the samples in (end - size, end].
func (w *Window) Over(end time.Time, size time.Duration) Aggregate {
	var a Aggregate
	start := end.Add(-size)
	for i := range w.samples {
		s := &w.samples[i]
		if !s.At.After(start) || s.At.After(end) {
			continue
		}
		if a.Count == 0 {
			a.Min, a.Max, a.First = s.Value, s.Value, s.At
		}
		a.Count++
		a.Sum += s.Value
		a.Min = min(a.Min, s.Value)
		a.Max = max(a.Max, s.Value)
		a.Last = s.At
		if s.Distinct != "" && !w.seenBefore(i, start, s.Distinct) {
			a.Distinct++
		}
	}
	if a.Count > 0 {
		a.Span = a.Last.Sub(a.First)
	}
	return a
}

// seenBefore reports whether a sample before i within the span has the same
// distinct value. Windows are small (tens of samples), so a scan is cheaper
// than a set.
func (w *Window) seenBefore(i int, start time.Time, v string) bool {
	for j := 0; j < i; j++ {
		if w.samples[j].At.After(start) && w.samples[j].Distinct == v {
			return true
		}
	}
	return false
}

// Len returns the number of samples held.
func (w *Window) Len() int { return len(w.samples) }
