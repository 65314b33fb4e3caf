package ingest

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

// MaxDroppedFieldNames bounds the field label of
// sanse_ingest_dropped_fields_total: the first names seen get their own
// series, later ones count as "other".
const MaxDroppedFieldNames = 32

// droppedOther is the field label of names beyond MaxDroppedFieldNames and
// of names that are not plain identifiers.
const droppedOther = "other"

// DroppedFields counts the members of accepted events that the stored
// payload leaves out because the event contract does not name them, by
// source and field: sanse_ingest_dropped_fields_total{source,field}. A
// field name is a label only if it is a plain identifier of at most 32
// bytes (letters, digits, _ . -) with fewer than 7 digits, so that neither
// a personal number sent as a key nor a producer sending a new key per
// message reaches the metrics: those, and names beyond the first
// MaxDroppedFieldNames, are counted as "other". Its Count method is the
// event.Decoder's Dropped hook.
type DroppedFields struct {
	counter *prometheus.CounterVec

	mu       sync.RWMutex
	counters map[engine.Source]map[string]prometheus.Counter
	names    int
}

// NewDroppedFields returns the counter, registered with reg (nil leaves it
// unregistered).
func NewDroppedFields(reg prometheus.Registerer) *DroppedFields {
	d := &DroppedFields{
		counter: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
			Namespace: "sanse", Subsystem: "ingest", Name: "dropped_fields_total",
			Help: "Members of accepted events left out of the stored payload because the event contract does not name them, by source and field (\"other\" beyond the first 32 names).",
		}, []string{"source", "field"}),
		counters: map[engine.Source]map[string]prometheus.Counter{},
	}
	for _, src := range event.Builtin().Names() {
		d.counters[src] = map[string]prometheus.Counter{}
		d.counters[src][droppedOther] = d.counter.WithLabelValues(string(src), droppedOther)
	}
	return d
}

// Count counts one dropped member of an event of src named key (as sent,
// JSON escapes included). It is safe for concurrent use.
func (d *DroppedFields) Count(src engine.Source, key []byte) {
	d.mu.RLock()
	c, ok := d.counters[src][string(key)]
	d.mu.RUnlock()
	if !ok {
		c = d.add(src, key)
	}
	c.Inc()
}

func (d *DroppedFields) add(src engine.Source, key []byte) prometheus.Counter {
	d.mu.Lock()
	defer d.mu.Unlock()
	bySrc := d.counters[src]
	if bySrc == nil {
		bySrc = map[string]prometheus.Counter{}
		d.counters[src] = bySrc
	}
	if c, ok := bySrc[string(key)]; ok {
		return c
	}
	if !plainName(key) || d.names >= MaxDroppedFieldNames {
		c, ok := bySrc[droppedOther]
		if !ok {
			c = d.counter.WithLabelValues(string(src), droppedOther)
			bySrc[droppedOther] = c
		}
		return c
	}
	name := string(key)
	c := d.counter.WithLabelValues(string(src), name)
	bySrc[name] = c
	d.names++
	return c
}

// plainName reports whether key may be a label value (see DroppedFields).
func plainName(key []byte) bool {
	if len(key) == 0 || len(key) > 32 {
		return false
	}
	digits := 0
	for _, c := range key {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return digits < 7
}
