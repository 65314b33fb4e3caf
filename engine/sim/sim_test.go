package sim

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/registry"
)

func loadDemo(t testing.TB) *engine.Registry {
	t.Helper()
	reg, err := registry.Load(demoPath)
	require.NoError(t, err)
	return reg
}

// rateOf returns the Rate (events per second) of a simulator whose clock
// moves on by step at every event, so that incidents, which follow the
// clock, come as often per simulated day as at any other rate.
func rateOf(step time.Duration) float64 { return float64(time.Second) / float64(step) }

// stepClock returns a clock that starts at start and moves on by step at
// every reading.
func stepClock(start time.Time, step time.Duration) func() time.Time {
	now := start.Add(-step)
	return func() time.Time {
		now = now.Add(step)
		return now
	}
}

func newDecoder(t testing.TB, reg *engine.Registry) *event.Decoder {
	t.Helper()
	id, err := event.NewIdentity([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	return &event.Decoder{Registry: func() *engine.Registry { return reg }, Identity: id}
}

func sourceOfTopic(t testing.TB, topic string) engine.Source {
	t.Helper()
	for _, src := range event.Builtin().Names() {
		if DefaultTopic(src) == topic {
			return src
		}
	}
	t.Fatalf("unknown topic %q", topic)
	return ""
}

// isIncident tells, from the decoded event alone, whether it should raise a
// risk of medium or high severity (or, for hygiene, is a rodent). It judges
// the four original sources, whose types it knows.
func isIncident(ev *engine.Event) bool {
	switch ev.Source {
	case engine.SourceVisitor, engine.SourceCanteen, engine.SourceDrowning, engine.SourceBullying:
	default:
		return false
	}
	switch ev.Type {
	case "entry":
		return str(ev, "watchlist") != "none" || boolean(ev, "prohibited_items") || (!boolean(ev, "id_verified") && boolean(ev, "during_class"))
	case "ai_violation":
		return str(ev, "violation") == "rodent"
	case "sample":
		return num(ev, "weight_g") < 125 || num(ev, "retained_hours") < 48
	case "health_check", "pesticide_test":
		return !boolean(ev, "passed")
	case "storage_temp":
		return (str(ev, "zone") == "fridge" && num(ev, "celsius") > 8) || (str(ev, "zone") == "freezer" && num(ev, "celsius") > -12)
	case "supplier_cert":
		return at(ev, "expires_on").Sub(ev.OccurredAt) < 8*24*time.Hour
	case "fence_intrusion", "report":
		return true
	case "patrol":
		return boolean(ev, "hazard_found")
	case "water_level":
		return num(ev, "level_m") >= num(ev, "warning_level_m")
	case "weather":
		return num(ev, "rain_mm_24h") >= 50
	case "screening":
		return num(ev, "score") >= num(ev, "threshold")
	}
	return false
}

var occurredAtShape = regexp.MustCompile(`"occurred_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00"`)

type tally struct {
	events, incidents int
	types             map[string]int
	incidentTypes     map[string]int
	bySchool          map[string]int
}

// generate runs a simulator for n events and decodes every one.
func generate(t *testing.T, reg *engine.Registry, dec *event.Decoder, opts Options, n int) tally {
	t.Helper()
	opts.Registry = reg
	s := New(opts, nil)
	tl := tally{types: map[string]int{}, incidentTypes: map[string]int{}, bySchool: map[string]int{}}
	ids := make(map[string]bool, n)
	var ev engine.Event
	for range n {
		topic, key, value := s.Next()
		src := sourceOfTopic(t, topic)
		require.NoError(t, dec.Decode(src, value, &ev), "%s", value)
		require.Equal(t, ev.SchoolID, key)
		require.Regexp(t, occurredAtShape, string(value))
		require.False(t, ids[ev.ID], "duplicate id %s", ev.ID)
		checkFields(t, &ev, value)
		ids[ev.ID] = true
		k := string(ev.Source) + "/" + ev.Type
		tl.events++
		tl.types[k]++
		tl.bySchool[ev.SchoolID]++
		if isIncident(&ev) {
			tl.incidents++
			tl.incidentTypes[k]++
		}
	}
	return tl
}

func TestNextDecodes(t *testing.T) {
	reg := loadDemo(t)
	dec := newDecoder(t, reg)
	tests := []struct {
		name  string
		seed  int64
		start time.Time
	}{
		{name: "june week", seed: 1, start: time.Date(2025, 6, 2, 5, 0, 0, 0, engine.Shanghai)},
		{name: "november week", seed: 2, start: time.Date(2025, 11, 10, 5, 0, 0, 0, engine.Shanghai)},
		{name: "summer vacation", seed: 3, start: time.Date(2025, 8, 4, 0, 0, 0, 0, engine.Shanghai)},
		{name: "march week", seed: 4, start: time.Date(2026, 3, 2, 5, 0, 0, 0, engine.Shanghai)},
	}
	// A real district sends about 860 events per school a day; a week in
	// far fewer would be all timetable (bus trips, duty check-ins), which
	// does not grow with the rate, and no rarer kinds of report.
	n := 150000
	if testing.Short() {
		n = 10000
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A week in n events, at the rate that matches the clock:
			// incidents follow the clock, so this is a week's worth.
			step := 7 * 24 * time.Hour / time.Duration(n)
			tl := generate(t, reg, dec, Options{Seed: tt.seed, Rate: rateOf(step), Clock: stepClock(tt.start, step)}, n)
			perDay := float64(tl.incidents) / float64(reg.Len()) / 7
			t.Logf("%.4f incidents per school a day; types %v; incidents %v", perDay, tl.types, tl.incidentTypes)
			// Events that are incidents, each warm reading of one cold
			// storage excursion counted: some, and not several a school
			// a day. What the map shows of them is measured by package
			// engine/sim/calibrate (TestCalibration).
			require.Greater(t, perDay, 0.01, "too few incidents")
			require.Less(t, perDay, 1.5, "too many incidents")
			for k := range tl.types {
				seen[k] = true
			}
		})
	}
	if testing.Short() {
		return // too few events for the rare kinds
	}
	// Every type within the three term weeks: the rarest (a mental health
	// crisis report, a few a week in the district) may miss a single week.
	for _, src := range event.Builtin().Sources() {
		for _, typ := range src.TypeNames() {
			require.True(t, seen[string(src.Name)+"/"+typ], "no %s %s event", src.Name, typ)
		}
	}
}

