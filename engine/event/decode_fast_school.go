package event

import (
	"encoding/binary"
	"hash/maphash"
	"sync/atomic"

	"github.com/sanse-campus/sanse/engine"
)

// Finding the event's school. Over a district of 20,000 schools the
// registry's map costs three cache misses an event: the map's slot, the
// id's bytes it compares, and the School the decoder takes the id from.
// schoolIndex keeps, for every id of at most 16 bytes (all real ones),
// the id's bytes and the registry's copy of it side by side in one slot,
// so that a lookup reads one slot, most often one cache line. Longer ids
// go to the registry.

// maxIndexedID is the longest id schoolIndex holds.
const maxIndexedID = 16

// schoolSlot is a school in the index: its id's bytes, zero-padded, and
// the id as the registry holds it (empty: a free slot).
type schoolSlot struct {
	key [2]uint64
	id  string
}

// schoolIndex finds the ids of one registry: an open-addressing table,
// at most two-thirds full, probed linearly. It is built once per registry
// and never written again.
type schoolIndex struct {
	reg   *engine.Registry
	seed  maphash.Seed
	slots []schoolSlot
	mask  uint64
}

func newSchoolIndex(reg *engine.Registry) *schoolIndex {
	n := 8
	for n < reg.Len()+reg.Len()/2 {
		n *= 2
	}
	x := &schoolIndex{reg: reg, seed: maphash.MakeSeed(), slots: make([]schoolSlot, n), mask: uint64(n - 1)}
	for _, s := range reg.Schools() {
		if len(s.ID) == 0 || len(s.ID) > maxIndexedID {
			continue
		}
		key := schoolKey([]byte(s.ID))
		h := x.slot(s.ID)
		for x.slots[h].id != "" {
			h = (h + 1) & x.mask
		}
		x.slots[h] = schoolSlot{key: key, id: s.ID}
	}
	return x
}

func schoolKey(b []byte) [2]uint64 {
	var buf [maxIndexedID]byte
	copy(buf[:], b)
	return [2]uint64{binary.LittleEndian.Uint64(buf[:8]), binary.LittleEndian.Uint64(buf[8:])}
}

func (x *schoolIndex) slot(id string) uint64 { return maphash.String(x.seed, id) & x.mask }

// school returns the registry's copy of the id b, and whether the
// registry has a school b: reg.School(b).ID and reg.School(b) != nil.
func (x *schoolIndex) school(b []byte) (string, bool) {
	if len(b) == 0 || len(b) > maxIndexedID {
		if s := x.reg.School(transient(b)); s != nil {
			return s.ID, true
		}
		return "", false
	}
	key := schoolKey(b)
	for h := x.slot(transient(b)); ; h = (h + 1) & x.mask {
		s := &x.slots[h]
		if s.id == "" {
			return "", false
		}
		if len(s.id) == len(b) && s.key == key {
			return s.id, true
		}
	}
}

// schoolIndexes are the indexes of the registries decoded against most
// recently, most recent first: the current registry, and whatever else a
// process decodes against at the same time (tests, rule tests with their
// own registries). Only these few registries are kept alive by it. The
// array is never written once published.
var schoolIndexes atomic.Pointer[[4]*schoolIndex]

// indexOf returns the index of reg, building it on first use.
func indexOf(reg *engine.Registry) *schoolIndex {
	for {
		cur := schoolIndexes.Load()
		if cur != nil {
			for _, x := range cur {
				if x != nil && x.reg == reg {
					return x
				}
			}
		}
		x := newSchoolIndex(reg)
		next := new([4]*schoolIndex)
		next[0] = x
		if cur != nil {
			copy(next[1:], cur[:])
		}
		if schoolIndexes.CompareAndSwap(cur, next) {
			return x
		}
	}
}
