package engine

import (
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"
)

// Source is the kind of system that reported an event; each has its own
// topic. Sources are declared as data (engine/event's Contract): the built-in
// ones below, and any a district adds.
type Source string

// The built-in sources.
const (
	SourceVisitor  Source = "visitor"  // 外来人员身份识别
	SourceCanteen  Source = "canteen"  // 明厨亮灶 / 智慧食堂
	SourceDrowning Source = "drowning" // 防溺水
	SourceBullying Source = "bullying" // 校园欺凌
)

// Event is one validated report: the envelope every event carries, and the
// values of its source's declared fields by slot (the order of the source's
// declaration, see engine/event). Rules see it as `event`, with the field
// names of the contract (docs/events.md).
//
// A personal field declared `hash` is never held in clear: its slot holds
// the keyed hash and a second slot the masked form; PersonHash is the hash
// of the first such field, stored in its own column so that a person's
// events can be found and erased.
type Event struct {
	// Envelope.
	ID         string    `expr:"id"`
	SchoolID   string    `expr:"school_id"`
	Source     Source    `expr:"source"`
	Type       string    `expr:"type"`
	OccurredAt time.Time `expr:"occurred_at"`
	Reporter   string    `expr:"reporter"`

	// Present has bit i set when slot i of the source's fields holds a
	// value; Values holds those values, in slot order (use Value and Set).
	Values  []Value `expr:"-"`
	Present uint64  `expr:"-"`

	// PersonHash is the keyed hash of the event's person (the first field
	// declared personal: hash), or empty.
	PersonHash string `expr:"-"`

	// AlarmID is the vendor platform's id of the alarm the event reports
	// (alarm types) or disposes of (a disposition event), or empty.
	AlarmID string `expr:"-"`
	// Disposition is, for a disposition event, the outcome of the human
	// check of alarm AlarmID: one of the Disposition values.
	Disposition Disposition `expr:"-"`

	// Payload is the event as stored: the producer's JSON with personal
	// fields hashed, masked or dropped and unknown fields left out.
	Payload []byte `expr:"-"`
	// Origin is where the event was read from; zero for events not read from Kafka.
	Origin Origin `expr:"-"`
}

// MaxSlots bounds the fields a source declares (with the slots of hashed
// fields' masked forms): Present is one word.
const MaxSlots = 64

// Value is one field's value. Which accessor applies is the field's
// declared type: Str for strings, Num for numbers, Int for integers, Bool,
// Time for times and dates, List for lists of strings.
type Value struct {
	s string
	n uint64
}

// StrValue is the Value of a string. NumValue, IntValue, BoolValue,
// TimeValue and ListValue make the Value of a field of their type.
func StrValue(s string) Value { return Value{s: s} }

// NumValue is the Value of a number.
func NumValue(f float64) Value { return Value{n: math.Float64bits(f)} }

// IntValue is the Value of an integer.
func IntValue(i int64) Value { return Value{n: uint64(i)} }

// BoolValue is the Value of a boolean.
func BoolValue(b bool) Value {
	if b {
		return Value{n: 1}
	}
	return Value{}
}

// TimeValue is the Value of a time or date; the zero time is kept as zero.
func TimeValue(t time.Time) Value {
	if t.IsZero() {
		return Value{}
	}
	return Value{n: uint64(t.UnixNano())}
}

// listSep separates the elements of a list in one string; the decoder
// refuses elements holding it.
const listSep = "\x00"

// ListValue is the Value of a list of strings, none of which may hold a NUL.
func ListValue(l []string) Value { return Value{s: strings.Join(l, listSep), n: uint64(len(l))} }

// JoinedListValue is the Value of a list of n strings already joined by NUL
// bytes.
func JoinedListValue(joined string, n int) Value { return Value{s: joined, n: uint64(n)} }

// Str returns a string value.
func (v Value) Str() string { return v.s }

// Num returns a number value.
func (v Value) Num() float64 { return math.Float64frombits(v.n) }

// Int returns an integer value.
func (v Value) Int() int { return int(int64(v.n)) }

// Bool returns a boolean value.
func (v Value) Bool() bool { return v.n != 0 }

// Time returns a time or date value, in Asia/Shanghai; zero when unset.
func (v Value) Time() time.Time {
	if v.n == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(v.n)).In(Shanghai)
}

// List returns a list value (a new slice).
func (v Value) List() []string {
	if v.n == 0 {
		return []string{}
	}
	return strings.SplitN(v.s, listSep, int(v.n))
}

// Len returns the length of a list value.
func (v Value) Len() int { return int(v.n) }

// Has reports whether slot holds a value.
func (e *Event) Has(slot int) bool { return slot < MaxSlots && e.Present&(1<<uint(slot)) != 0 }

// index returns where the value of slot, which Present holds, is in Values:
// Values holds only the slots that have a value, in slot order.
func (e *Event) index(slot int) int {
	return bits.OnesCount64(e.Present & (1<<uint(slot) - 1))
}

// Value returns the value in slot, zero when absent.
func (e *Event) Value(slot int) Value {
	if !e.Has(slot) {
		return Value{}
	}
	if i := e.index(slot); i < len(e.Values) {
		return e.Values[i]
	}
	return Value{}
}

// Slot returns where the value of slot is held, for a decoder that fills
// the values of an event whose Present is already set, with Values of
// its length; nil when slot holds no value.
func (e *Event) Slot(slot int) *Value {
	if !e.Has(slot) {
		return nil
	}
	return &e.Values[e.index(slot)]
}

// Set sets slot to v, inserting it in Values when the slot held no value.
func (e *Event) Set(slot int, v Value) {
	if e.Has(slot) {
		e.Values[e.index(slot)] = v
		return
	}
	e.Present |= 1 << uint(slot)
	i := e.index(slot)
	e.Values = slices.Insert(slices.Clip(e.Values), i, v)
}

// Disposition is the outcome of a human check of a machine detection.
type Disposition string

// Dispositions.
const (
	// DispositionConfirmed: the detection is real; a pending risk takes
	// its full level.
	DispositionConfirmed Disposition = "confirmed"
	// DispositionFalseAlarm: the detection is false (误报); the risk ends
	// and is counted.
	DispositionFalseAlarm Disposition = "false_alarm"
	// DispositionHandled: the alarm was dealt with on site; the risk ends.
	DispositionHandled Disposition = "handled"
)

// Dispositions lists the dispositions in a fixed order.
var Dispositions = []Disposition{DispositionConfirmed, DispositionFalseAlarm, DispositionHandled}

// Origin is the Kafka position an event was read from.
type Origin struct {
	Topic     string
	Partition int
	Offset    int64
}

// StrPtr returns where a string value is held, for a decoder that fills it
// in place.
func (v *Value) StrPtr() *string { return &v.s }