var studentRef = regexp.MustCompile(`^S-JX-[A-Z]{2}-\d{4}-\d{4}$`)

// checkFields checks what the decoder does not: pseudonymous pupils,
// anonymous app reports, plausible readings.
func checkFields(t *testing.T, ev *engine.Event, value []byte) {
	t.Helper()
	require.NotEmpty(t, ev.Reporter)
	switch ev.Source {
	case engine.SourceVisitor, engine.SourceCanteen, engine.SourceDrowning, engine.SourceBullying:
	default:
		return // the checks below know the four original sources
	}
	switch ev.Type {
	case "report":
		require.Regexp(t, studentRef, str(ev, "victim_ref"))
		require.True(t, strings.HasPrefix(str(ev, "victim_ref"), "S-"+ev.SchoolID+"-"), str(ev, "victim_ref"))
		require.NotEmpty(t, list(ev, "suspect_refs"))
		for _, ref := range list(ev, "suspect_refs") {
			require.Regexp(t, studentRef, ref)
			require.NotEqual(t, str(ev, "victim_ref"), ref)
		}
		require.Equal(t, str(ev, "channel") == "anonymous_app", ev.Reporter == "anonymous", "%s", value)
	case "screening":
		require.Regexp(t, studentRef, str(ev, "student_ref"))
		require.InDelta(t, 50, num(ev, "score"), 50)
	case "entry", "denied":
		require.Regexp(t, `^3304\*{10}\d{3}[\dX]$`, str(ev, "visitor_masked"))
		require.Equal(t, momentAt(ev.OccurredAt).classTime, boolean(ev, "during_class"))
	case "storage_temp":
		require.InDelta(t, -5, num(ev, "celsius"), 20)
	case "water_level":
		require.InDelta(t, num(ev, "warning_level_m"), num(ev, "level_m"), 1.5)
	}
	require.NotEmpty(t, ev.Reporter)
}

