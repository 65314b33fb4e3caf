package sim

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

// Options configure a Simulator. Zero values take the defaults.
type Options struct {
	// Registry is the district simulated; it must hold at least one school.
	Registry *engine.Registry
	// Seed makes the stream reproducible: the same seed, registry and clock
	// readings give the same messages.
	Seed int64
	// Rate is the mean number of events per second for the whole district
	// (default 50). It sets the pace of Run; the mix of events follows the
	// local time of day.
	Rate float64
	// IncidentRate multiplies the rate of incidents (default 1); 0 is
	// taken as 1, and a negative value turns incidents off. Incidents
	// follow the clock, not the number of events: at IncidentRate 1 a
	// school has as many per simulated day whatever Rate is, as many as
	// CalibratedRate gives (see package engine/sim/calibrate).
	IncidentRate float64
	// Bad is the share of malformed messages (default 0): not JSON, a
	// required field missing, an unknown school or a field of the wrong type.
	Bad float64
	// Topics names the topic of each source; a missing source gets
	// DefaultTopic.
	Topics map[engine.Source]string
	// Clock returns the time events occur at (default time.Now).
	Clock func() time.Time
	// SchoolDay says whether a day is a school day, e.g. from the rule
	// set's calendar (rules.Calendar.SchoolDay), so that the simulated
	// schools keep the same days as the rules judge them by. When nil, an
	// approximate calendar is used: weekdays less the winter and summer
	// vacations and the May Day and National Day holidays.
	SchoolDay func(time.Time) bool
}

// DefaultRate is the default of Options.Rate.
const DefaultRate = 50

// CalibratedRate is the number of events per school per second that the
// incident probabilities are set for: at this rate (4 events/s for the demo
// district's 400 schools, about 860 events per school a day, close to what
// real platforms send) and IncidentRate 1, the demo district shows about as
// many incidents as a real one. At another rate the probabilities are
// scaled, so that incidents per simulated day stay the same.
const CalibratedRate = 0.01

// DefaultTopic returns the topic of src, one of the built-in sources the
// simulator generates, when Options.Topics does not name one: the topic of
// its declaration, which the consumer reads by default.
func DefaultTopic(src engine.Source) string {
	if s := event.Builtin().Source(src); s != nil {
		return s.Topic
	}
	return ""
}

// maxPending bounds the follow-up events waiting to be emitted, so that a
// clock that stands still cannot make them grow without end.
const maxPending = 100000

// Stats counts what a Simulator generated.
type Stats struct {
	// Events is the number of messages generated, malformed ones included.
	Events int64
	// Incidents is the number of well-formed events meant to raise a risk.
	Incidents int64
	// Malformed is the number of messages made invalid on purpose.
	Malformed int64
}

// Simulator generates the events of a school district. Next and Run must
// not be called concurrently; Stats may be called at any time.
type Simulator struct {
	logger    *slog.Logger
	clock     func() time.Time
	rate      float64
	incidents float64
	bad       float64
	seed      uint64
	topics    map[engine.Source]string
	schoolDay func(time.Time) bool

	r        *rng
	schools  []*school
	byCounty map[string][]*school
	streams  []*stream
	weights  []float64
	pending  pendingQueue
	seq      uint64
	// agendaDay is the local day (days since 1970) whose agenda was made.
	agendaDay int64

	events, incidentCount, malformed atomic.Int64
}

