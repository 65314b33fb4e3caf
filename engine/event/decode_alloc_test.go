package event

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/sanse-campus/sanse/engine"
)

const (
	allocVisitor = `{"id":"v1","school_id":"S1","source":"visitor","type":"entry","occurred_at":"2026-11-02T09:00:00+08:00",` +
		`"visitor_id":"33040219800101123x","name":"张三丰","id_verified":true,"watchlist":"none","gate":"东门","badge":{"no":"B-7","at":[1,2]}}`
	allocReport = `{"id":"b1","school_id":"S1","source":"bullying","type":"report","occurred_at":"2026-11-02T09:00:00Z",` +
		`"channel":"teacher","victim_ref":"S-1","kind":"verbal","injury":false,"suspect_refs":["S-2","S-\u0033"]}`
	allocCanteen = `{"id":"c1","school_id":"S1","source":"canteen","type":"storage_temp","occurred_at":"2026-11-02T09:00:00+08:00",` +
		`"device":"F1","celsius":9.5,"zone":"fridge","reporter":"hub-1"}`
)

// TestDecodeAllocations holds the decoder to what an accepted event keeps:
// its id, one block for its other strings, and the payload when it must be
// rewritten (a personal field, an unknown one) or a list's elements. The
// values come from a slab shared by many events (a fraction of an
// allocation each).
func TestDecodeAllocations(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under instrumentation")
	}
	d := newSeedDecoder(t)
	for _, tt := range []struct {
		msg  string
		want float64
	}{
		{allocCanteen, 2.1}, // id, the other strings
		{allocVisitor, 3.1}, // id, the other strings, the rewritten payload
		{allocReport, 3.1},  // id, the other strings, the list
	} {
		var ev engine.Event
		data := []byte(tt.msg)
		if got := testing.AllocsPerRun(500, func() { _ = d.Decode("", data, &ev) }); got > tt.want {
			t.Errorf("%v allocations for %.40s…, want at most %v", got, tt.msg, tt.want)
		}
	}
}

// TestDecodeConcurrently decodes with two decoders of different keys from
// several goroutines: parsers and their slabs are shared through a pool, and
// every event keeps its own values.
func TestDecodeConcurrently(t *testing.T) {
	d := newSeedDecoder(t)
	other, err := NewIdentity([]byte("another key of 16 bytes or more"))
	if err != nil {
		t.Fatal(err)
	}
	d2 := &Decoder{Registry: d.Registry, Identity: other}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			dec := d
			if g%2 == 1 {
				dec = d2
			}
			var kept []engine.Event
			for i := range 200 {
				msg := strings.Replace(allocVisitor, "33040219800101123x", fmt.Sprintf("3304021980010%05d", i), 1)
				var ev engine.Event
				if err := dec.Decode("", []byte(msg), &ev); err != nil {
					t.Error(err)
					return
				}
				kept = append(kept, ev)
			}
			for i, ev := range kept {
				want := dec.Identity.Hash(fmt.Sprintf("3304021980010%05d", i))
				if got, _ := builtin.Value(&ev, "visitor_hash"); ev.PersonHash != want || got.Str() != want {
					t.Errorf("event %d: hash %s / %s, want %s", i, ev.PersonHash, got.Str(), want)
					return
				}
			}
		})
	}
	wg.Wait()
}