func TestNextDeterministic(t *testing.T) {
	reg := loadDemo(t)
	start := time.Date(2025, 9, 1, 7, 0, 0, 0, engine.Shanghai)
	run := func(seed int64) []byte {
		s := New(Options{Registry: reg, Seed: seed, Clock: stepClock(start, time.Second)}, nil)
		var buf bytes.Buffer
		for range 3000 {
			topic, key, value := s.Next()
			buf.WriteString(topic + " " + key + " ")
			buf.Write(value)
			buf.WriteByte('\n')
		}
		return buf.Bytes()
	}
	first, again := run(42), run(42)
	require.Equal(t, first, again)
	require.NotEqual(t, run(42), run(43))
}

func TestNextOptions(t *testing.T) {
	reg := loadDemo(t)
	tests := []struct {
		name       string
		opts       Options
		wantRate   float64
		wantTopics map[engine.Source]string
	}{
		{
			name:     "defaults",
			wantRate: DefaultRate,
			wantTopics: map[engine.Source]string{
				engine.SourceVisitor: "campus.visitor", engine.SourceCanteen: "campus.canteen",
				engine.SourceDrowning: "campus.drowning", engine.SourceBullying: "campus.bullying",
			},
		},
		{
			name:     "topics and rate",
			opts:     Options{Rate: 5, Topics: map[engine.Source]string{engine.SourceVisitor: "demo.visitor"}},
			wantRate: 5,
			wantTopics: map[engine.Source]string{
				engine.SourceVisitor: "demo.visitor", engine.SourceCanteen: "campus.canteen",
				engine.SourceDrowning: "campus.drowning", engine.SourceBullying: "campus.bullying",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Registry = reg
			s := New(tt.opts, nil)
			require.Equal(t, tt.wantRate, s.rate)
			for src, topic := range tt.wantTopics {
				require.Equal(t, topic, s.Topic(src))
			}
		})
	}
}

func TestIncidentRate(t *testing.T) {
	reg := loadDemo(t)
	dec := newDecoder(t, reg)
	start := time.Date(2025, 6, 2, 5, 0, 0, 0, engine.Shanghai)
	step := 7 * 24 * time.Hour / 20000
	base := generate(t, reg, dec, Options{Seed: 11, Rate: rateOf(step), Clock: stepClock(start, step)}, 20000)
	more := generate(t, reg, dec, Options{Seed: 11, Rate: rateOf(step), IncidentRate: 4, Clock: stepClock(start, step)}, 20000)
	none := generate(t, reg, dec, Options{Seed: 11, Rate: rateOf(step), IncidentRate: -1, Clock: stepClock(start, step)}, 20000)
	require.Positive(t, base.incidents)
	require.Greater(t, more.incidents, 2*base.incidents)
	require.Zero(t, none.incidents, "incidents with IncidentRate < 0: %v", none.incidentTypes)
}