// New returns a simulator of the schools of opts.Registry.
func New(opts Options, logger *slog.Logger) *Simulator {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Simulator{
		logger:    logger.With("component", "sim"),
		clock:     opts.Clock,
		schoolDay: opts.SchoolDay,
		rate:      opts.Rate,
		incidents: opts.IncidentRate,
		bad:       clamp(opts.Bad, 0, 1),
		seed:      uint64(opts.Seed),
		topics:    map[engine.Source]string{},
		r:         newRNG(opts.Seed),
		byCounty:  map[string][]*school{},
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.rate <= 0 || math.IsNaN(s.rate) {
		s.rate = DefaultRate
	}
	switch {
	case s.incidents == 0 || math.IsNaN(s.incidents):
		s.incidents = 1
	case s.incidents < 0:
		s.incidents = 0
	}

	for _, src := range event.Builtin().Names() {
		s.topics[src] = DefaultTopic(src)
		if t := opts.Topics[src]; t != "" {
			s.topics[src] = t
		}
	}
	if opts.Registry != nil {
		for _, sc := range opts.Registry.Schools() {
			st := newSchool(sc)
			s.schools = append(s.schools, st)
			s.byCounty[st.county.name] = append(s.byCounty[st.county.name], st)
		}
	}
	if n := len(s.schools); n > 0 {
		s.incidents *= CalibratedRate * float64(n) / s.rate
	}
	s.streams = s.newStreams()
	s.weights = make([]float64, len(s.streams))
	return s
}

// Stats returns what was generated so far.
func (s *Simulator) Stats() Stats {
	return Stats{Events: s.events.Load(), Incidents: s.incidentCount.Load(), Malformed: s.malformed.Load()}
}

// Topic returns the topic that events of src are written to.
func (s *Simulator) Topic(src engine.Source) string { return s.topics[src] }

// message is one generated event before encoding.
type message struct {
	school   *school
	source   engine.Source
	typ      string
	body     any
	incident bool
}

// envelope holds the fields every event carries.
type envelope struct {
	ID         string        `json:"id"`
	SchoolID   string        `json:"school_id"`
	Source     engine.Source `json:"source"`
	Type       string        `json:"type"`
	OccurredAt string        `json:"occurred_at"`
	Reporter   string        `json:"reporter,omitempty"`
}

// timeLayout is RFC 3339 with milliseconds; times are written in +08:00.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// envelope returns the envelope of a new event. Ids are unique within a
// run (the sequence) and across runs (the time in milliseconds).
func (s *Simulator) envelope(sc *school, src engine.Source, typ string, now time.Time, reporter string) envelope {
	s.seq++
	return envelope{
		ID:         fmt.Sprintf("%s-%s-%d-%x", sc.ID, src, s.seq, now.UnixMilli()),
		SchoolID:   sc.ID,
		Source:     src,
		Type:       typ,
		OccurredAt: now.In(engine.Shanghai).Format(timeLayout),
		Reporter:   reporter,
	}
}

// Next generates the next event at the clock's current time: the topic of
// its source, its key (the school id) and its JSON. It panics if the
// registry holds no school.
func (s *Simulator) Next() (topic, key string, value []byte) {
	if len(s.schools) == 0 {
		panic("sim: the registry holds no school")
	}
	now := s.clock()
	m := momentAt(now)
	if s.schoolDay != nil {
		m.setSchoolDay(s.schoolDay(now))
	}
	if m.day != s.agendaDay {
		s.agendaDay = m.day
		s.agenda(now, m)
	}
	var msg message
	if len(s.pending) > 0 && !s.pending[0].due.After(now) {
		f := heap.Pop(&s.pending).(*followUp)
		msg = f.emit(now, m)
	} else {
		st := s.pickStream(m)
		msg = st.gen(st.pickSchool(s.r), now, m)
	}
	value, err := json.Marshal(msg.body)
	if err != nil {
		panic(fmt.Sprintf("sim: encode %s %s event: %v", msg.source, msg.typ, err))
	}
	key = msg.school.ID
	s.events.Add(1)
	if s.bad > 0 && s.r.chance(s.bad) {
		s.malformed.Add(1)
		key, value = s.corrupt(msg, value)
	} else if msg.incident {
		s.incidentCount.Add(1)
	}
	return s.topics[msg.source], key, value
}

// incident reports whether an event that is an incident with base
// probability p (at IncidentRate 1) should be one.
func (s *Simulator) incident(p float64) bool {
	return s.incidents > 0 && s.r.chance(math.Min(1, p*s.incidents))
}

// later schedules an event to be made once the clock reaches due.
func (s *Simulator) later(due time.Time, emit func(now time.Time, m moment) message) {
	if len(s.pending) >= maxPending {
		return
	}
	s.seq++
	heap.Push(&s.pending, &followUp{due: due, order: s.seq, emit: emit})
}

// after returns now plus a random delay between lo and hi.
func (s *Simulator) after(now time.Time, lo, hi time.Duration) time.Time {
	return now.Add(lo + time.Duration(s.r.float()*float64(hi-lo)))
}
