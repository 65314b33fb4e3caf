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
	windows map[memKey]*Window
	seen    map[memKey]time.Time
	// oldest is at or before the newest sample of every window and every
	// time in seen, so that prune has nothing to do before it.
	oldest time.Time
	// free holds forgotten windows, emptied, for the next new ones.
	free []*Window
}

// maxFreeWindows bounds Memory.free.
const maxFreeWindows = 8

// memKey is a key of Memory in two parts, so that a rule's prefix and an
// event's key need not be joined into a new string for every event. The
// one-part methods use the key with an empty second part.
type memKey struct{ prefix, key string }

func newMemory() *Memory {
	return &Memory{windows: map[memKey]*Window{}, seen: map[memKey]time.Time{}}
}

// Window returns the window with the given key, creating it when create is set.
func (m *Memory) Window(key string, create bool) *Window { return m.WindowOf(key, "", create) }

// WindowOf returns the window of prefix and key (the window named by their
// concatenation), creating it when create is set.
func (m *Memory) WindowOf(prefix, key string, create bool) *Window {
	w := m.windows[memKey{prefix, key}]
	if w == nil && create {
		if n := len(m.free); n > 0 {
			w = m.free[n-1]
			m.free[n-1] = nil
			m.free = m.free[:n-1]
		} else {
			w = &Window{mem: m}
		}
		m.windows[memKey{prefix, key}] = w
	}
	return w
}

// forget drops the window of k, keeping it for reuse.
func (m *Memory) forget(k memKey, w *Window) {
	delete(m.windows, k)
	if len(m.free) < maxFreeWindows {
		clear(w.samples)
		w.samples = w.samples[:0]
		m.free = append(m.free, w)
	}
}

// DropWindow forgets a window, e.g. when its risk is cleared.
func (m *Memory) DropWindow(key string) { m.DropWindowOf(key, "") }

// DropWindowOf forgets the window of prefix and key.
func (m *Memory) DropWindowOf(prefix, key string) {
	k := memKey{prefix, key}
	if w := m.windows[k]; w != nil {
		m.forget(k, w)
	}
}

// Seen records that key was seen at t; an earlier time never replaces a later one.
func (m *Memory) Seen(key string, t time.Time) { m.SeenOf(key, "", t) }

// SeenOf records that prefix and key were seen at t, like Seen.
func (m *Memory) SeenOf(prefix, key string, t time.Time) {
	k := memKey{prefix, key}
	prev, ok := m.seen[k]
	if ok && !t.After(prev) {
		return
	}
	m.seen[k] = t
	if !ok {
		m.lowerOldest(t)
	}
}

// LastSeen returns when key was last seen, and whether it ever was.
func (m *Memory) LastSeen(key string) (time.Time, bool) { return m.LastSeenOf(key, "") }

// LastSeenOf returns when prefix and key were last seen, like LastSeen.
func (m *Memory) LastSeenOf(prefix, key string) (time.Time, bool) {
	t, ok := m.seen[memKey{prefix, key}]
	return t, ok
}

func (m *Memory) lowerOldest(t time.Time) {
	if m.oldest.IsZero() || t.Before(m.oldest) {
		m.oldest = t
	}
}

// prune forgets windows that hold nothing newer than before, and the times
// seen before it. It looks at every entry only when one may be due.
func (m *Memory) prune(before time.Time) {
	if m.empty() || !m.oldest.Before(before) {
		return
	}
	var oldest time.Time
	for k, w := range m.windows {
		if len(w.samples) == 0 || w.samples[len(w.samples)-1].At.Before(before) {
			m.forget(k, w)
			continue
		}
		if t := w.samples[len(w.samples)-1].At; oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	for k, t := range m.seen {
		if t.Before(before) {
			delete(m.seen, k)
			continue
		}
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	m.oldest = oldest
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
	mem     *Memory // the memory whose oldest bound a new window's first sample lowers
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
	if n == 0 && w.mem != nil {
		w.mem.lowerOldest(s.At)
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
