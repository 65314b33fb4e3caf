package rules

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

// fields are an event's values by the names rules read them by.
type fields map[string]any

// newEvent returns an event of the built-in source src and type typ at at,
// with the values of fs set in the slots of their readables: strings,
// numbers (float64 or int), booleans, times and lists of strings, each as
// its declared kind holds it. It is the test's shortcut past the decoder.
func newEvent(t testing.TB, src engine.Source, typ string, at time.Time, fs fields) engine.Event {
	t.Helper()
	ev := engine.Event{Source: src, Type: typ, OccurredAt: at}
	for name, v := range fs {
		setField(t, &ev, name, v)
	}
	return ev
}

// setField sets the value rules read as name in ev, or an envelope field
// (id, school_id, reporter).
func setField(t testing.TB, ev *engine.Event, name string, v any) {
	t.Helper()
	switch name {
	case "id":
		ev.ID = v.(string)
		return
	case "school_id":
		ev.SchoolID = v.(string)
		return
	case "reporter":
		ev.Reporter = v.(string)
		return
	}
	src := event.Builtin().Source(ev.Source)
	require.NotNil(t, src, "source %q", ev.Source)
	r, ok := src.Readable(name)
	require.True(t, ok, "%s has no field %q that rules read", ev.Source, name)
	var val engine.Value
	switch r.Kind {
	case event.KindString:
		val = engine.StrValue(v.(string))
	case event.KindNumber:
		switch x := v.(type) {
		case int:
			val = engine.NumValue(float64(x))
		default:
			val = engine.NumValue(x.(float64))
		}
	case event.KindInt:
		val = engine.IntValue(int64(v.(int)))
	case event.KindBool:
		val = engine.BoolValue(v.(bool))
	case event.KindTime, event.KindDate:
		val = engine.TimeValue(v.(time.Time))
	case event.KindStrings:
		val = engine.ListValue(v.([]string))
	default:
		t.Fatalf("%s: kind %v", name, r.Kind)
	}
	ev.Set(r.Slot, val)
}