// TestReportSeries checks that some pupils are reported three times within
// minutes, which a rule counting reports per victim_ref must see.
func TestReportSeries(t *testing.T) {
	reg := loadDemo(t)
	dec := newDecoder(t, reg)
	s := New(Options{Registry: reg, Seed: 5, Rate: 1, IncidentRate: 20,
		Clock: stepClock(time.Date(2025, 10, 14, 9, 0, 0, 0, engine.Shanghai), time.Second)}, nil)
	reports := map[string]int{}
	var ev engine.Event
	for range 30000 {
		topic, _, value := s.Next()
		require.NoError(t, dec.Decode(sourceOfTopic(t, topic), value, &ev))
		if ev.Type == "report" {
			reports[str(&ev, "victim_ref")]++
		}
	}
	var series int
	for _, n := range reports {
		if n >= 3 {
			series++
		}
	}
	require.Positive(t, series)
}

func TestNextBad(t *testing.T) {
	reg := loadDemo(t)
	dec := newDecoder(t, reg)
	s := New(Options{Registry: reg, Seed: 3, Bad: 0.2,
		Clock: stepClock(time.Date(2025, 10, 14, 6, 0, 0, 0, engine.Shanghai), time.Second)}, nil)
	const n = 20000
	reasons := map[event.Reason]int{}
	var ev engine.Event
	for range n {
		topic, key, value := s.Next()
		err := dec.Decode(sourceOfTopic(t, topic), value, &ev)
		if err == nil {
			require.Equal(t, ev.SchoolID, key)
			continue
		}
		var de *event.DecodeError
		require.ErrorAs(t, err, &de)
		reasons[de.Reason]++
	}
	var bad int
	for _, c := range reasons {
		bad += c
	}
	require.InDelta(t, 0.2, float64(bad)/n, 0.02)
	require.EqualValues(t, bad, s.Stats().Malformed)
	for _, r := range []event.Reason{event.ReasonNotJSON, event.ReasonMissingField, event.ReasonUnknownSchool, event.ReasonWrongType} {
		require.Positive(t, reasons[r], "no %s message: %v", r, reasons)
	}
}

func TestPendingBounded(t *testing.T) {
	reg := loadDemo(t)
	frozen := time.Date(2025, 6, 3, 10, 0, 0, 0, engine.Shanghai)
	s := New(Options{Registry: reg, Seed: 1, IncidentRate: 1000, Clock: func() time.Time { return frozen }}, nil)
	for range 30000 {
		s.Next()
	}
	require.LessOrEqual(t, len(s.pending), maxPending)
}

// TestSchoolDayFromOptions: the simulated schools keep the school days that
// Options.SchoolDay gives (the rule set's calendar in the demo): no lunch
// samples and no screenings on a day it says is not one.
func TestSchoolDayFromOptions(t *testing.T) {
	reg := loadDemo(t)
	noon := time.Date(2025, 9, 1, 12, 0, 0, 0, engine.Shanghai) // a Monday in term
	schoolDayEvents := func(schoolDay func(time.Time) bool) int {
		s := New(Options{Registry: reg, Seed: 7, Clock: stepClock(noon, time.Second), SchoolDay: schoolDay}, nil)
		n := 0
		for range 3000 {
			_, _, value := s.Next()
			var ev struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(value, &ev) == nil && (ev.Type == "sample" || ev.Type == "screening") {
				n++
			}
		}
		return n
	}
	require.Positive(t, schoolDayEvents(nil), "the approximate calendar: a Monday in term is a school day")
	require.Zero(t, schoolDayEvents(func(time.Time) bool { return false }), "a day off by the calendar given")
}

// The values of a decoded event of a built-in source, by the names rules
// read them by.
func value(ev *engine.Event, name string) engine.Value {
	v, ok := event.Builtin().Value(ev, name)
	if !ok {
		panic("no field " + name + " in source " + string(ev.Source))
	}
	return v
}

func str(ev *engine.Event, name string) string    { return value(ev, name).Str() }
func num(ev *engine.Event, name string) float64   { return value(ev, name).Num() }
func boolean(ev *engine.Event, name string) bool  { return value(ev, name).Bool() }
func at(ev *engine.Event, name string) time.Time  { return value(ev, name).Time() }
func list(ev *engine.Event, name string) []string { return value(ev, name).List() }
