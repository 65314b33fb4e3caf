package event_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

func newDecoder(t testing.TB) *event.Decoder {
	reg, err := engine.NewRegistry([]engine.School{{ID: "S1", Name: "一小", District: "南湖区"}})
	require.NoError(t, err)
	id, err := event.NewIdentity([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	return &event.Decoder{Registry: func() *engine.Registry { return reg }, Identity: id}
}

// get returns the value rules read as name in ev.
func get(t testing.TB, ev *engine.Event, name string) engine.Value {
	t.Helper()
	v, ok := event.Builtin().Value(ev, name)
	require.True(t, ok, "%s declares no %s", ev.Source, name)
	return v
}

const visitorEntry = `{"id":"v1","school_id":"S1","source":"visitor","type":"entry","occurred_at":"2026-11-02T09:00:00.250+08:00",
"visitor_id":"33040219800101123x","name":"张三丰","id_verified":true,"watchlist":"blacklist","gate":"东门","badge":"B-7"}`

func TestDecodeVisitorNeverKeepsTheIDNumber(t *testing.T) {
	d := newDecoder(t)
	var ev engine.Event
	require.NoError(t, d.Decode(engine.SourceVisitor, []byte(visitorEntry), &ev))
	require.Equal(t, "3304**********123X", get(t, &ev, "visitor_masked").Str())
	require.Len(t, ev.PersonHash, 32)
	require.Equal(t, ev.PersonHash, get(t, &ev, "visitor_hash").Str())
	require.Equal(t, "张**", get(t, &ev, "name").Str())
	require.Equal(t, "blacklist", get(t, &ev, "watchlist").Str())
	require.Equal(t, 250, ev.OccurredAt.Nanosecond()/1e6)
	require.NotContains(t, strings.ToUpper(string(ev.Payload)), "33040219800101123X")
	require.NotContains(t, string(ev.Payload), "张三丰")

	var stored map[string]any
	require.NoError(t, json.Unmarshal(ev.Payload, &stored))
	require.NotContains(t, stored, "badge", "unknown extra fields are dropped")
	require.Equal(t, ev.PersonHash, stored["visitor_hash"])

	// The stored form decodes to the same event.
	var back engine.Event
	require.NoError(t, d.DecodeStored(ev.Payload, &back))
	back.Payload, ev.Payload = nil, nil
	require.Equal(t, ev, back)

	// The same person hashes the same, whatever the case of the check letter.
	var ev2 engine.Event
	require.NoError(t, d.Decode("", []byte(strings.Replace(visitorEntry, "123x", "123X", 1)), &ev2))
	require.Equal(t, ev.PersonHash, ev2.PersonHash)
}

func TestDecodeRejections(t *testing.T) {
	d := newDecoder(t)
	base := map[string]any{"id": "c1", "school_id": "S1", "source": "canteen", "type": "storage_temp",
		"occurred_at": "2026-11-02T09:00:00+08:00", "device": "F1", "celsius": 9.5, "zone": "fridge"}
	with := func(k string, v any) string {
		m := map[string]any{}
		for a, b := range base {
			m[a] = b
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	tests := []struct {
		name     string
		topic    engine.Source
		msg      string
		reason   event.Reason
		contains string
	}{
		{name: "valid", topic: engine.SourceCanteen, msg: with("x", nil)},
		{name: "not JSON", topic: engine.SourceCanteen, msg: "hello", reason: event.ReasonNotJSON},
		{name: "JSON array", topic: engine.SourceCanteen, msg: "[1,2]", reason: event.ReasonNotJSON},
		{name: "missing id", topic: engine.SourceCanteen, msg: with("id", nil), reason: event.ReasonMissingField, contains: "id"},
		{name: "missing type field", topic: engine.SourceCanteen, msg: with("celsius", nil), reason: event.ReasonMissingField, contains: "celsius: required for canteen storage_temp"},
		{name: "wrong type", topic: engine.SourceCanteen, msg: with("celsius", "hot"), reason: event.ReasonWrongType, contains: "celsius"},
		{name: "unknown type", topic: engine.SourceCanteen, msg: with("type", "dinner"), reason: event.ReasonUnknownType, contains: "ai_violation"},
		{name: "bad enum", topic: engine.SourceCanteen, msg: with("zone", "cellar"), reason: event.ReasonBadValue, contains: "fridge, freezer"},
		{name: "bad time", topic: engine.SourceCanteen, msg: with("occurred_at", "yesterday"), reason: event.ReasonBadValue, contains: "not a time"},
		{name: "source mismatch", topic: engine.SourceVisitor, msg: with("x", nil), reason: event.ReasonSourceMismatch},
		{name: "unknown source", topic: "", msg: with("source", "library"), reason: event.ReasonBadValue},
		{name: "unknown school", topic: engine.SourceCanteen, msg: with("school_id", "S9"), reason: event.ReasonUnknownSchool, contains: "S9"},
		{name: "empty id", topic: engine.SourceCanteen, msg: with("id", ""), reason: event.ReasonBadValue},
		{name: "fractional persons", topic: engine.SourceDrowning, reason: event.ReasonBadValue,
			msg: `{"id":"d","school_id":"S1","source":"drowning","type":"fence_intrusion","occurred_at":"2026-11-02T09:00:00Z","water_body":"南湖","minors":true,"persons":1.5}`},
		{name: "suspect refs not a list", topic: engine.SourceBullying, reason: event.ReasonWrongType, contains: "suspect_refs",
			msg: `{"id":"b","school_id":"S1","source":"bullying","type":"report","occurred_at":"2026-11-02T09:00:00Z","channel":"teacher","victim_ref":"S-1","kind":"verbal","injury":false,"suspect_refs":"S-2"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev engine.Event
			err := d.Decode(tt.topic, []byte(tt.msg), &ev)
			if tt.reason == "" {
				require.NoError(t, err)
				return
			}
			var de *event.DecodeError
			require.ErrorAs(t, err, &de)
			require.Equal(t, tt.reason, de.Reason)
			require.Contains(t, de.Error(), tt.contains)
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(visitorEntry))
	f.Add([]byte(`{"id":"b","school_id":"S1","source":"bullying","type":"report","occurred_at":"2026-11-02T09:00:00Z","channel":"teacher","victim_ref":"S-1","kind":"verbal","injury":false,"suspect_refs":["S-2"]}`))
	f.Add([]byte(`{"id":"c","school_id":"S1","source":"canteen","type":"supplier_cert","occurred_at":"2026-11-02T09:00:00Z","supplier":"x","expires_on":"2026-12-01"}`))
	d := newDecoder(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev engine.Event
		err := d.Decode("", data, &ev)
		if err != nil {
			var de *event.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error is not a DecodeError: %v", err)
			}
			return
		}
		if ev.ID == "" || ev.SchoolID != "S1" || ev.OccurredAt.IsZero() {
			t.Fatalf("accepted an event without its envelope: %+v", ev)
		}
		// What was stored decodes again.
		var back engine.Event
		if err := d.DecodeStored(ev.Payload, &back); err != nil {
			t.Fatalf("stored payload does not decode: %v\n%s", err, ev.Payload)
		}
	})
}
