package engine

// Several instances share a province's schools: each holds the state of the
// schools whose events arrive on the Kafka partitions the consumer group gave
// it. When partitions move, the new owner rebuilds those schools' state in a
// Fork of its engine (replaying what is stored) and Adopts it; the old owner
// Drops them.

// Own restricts the scheduled (absence) checks of Tick to the schools owns
// accepts; nil restores the default, every school of the registry. Events
// are applied whatever owns says: the consumer decides which events reach the
// engine.
func (e *Engine) Own(owns func(schoolID string) bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.owns = owns
}

// Owns reports whether the engine holds the school's state: whether its
// scheduled checks run here.
func (e *Engine) Owns(schoolID string) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.owns == nil || e.owns(schoolID)
}

// Owner returns the predicate Own set (nil: every school), for a reader
// that asks of many schools at once.
func (e *Engine) Owner() func(schoolID string) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.owns
}

// Fork returns an empty engine with e's rules and registry that holds the
// schools owns accepts, for rebuilding their state (Restore) before e adopts
// it. Its colour changes are numbered after e's, so that a school's changes
// keep rising LevelChange.Seq across the move.
func (e *Engine) Fork(owns func(schoolID string) bool) *Engine {
	e.mu.RLock()
	defer e.mu.RUnlock()
	f := New(e.rules, e.registry)
	f.seq, f.owns = e.seq, owns
	return f
}

// Adopt moves every school state of f, a Fork of e whose state is rebuilt,
// into e, replacing what e held of those schools; the caller widens e's
// ownership (Own) to them. f must not be used afterwards.
func (e *Engine) Adopt(f *Engine) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, st := range f.schools {
		e.schools[id] = st
	}
	f.schools = nil
	if f.seq > e.seq {
		e.seq = f.seq
	}
	if f.now.After(e.now) {
		e.now = f.now
	}
	e.version.Add(1)
}

// Drop forgets the state of every school that keep rejects — schools whose
// partitions moved to another instance — and returns how many it forgot.
// Nothing is recorded: the new owner carries on from the history.
func (e *Engine) Drop(keep func(schoolID string) bool) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for id := range e.schools {
		if !keep(id) {
			delete(e.schools, id)
			n++
		}
	}
	if n > 0 {
		e.version.Add(1)
	}
	return n
}
