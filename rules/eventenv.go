package rules

import (
	"time"

	"github.com/expr-lang/expr/types"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

// The `event` of rule expressions, typed from the contract. A rule reads the
// events of one source, so its expressions are compiled against an `event`
// that has the envelope every event carries and exactly the names the
// source's declaration makes readable (event.Readable), each with the Go
// type of its kind: a misspelt or foreign field is a compile error with a
// suggestion, and a comparison of a number with a string a type error, as
// when the event was a Go struct. At run time the native forms read the
// values by slot (native_expr.go); the VM, for the few shapes that have no
// native form, reads a map of the same shape (eventMap).

// envelope lists the fields every event carries, with their types as
// expressions see them; the source is a plain string.
var envelope = []struct {
	name string
	typ  types.Type
}{
	{"id", types.String},
	{"school_id", types.String},
	{"source", types.String},
	{"type", types.String},
	{"occurred_at", types.TypeOf(time.Time{})},
	{"reporter", types.String},
}

// kindTypes are the Go types expressions see the values of each kind as.
var kindTypes = map[event.Kind]types.Type{
	event.KindString:  types.String,
	event.KindNumber:  types.Float64,
	event.KindInt:     types.Int,
	event.KindBool:    types.Bool,
	event.KindTime:    types.TypeOf(time.Time{}),
	event.KindDate:    types.TypeOf(time.Time{}),
	event.KindStrings: types.TypeOf([]string{}),
}

// eventType returns the type of `event` for the rules of src: the envelope
// and src's readables, nothing else. For a nil src (a rule whose source is
// not declared, already an error) any field is accepted, so that the
// expressions' other problems are still reported.
func eventType(src *event.Source) types.Map {
	m := types.Map{}
	for _, e := range envelope {
		m[e.name] = e.typ
	}
	if src == nil {
		m[types.Extra] = types.Any
		return m
	}
	for _, r := range src.Readables {
		if t, ok := kindTypes[r.Kind]; ok {
			m[r.Name] = t
		}
	}
	return m
}

// eventNames returns the names expressions read an event of src by, the
// envelope's first, for suggestions.
func eventNames(src *event.Source) []string {
	out := make([]string, 0, len(envelope)+8)
	for _, e := range envelope {
		out = append(out, e.name)
	}
	if src != nil {
		for _, r := range src.Readables {
			out = append(out, r.Name)
		}
	}
	return out
}

// ruleEnv returns the environment the expressions of a rule of src are
// compiled against. Its values give expr the types only.
func ruleEnv(src *event.Source) map[string]any {
	return map[string]any{
		"event":  eventType(src),
		"school": &engine.School{},
		"window": (*Aggregate)(nil),
	}
}

// slotValue returns the value of ev in slot, the zero Value (which reads as
// "", 0, false, the zero time or an empty list) when the slot holds none.
func slotValue(ev *engine.Event, slot int) engine.Value { return ev.Value(slot) }

// eventMap fills m with ev as the VM reads it, in the shape of eventType(src).
func eventMap(src *event.Source, ev *engine.Event, m map[string]any) {
	m["id"], m["school_id"], m["source"], m["type"] = ev.ID, ev.SchoolID, string(ev.Source), ev.Type
	m["occurred_at"], m["reporter"] = ev.OccurredAt, ev.Reporter
	if src == nil {
		return
	}
	for _, r := range src.Readables {
		v := slotValue(ev, r.Slot)
		switch r.Kind {
		case event.KindString:
			m[r.Name] = v.Str()
		case event.KindNumber:
			m[r.Name] = v.Num()
		case event.KindInt:
			m[r.Name] = v.Int()
		case event.KindBool:
			m[r.Name] = v.Bool()
		case event.KindTime, event.KindDate:
			m[r.Name] = v.Time()
		case event.KindStrings:
			m[r.Name] = v.List()
		}
	}
}

// vmEnv is the environment the VM runs a rule's program with, built only
// when a program without a native form runs, and kept for the other rules
// of the same event.
type vmEnv struct {
	env, event map[string]any
	// ev and src are what event was built from; nil ev: not built.
	ev  *engine.Event
	src *event.Source
}

// get returns the VM's environment for the frame's event, school and
// window, as read by the rules of src.
func (v *vmEnv) get(fr *Env, src *event.Source) map[string]any {
	if v.env == nil {
		v.env, v.event = make(map[string]any, 3), make(map[string]any, 16)
	}
	if v.ev != fr.Event || v.src != src {
		clear(v.event)
		eventMap(src, fr.Event, v.event)
		v.ev, v.src = fr.Event, src
	}
	v.env["event"], v.env["school"], v.env["window"] = v.event, fr.School, fr.Window
	return v.env
}

// reset forgets the event, so that the next get builds it again; the maps
// are kept for reuse.
func (v *vmEnv) reset() {
	if v.ev == nil {
		return // not built since the last reset: nothing to forget
	}
	clear(v.event)
	clear(v.env)
	v.ev, v.src = nil, nil
}
