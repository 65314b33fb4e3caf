package rules

import (
	"slices"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

// memory is what rules remember about one school between events: sliding
// event-time windows and the last time something was seen (for absence
// checks). It is the engine.RuleState of a Set: the engine keeps one per
// school, made by Set.NewState, and passes it back under its lock without
// looking inside. It is rebuilt on start by replaying stored events, like
// the rest of the state. Every Set makes and reads the same kind, so the
// schools' memories live on across a reload; a window belongs to a rule's
// id, key and window expressions, so a changed rule starts afresh.
//
// Besides the horizon, two bounds keep a school's memory independent of the
// number of events, whatever producers send: a rule keeps at most MaxKeys
// keys per school (windows, or last-seen times), and a window at most
// MaxWindowSamples samples.
type memory struct {
	windows map[memKey]*window
	seen    map[memKey]time.Time
	// keys counts the windows and the last-seen times of each prefix (a
	// rule's, with its window expressions or the kind of time), to hold
	// each to MaxKeys.
	keys map[string]int
	// oldest is at or before the newest sample of every window and every
	// time in seen, so that prune has nothing to do before it.
	oldest time.Time
	// free holds forgotten windows, emptied, for the next new ones.
	free []*window
}

var _ engine.RuleState = (*memory)(nil)

// NewState implements engine.Evaluator: an empty memory for one school.
func (s *Set) NewState() engine.RuleState { return newMemory() }

// maxFreeWindows bounds memory.free.
const maxFreeWindows = 8

// memKey is a key of memory in two parts, so that a rule's prefix and an
// event's key need not be joined into a new string for every event.
type memKey struct{ prefix, key string }

// MaxKeys bounds the keys a rule keeps per school: its windows (one per
// key), or for an absence check its last-seen times (one per key, and one per
// key it reported). A new key beyond it makes the rule forget, at that
// school, the key whose newest event is the oldest. With the default pack's
// keys (pupils, devices, dishes, staff, suppliers, water bodies) a school
// stays far below it; a producer sending a new key with every event reaches
// it, and the rule then judges each key over the last MaxKeys keys' events
// only.
const MaxKeys = 1000

// MaxWindowSamples bounds the samples of one window (a rule, school and
// key). A sample beyond it makes the window forget its oldest: the window's
// aggregate (count, sum, distinct …) is then of the newest MaxWindowSamples
// events within its size. No rule of the default pack counts that far.
const MaxWindowSamples = 1000

func newMemory() *memory {
	return &memory{windows: map[memKey]*window{}, seen: map[memKey]time.Time{}, keys: map[string]int{}}
}

// window returns the window of prefix and key, creating it when create is
// set. evicted reports that creating it made the rule forget another key
// (MaxKeys).
func (m *memory) window(prefix, key string, create bool) (w *window, evicted bool) {
	w = m.windows[memKey{prefix, key}]
	if w == nil && create {
		if m.keys[prefix] >= MaxKeys {
			m.evictWindow(prefix)
			evicted = true
		}
		m.keys[prefix]++
		if n := len(m.free); n > 0 {
			w = m.free[n-1]
			m.free[n-1] = nil
			m.free = m.free[:n-1]
		} else {
			w = &window{mem: m}
		}
		m.windows[memKey{prefix, key}] = w
	}
	return w, evicted
}

// evictWindow forgets the window of prefix whose newest sample is the
// oldest.
func (m *memory) evictWindow(prefix string) {
	var (
		oldest memKey
		at     time.Time
		found  bool
	)
	for k, w := range m.windows {
		if k.prefix != prefix {
			continue
		}
		t := w.newest()
		if !found || t.Before(at) {
			oldest, at, found = k, t, true
		}
	}
	if found {
		m.forget(oldest, m.windows[oldest])
	}
}

// forget drops the window of k, keeping it for reuse.
func (m *memory) forget(k memKey, w *window) {
	delete(m.windows, k)
	m.uncount(k.prefix)
	if len(m.free) < maxFreeWindows {
		clear(w.samples)
		w.samples = w.samples[:0]
		m.free = append(m.free, w)
	}
}

// dropWindow forgets the window of prefix and key, e.g. when its risk is
// cleared.
func (m *memory) dropWindow(prefix, key string) {
	k := memKey{prefix, key}
	if w := m.windows[k]; w != nil {
		m.forget(k, w)
	}
}

// uncount takes one key of prefix off its count.
func (m *memory) uncount(prefix string) {
	if n := m.keys[prefix]; n > 1 {
		m.keys[prefix] = n - 1
	} else {
		delete(m.keys, prefix)
	}
}

// see records that prefix and key were seen at t; an earlier time never
// replaces a later one. evicted reports that a new key made the prefix
// forget another (MaxKeys).
func (m *memory) see(prefix, key string, t time.Time) (evicted bool) {
	k := memKey{prefix, key}
	prev, ok := m.seen[k]
	if ok && !t.After(prev) {
		return false
	}
	if !ok {
		if m.keys[prefix] >= MaxKeys {
			m.evictSeen(prefix)
			evicted = true
		}
		m.keys[prefix]++
		m.lowerOldest(t)
	}
	m.seen[k] = t
	return evicted
}

// evictSeen forgets the oldest last-seen time of prefix.
func (m *memory) evictSeen(prefix string) {
	var (
		oldest memKey
		at     time.Time
		found  bool
	)
	for k, t := range m.seen {
		if k.prefix == prefix && (!found || t.Before(at)) {
			oldest, at, found = k, t, true
		}
	}
	if found {
		delete(m.seen, oldest)
		m.uncount(prefix)
	}
}

// lastSeen returns when prefix and key were last seen, and whether they
// ever were.
func (m *memory) lastSeen(prefix, key string) (time.Time, bool) {
	t, ok := m.seen[memKey{prefix, key}]
	return t, ok
}

func (m *memory) lowerOldest(t time.Time) {
	if m.oldest.IsZero() || t.Before(m.oldest) {
		m.oldest = t
	}
}

// Prune implements engine.RuleState: it forgets windows that hold nothing
// newer than before, and the times seen before it. It looks at every entry
// only when one may be due.
func (m *memory) Prune(before time.Time) {
	if m.Empty() || !m.oldest.Before(before) {
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
			m.uncount(k.prefix)
			continue
		}
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	m.oldest = oldest
}

// Empty implements engine.RuleState.
func (m *memory) Empty() bool { return len(m.windows) == 0 && len(m.seen) == 0 }

// Len implements engine.RuleState: the samples of the windows and the
// last-seen times.
func (m *memory) Len() int {
	n := len(m.seen)
	for _, w := range m.windows {
		n += len(w.samples)
	}
	return n
}

// sample is one event's contribution to a window.
type sample struct {
	At       time.Time
	Value    float64
	Distinct string
}

// window is a sliding event-time window of samples, kept in time order.
type window struct {
	samples []sample
	mem     *memory // the memory whose oldest bound a new window's first sample lowers
}

// Aggregate is what a window holds over a span of time, as rules read it
// (`window.count`, `window.span` …).
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

// newest returns the time of the newest sample, zero when there is none.
func (w *window) newest() time.Time {
	if len(w.samples) == 0 {
		return time.Time{}
	}
	return w.samples[len(w.samples)-1].At
}

// add inserts s in time order and evicts samples that can no longer fall in
// any window: older than the newest sample minus size and lateness, and the
// oldest beyond MaxWindowSamples (dropped counts those). It returns false,
// adding nothing, for a sample older than that bound (too late).
func (w *window) add(s sample, size, lateness time.Duration) (added bool, dropped int) {
	n := len(w.samples)
	if n > 0 {
		newest := w.samples[n-1].At
		if s.At.Before(newest.Add(-size - lateness)) {
			return false, 0
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
	if over := len(w.samples) - drop - MaxWindowSamples; over > 0 {
		drop += over
		dropped = over
	}
	if drop > 0 {
		w.samples = slices.Delete(w.samples, 0, drop)
	}
	return true, dropped
}

// over aggregates the samples in (end - size, end].
func (w *window) over(end time.Time, size time.Duration) Aggregate {
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
func (w *window) seenBefore(i int, start time.Time, v string) bool {
	for j := 0; j < i; j++ {
		if w.samples[j].At.After(start) && w.samples[j].Distinct == v {
			return true
		}
	}
	return false
}
