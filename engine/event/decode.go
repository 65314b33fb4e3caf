package event

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

// Reason classifies why an event was rejected. It is a fixed set, used as a
// metric label and as the dead-letter header, so it never carries free text.
type Reason string

// Rejection reasons.
const (
	ReasonNotJSON        Reason = "not_json"
	ReasonMissingField   Reason = "missing_field"
	ReasonWrongType      Reason = "wrong_type"
	ReasonBadValue       Reason = "bad_value"
	ReasonUnknownType    Reason = "unknown_type"
	ReasonSourceMismatch Reason = "source_mismatch"
	ReasonUnknownSchool  Reason = "unknown_school"
	// ReasonTooLarge: the message is longer than Limits.MaxMessageBytes.
	ReasonTooLarge Reason = "too_large"
	// ReasonTooLong: a string of the contract is longer than
	// Limits.MaxStringBytes.
	ReasonTooLong Reason = "too_long"
	// ReasonTimeOutOfRange: occurred_at is further in the past than
	// Limits.MaxAge or further ahead than Limits.MaxAhead.
	ReasonTimeOutOfRange Reason = "time_out_of_range"
)

// Reasons lists every rejection reason, for pre-declaring metric series.
var Reasons = []Reason{ReasonNotJSON, ReasonMissingField, ReasonWrongType, ReasonBadValue,
	ReasonUnknownType, ReasonSourceMismatch, ReasonUnknownSchool, ReasonTooLarge, ReasonTooLong, ReasonTimeOutOfRange}

// DecodeError says why an event was rejected, in a form fit for the
// dead-letter topic: a fixed Reason and a message naming the field.
type DecodeError struct {
	Reason Reason
	Field  string
	Msg    string
}

// Error returns the reason, the field and the message, with any ID-card or
// mobile number the message quotes masked (see MaskText): it goes into the
// dead-letter headers and the logs.
func (e *DecodeError) Error() string {
	if e.Field != "" {
		return MaskText(fmt.Sprintf("%s: %s: %s", e.Reason, e.Field, e.Msg))
	}
	return MaskText(fmt.Sprintf("%s: %s", e.Reason, e.Msg))
}

// MaxIDLength bounds the id and school_id fields.
const MaxIDLength = 256

// Limits bound what Decode accepts, so that one producer cannot fill the
// store with large values or, with a wrong clock, spread one insert over
// hundreds of partitions. A zero field sets no limit; DefaultLimits are
// what Sanse runs with unless configured otherwise. DecodeStored applies
// none: stored events passed them when they arrived.
type Limits struct {
	// MaxMessageBytes bounds the whole message (reason too_large).
	MaxMessageBytes int `yaml:"max_message_bytes"`
	// MaxStringBytes bounds every string of the contract, each element of
	// suspect_refs included (reason too_long); unknown fields are dropped
	// whatever their length.
	MaxStringBytes int `yaml:"max_string_bytes"`
	// MaxAge and MaxAhead bound occurred_at around the time of decoding
	// (reason time_out_of_range).
	MaxAge   time.Duration `yaml:"max_age"`
	MaxAhead time.Duration `yaml:"max_ahead"`
}

// DefaultLimits are the limits Sanse runs with: 64 KiB messages (real
// events are well under 1 KiB), 1 KiB strings, events at most 30 days old
// (a device that was offline for a month is still heard) and at most 10
// minutes ahead (clock drift).
var DefaultLimits = Limits{MaxMessageBytes: 64 << 10, MaxStringBytes: 1 << 10, MaxAge: 30 * 24 * time.Hour, MaxAhead: 10 * time.Minute}

// OrDefaults returns l with every zero field set from DefaultLimits and
// every negative one set to zero (no limit): the form configuration uses.
func (l Limits) OrDefaults() Limits {
	pick := func(v, def int64) int64 {
		switch {
		case v == 0:
			return def
		case v < 0:
			return 0
		}
		return v
	}
	return Limits{
		MaxMessageBytes: int(pick(int64(l.MaxMessageBytes), int64(DefaultLimits.MaxMessageBytes))),
		MaxStringBytes:  int(pick(int64(l.MaxStringBytes), int64(DefaultLimits.MaxStringBytes))),
		MaxAge:          time.Duration(pick(int64(l.MaxAge), int64(DefaultLimits.MaxAge))),
		MaxAhead:        time.Duration(pick(int64(l.MaxAhead), int64(DefaultLimits.MaxAhead))),
	}
}

// Decoder validates raw events against the event contract (the sources'
// declarations, docs/events.md) and the school registry. It is safe for
// concurrent use.
type Decoder struct {
	// Contract is the declared sources; nil is Builtin().
	Contract *Contract
	// Registry returns the current school registry; it is called once per
	// event. A registry is indexed the first time it is returned, so it
	// should return the same *Registry until the registry changes.
	Registry func() *engine.Registry
	// Identity hashes fields declared personal: hash (and ids that hold a
	// personal number).
	Identity *Identity
	// Dropped, when not nil, is called by Decode for every member of an
	// accepted event that is not in the contract, and so is left out of
	// the stored payload, with the event's source and the member's key as
	// sent (JSON escapes included; valid only during the call). It must be
	// safe for concurrent use and must not block.
	Dropped func(src engine.Source, key []byte)
	// Limits bound what Decode accepts; the zero value sets none.
	Limits Limits
	// Location is the time zone of times sent without one
	// (2026-11-25 09:12:00); nil is Asia/Shanghai.
	Location *time.Location
	// Now returns the time occurred_at is checked against; nil is time.Now.
	Now func() time.Time
}

func (d *Decoder) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Decoder) contract() *Contract {
	if d.Contract != nil {
		return d.Contract
	}
	return builtin
}

func (d *Decoder) location() *time.Location {
	if d.Location != nil {
		return d.Location
	}
	return engine.Shanghai
}

// checkTime returns the error of an event that occurred at, outside the
// Limits around now.
func (d *Decoder) checkTime(at time.Time) error {
	if d.Limits.MaxAge <= 0 && d.Limits.MaxAhead <= 0 {
		return nil
	}
	now := d.now()
	if d.Limits.MaxAge > 0 && at.Before(now.Add(-d.Limits.MaxAge)) {
		return &DecodeError{Reason: ReasonTimeOutOfRange, Field: "occurred_at", Msg: fmt.Sprintf("more than %s before the time of reading", d.Limits.MaxAge)}
	}
	if d.Limits.MaxAhead > 0 && at.After(now.Add(d.Limits.MaxAhead)) {
		return &DecodeError{Reason: ReasonTimeOutOfRange, Field: "occurred_at", Msg: fmt.Sprintf("more than %s after the time of reading", d.Limits.MaxAhead)}
	}
	return nil
}

func tooLarge(n, limit int) error {
	return &DecodeError{Reason: ReasonTooLarge, Msg: fmt.Sprintf("the message is %d bytes, at most %d are accepted", n, limit)}
}

func tooLong(f string, n, limit int) error {
	return &DecodeError{Reason: ReasonTooLong, Field: f, Msg: fmt.Sprintf("%d bytes, at most %d are accepted", n, limit)}
}

// Decode validates data as an event read from the topic of source expected
// (empty: any source) and fills ev. ev is reset first. On failure the error is
// a *DecodeError and ev must not be used.
//
// Field names match exactly: "ID" is an unknown field, not the id. Strings in
// ev do not share memory with data, but ev.Payload may be data itself, so data
// must not be modified while ev is in use.
func (d *Decoder) Decode(expected engine.Source, data []byte, ev *engine.Event) error {
	return d.decode(expected, data, ev, false)
}

// DecodeStored rebuilds an event from the payload that Decode stored: its
// personal fields are already hashed and masked there.
func (d *Decoder) DecodeStored(data []byte, ev *engine.Event) error {
	return d.decode("", data, ev, true)
}

// wants names what a field's kind expects, as error messages say it.
var wants = [...]string{
	KindString:  "a string",
	KindNumber:  "a number",
	KindInt:     "a whole number",
	KindBool:    "a boolean (true or false)",
	KindTime:    "a time (RFC 3339, 2006-01-02 15:04:05, or epoch milliseconds)",
	KindDate:    "a date (2006-01-02, or a time)",
	KindStrings: "an array of strings",
}

func wrongType(name string, got byte, k Kind) error {
	return &DecodeError{Reason: ReasonWrongType, Field: name, Msg: fmt.Sprintf("got a JSON %s, expected %s", jsonNames[got], wants[k])}
}

// envelopeOrder lists the envelope's required fields in the order they are checked.
var envelopeOrder = [...]int{envID, envSchoolID, envSource, envType, envOccurredAt}

// decode runs in three steps: one pass over the message records every
// top-level member (parser), the checks of the contract run on those
// records in a fixed order, and only an accepted event gets its strings
// copied, all into one allocation.
func (d *Decoder) decode(expected engine.Source, data []byte, ev *engine.Event, stored bool) error {
	if limit := d.Limits.MaxMessageBytes; limit > 0 && len(data) > limit && !stored {
		return tooLarge(len(data), limit)
	}
	// Not deferred: with as many returns as decodeWith has, a deferred
	// call costs more than the rest of the bookkeeping. A parser lost to
	// a panic is only one the pool makes again.
	p := newParser(data)
	err := d.decodeWith(p, expected, ev, stored)
	p.release()
	return err
}

// decodeWith is decode with p, a parser of the message.
func (d *Decoder) decodeWith(p *parser, expected engine.Source, ev *engine.Event, stored bool) error {
	data := p.data
	if err := p.parse(); err != nil {
		return err
	}
	*ev = engine.Event{}
	// Envelope: present, strings (occurred_at may be epoch milliseconds), not empty.
	for _, e := range envelopeOrder {
		i := p.env[e]
		if i < 0 || p.members[i].typ == jNull {
			return &DecodeError{Reason: ReasonMissingField, Field: envelopeNames[e], Msg: "required field is missing"}
		}
		m := &p.members[i]
		if m.typ != jString && !(e == envOccurredAt && m.typ == jNumber) {
			k := KindString
			if e == envOccurredAt {
				k = KindTime
			}
			return wrongType(envelopeNames[e], m.typ, k)
		}
		if m.typ == jString && m.val.end == m.val.off {
			return &DecodeError{Reason: ReasonBadValue, Field: envelopeNames[e], Msg: "must not be empty"}
		}
	}
	if i := p.env[envReporter]; i >= 0 && p.members[i].typ != jString && p.members[i].typ != jNull {
		return wrongType("reporter", p.members[i].typ, KindString)
	}
	if !stored {
		for _, e := range [...]int{envID, envSchoolID, envReporter} {
			if i := p.env[e]; i >= 0 {
				p.markPII(&p.members[i])
			}
		}
		// A time that parses holds a number MaskText masks only in a long
		// fraction of a second (or as epoch milliseconds with more digits
		// than a time has): look only then.
		if m := &p.members[p.env[envOccurredAt]]; m.typ != jString || longFraction(p.bytes(m.val)) {
			p.markPII(m)
		}
	}
	id, school := p.envText(envID), p.envText(envSchoolID)
	if len(id) > MaxIDLength || len(school) > MaxIDLength {
		return &DecodeError{Reason: ReasonBadValue, Field: "id", Msg: fmt.Sprintf("id and school_id must be at most %d bytes", MaxIDLength)}
	}
	c := d.contract()
	src := c.find(p.envText(envSource))
	if src == nil {
		return &DecodeError{Reason: ReasonBadValue, Field: "source", Msg: fmt.Sprintf("unknown source %q, expected one of %s", p.envText(envSource), c.namesText())}
	}
	if expected != "" && src.Name != expected {
		return &DecodeError{Reason: ReasonSourceMismatch, Field: "source", Msg: fmt.Sprintf("source %q does not match the topic's source %q", src.Name, expected)}
	}
	typ := src.findType(p.envText(envType))
	if typ == nil {
		return &DecodeError{Reason: ReasonUnknownType, Field: "type", Msg: fmt.Sprintf("unknown %s type %q, expected one of %s", src.Name, p.envText(envType), strings.Join(src.TypeNames(), ", "))}
	}
	at, err := d.parseTime(&p.members[p.env[envOccurredAt]], p, KindTime)
	if err != nil {
		return &DecodeError{Reason: ReasonBadValue, Field: "occurred_at", Msg: err.Error()}
	}
	if !stored {
		if err := d.checkTime(at); err != nil {
			return err
		}
	}
	// Source and Type are the declaration's: they share no memory with data.
	ev.Source, ev.Type, ev.OccurredAt = src.Name, typ.Name, at
	p.src = src

	// Resolve the members to the source's fields and check their JSON types,
	// in the order they were sent; present gathers the slots that will
	// hold a value.
	var present uint64
	for i := range p.members {
		m := &p.members[i]
		if m.env >= 0 {
			continue
		}
		key := transient(p.bytes(m.key))
		f := src.keys.find(key)
		if f == nil && stored {
			f = src.storedHash(key)
		}
		if f == nil {
			continue
		}
		m.fi = int16(f.index + 1)
		if m.typ == jNull || m.dup {
			continue
		}
		if !stored || f.Personal != PersonalHash || key != f.Name {
			p.seen |= 1 << uint(f.Slot)
		}
		switch {
		case f.Personal == PersonalDrop:
		case f.Personal != PersonalHash:
			present |= 1 << uint(f.Slot)
		case !stored:
			present |= 1<<uint(f.Slot) | 1<<uint(f.MaskedSlot)
		case key == f.Name:
			present |= 1 << uint(f.MaskedSlot)
		default:
			present |= 1 << uint(f.Slot)
		}
		if !stored && f.Personal == NotPersonal && len(f.Values) == 0 {
			p.markPII(m)
		}
		if err := p.checkJSONType(f, m); err != nil {
			return err
		}
	}
	// Required fields, in the order of the type's declaration.
	for _, f := range typ.Required {
		if p.seen&(1<<uint(f.Slot)) == 0 {
			return &DecodeError{Reason: ReasonMissingField, Field: f.Name, Msg: fmt.Sprintf("required for %s %s", src.Name, typ.Name)}
		}
	}
	// Lengths and values.
	strLimit := 0
	if !stored {
		strLimit = d.Limits.MaxStringBytes
	}
	if strLimit > 0 {
		for _, e := range [...]int{envID, envSchoolID, envSource, envType, envOccurredAt, envReporter} {
			if n := len(p.envText(e)); n > strLimit {
				return tooLong(envelopeNames[e], n, strLimit)
			}
		}
	}
	present |= src.defaultSlots
	ev.Present = present
	ev.Values = p.values(bits.OnesCount64(present))
	for i := range p.members {
		m := &p.members[i]
		f := p.fieldOf(m)
		if f == nil || m.typ == jNull || m.dup {
			continue
		}
		if err := d.fieldValue(p, src, f, m, ev, strLimit, stored); err != nil {
			return err
		}
	}
	for _, f := range src.defaults {
		if p.seen&(1<<uint(f.Slot)) == 0 {
			*ev.Slot(f.Slot) = engine.StrValue(f.Default)
		}
	}

	if d.Registry != nil {
		var found bool
		if reg := d.Registry(); reg != nil {
			// The registry's copy: no allocation, nothing kept from data.
			ev.SchoolID, found = indexOf(reg).school(school)
		}
		if !found {
			return &DecodeError{Reason: ReasonUnknownSchool, Field: "school_id", Msg: fmt.Sprintf("school %q is not in the registry", school)}
		}
	} else {
		p.keep(&ev.SchoolID, school)
	}
	// An id that holds what looks like a personal number (or an id whose
	// hex timestamp happens to look like one) is kept as its keyed hash:
	// stable, so that the same id is still stored once, but not readable.
	var idHash []byte
	if !stored && p.members[p.env[envID]].pii {
		if d.Identity == nil {
			return personalNumber("id")
		}
		idHash = []byte(HashedIDPrefix + d.Identity.HashText(string(id)))
	}
	if !stored {
		// Personal numbers where they cannot be masked without changing
		// what the event says: times and numbers.
		if p.members[p.env[envOccurredAt]].pii {
			return personalNumber("occurred_at")
		}
		for i := range p.members {
			m := &p.members[i]
			if f := p.fieldOf(m); f != nil && m.pii && m.typ != jNull && f.Kind != KindString && f.Kind != KindStrings {
				return personalNumber(f.Name)
			}
		}
	}
	if idHash != nil {
		ev.ID = string(idHash)
	} else {
		ev.ID = string(id) // alone, as the engine keeps ids long after the rest
	}
	// An anonymous report stays anonymous: whoever the device or app says
	// sent it is not kept.
	anonymous := false
	if af := src.AnonymousField; af != nil && p.env[envReporter] >= 0 && p.members[p.env[envReporter]].typ == jString {
		anonymous = string(p.envText(envReporter)) == Anonymous ||
			(ev.Has(af.Slot) && slices.Contains(src.AnonymousValues, ev.Value(af.Slot).Str()))
	}
	switch {
	case anonymous:
		ev.Reporter = Anonymous
	case p.env[envReporter] >= 0:
		r := p.envText(envReporter)
		if p.members[p.env[envReporter]].pii {
			r = p.masked(r)
		}
		p.keep(&ev.Reporter, r)
	}
	if stored {
		ev.Payload = data
	} else {
		ev.Payload = p.payload(src, anonymous, idHash)
	}
	if d.Dropped != nil && !stored {
		for i := range p.members {
			if m := &p.members[i]; m.env < 0 && m.fi == 0 && !m.dup {
				d.Dropped(src.Name, p.data[m.keyStart:m.keyEnd])
			}
		}
	}
	p.commit()
	if src.alarm != nil && ev.Has(src.alarm.Slot) {
		ev.AlarmID = ev.Value(src.alarm.Slot).Str()
	}
	if typ.Disposition {
		ev.Disposition = engine.Disposition(ev.Value(src.state.Slot).Str())
	}
	return nil
}

// envText returns the string value of envelope field e, nil if absent.
func (p *parser) envText(e int) []byte {
	i := p.env[e]
	if i < 0 || p.members[i].typ != jString {
		return nil
	}
	return p.bytes(p.members[i].val)
}

// storedHash returns the hashed field whose hash a stored payload keeps
// under key, or nil.
func (s *Source) storedHash(key string) *Field {
	for _, f := range s.Fields {
		if f.Personal == PersonalHash && f.HashAs == key {
			return f
		}
	}
	return nil
}

// checkJSONType returns the error of a member whose JSON type does not fit f.
func (p *parser) checkJSONType(f *Field, m *member) error {
	ok := false
	switch f.Kind {
	case KindString:
		ok = m.typ == jString
	case KindNumber, KindInt:
		ok = m.typ == jNumber
	case KindBool:
		ok = m.typ == jTrue || m.typ == jFalse
	case KindTime, KindDate:
		ok = m.typ == jString || m.typ == jNumber
	case KindStrings:
		if m.typ == jArray && m.elemBad != 0 {
			return &DecodeError{Reason: ReasonWrongType, Field: f.Name, Msg: fmt.Sprintf("got an array holding a JSON %s, expected %s", jsonNames[m.elemBad], wants[f.Kind])}
		}
		ok = m.typ == jArray
	}
	if !ok {
		return wrongType(f.Name, m.typ, f.Kind)
	}
	if m.typ == jNumber && !m.numOK {
		return &DecodeError{Reason: ReasonWrongType, Field: f.Name, Msg: fmt.Sprintf("number %s is out of range", p.data[m.start:m.end])}
	}
	return nil
}

// fieldValue checks the value of member m, declared as f, and sets it in ev.
func (d *Decoder) fieldValue(p *parser, src *Source, f *Field, m *member, ev *engine.Event, strLimit int, stored bool) error {
	limit := f.MaxLen
	if strLimit > 0 && (limit == 0 || strLimit < limit) {
		limit = strLimit
	}
	slot := f.Slot
	if f.Personal == PersonalDrop {
		// Checked, never kept (a string: personal applies to strings).
		v := p.bytes(m.val)
		if limit > 0 && len(v) > limit {
			return tooLong(f.Name, len(v), limit)
		}
		if len(f.Values) > 0 && intern(f.Values, v) == "" {
			return &DecodeError{Reason: ReasonBadValue, Field: f.Name, Msg: fmt.Sprintf("unknown value %q, expected one of %s", v, strings.Join(f.Values, ", "))}
		}
		return nil
	}
	switch f.Kind {
	case KindString:
		v := p.bytes(m.val)
		if limit > 0 && len(v) > limit {
			return tooLong(f.Name, len(v), limit)
		}
		if len(f.Values) > 0 {
			c := intern(f.Values, v)
			if c == "" {
				return &DecodeError{Reason: ReasonBadValue, Field: f.Name, Msg: fmt.Sprintf("unknown value %q, expected one of %s", v, strings.Join(f.Values, ", "))}
			}
			*ev.Slot(slot) = engine.StrValue(c)
			break
		}
		switch {
		case stored && f.Personal == PersonalHash:
			// The payload holds the masked form under the name and the
			// hash under HashAs.
			if string(p.bytes(m.key)) == f.Name {
				slot = f.MaskedSlot
			} else if src.personFirst() == f {
				p.keep(&ev.PersonHash, v)
			}
			p.keep(ev.Slot(slot).StrPtr(), v)
		case stored || f.Personal == NotPersonal:
			if m.pii {
				v = p.masked(v)
			}
			p.keep(ev.Slot(slot).StrPtr(), v)
		case f.Personal == PersonalMask:
			rep := p.maskPersonal(v)
			m.rep = p.spanOf(rep)
			p.keep(ev.Slot(slot).StrPtr(), rep)
		case f.Personal == PersonalHash:
			if d.Identity == nil {
				return errors.New("decoder has no identity key for the personal fields of " + string(src.Name))
			}
			hash := p.hashID(d.Identity, v)
			m.hash = p.spanOf(hash)
			rep := p.maskID(v)
			m.rep = p.spanOf(rep)
			p.keep(ev.Slot(f.Slot).StrPtr(), hash)
			p.keep(ev.Slot(f.MaskedSlot).StrPtr(), rep)
			if src.personFirst() == f {
				p.keep(&ev.PersonHash, hash)
			}
		}
	case KindNumber:
		*ev.Slot(slot) = engine.NumValue(m.num)
	case KindInt:
		if m.num != math.Trunc(m.num) || math.Abs(m.num) > 1<<53 {
			return &DecodeError{Reason: ReasonBadValue, Field: f.Name, Msg: "must be a whole number"}
		}
		*ev.Slot(slot) = engine.IntValue(int64(m.num))
	case KindBool:
		*ev.Slot(slot) = engine.BoolValue(m.typ == jTrue)
	case KindTime, KindDate:
		t, err := d.parseTime(m, p, f.Kind)
		if err != nil {
			return &DecodeError{Reason: ReasonBadValue, Field: f.Name, Msg: err.Error()}
		}
		*ev.Slot(slot) = engine.TimeValue(t)
	case KindStrings:
		elems := p.elems[m.elemStart:m.elemEnd]
		var joined []byte
		for i, t := range elems {
			v := p.bytes(t)
			if limit > 0 && len(v) > limit {
				return tooLong(f.Name, len(v), limit)
			}
			if bytes.IndexByte(v, 0) >= 0 {
				return &DecodeError{Reason: ReasonBadValue, Field: f.Name, Msg: "an element holds a NUL character"}
			}
			if len(f.Values) > 0 && intern(f.Values, v) == "" {
				return &DecodeError{Reason: ReasonBadValue, Field: f.Name, Msg: fmt.Sprintf("unknown value %q, expected one of %s", v, strings.Join(f.Values, ", "))}
			}
			if i > 0 {
				joined = append(joined, 0)
			}
			if m.pii {
				v = p.masked(v)
			}
			joined = append(joined, v...)
		}
		*ev.Slot(slot) = engine.JoinedListValue("", len(elems))
		p.keep(ev.Slot(slot).StrPtr(), joined)
	}
	return nil
}

// maskPersonal returns the masked form of a field declared personal: mask:
// an identity or phone number (a value with digits) keeps its first and
// last four characters, anything else its first character (a name).
func (p *parser) maskPersonal(v []byte) []byte {
	for _, c := range v {
		if isDigit(c) {
			return p.maskID(v)
		}
	}
	return p.maskName(v)
}

// personFirst returns the source's first hashed field, whose hash is the
// event's PersonHash, or nil.
func (s *Source) personFirst() *Field { return s.person }

// parseTime reads a time or date member: RFC 3339, "2006-01-02 15:04:05"
// (or a date, for dates) in the decoder's time zone, or epoch milliseconds.
func (d *Decoder) parseTime(m *member, p *parser, k Kind) (time.Time, error) {
	if m.typ == jNumber {
		if m.num != math.Trunc(m.num) || m.num < 0 || m.num > 1<<53 {
			return time.Time{}, fmt.Errorf("%s is not a time in epoch milliseconds", p.data[m.start:m.end])
		}
		return time.UnixMilli(int64(m.num)).In(d.location()), nil
	}
	s := transient(p.bytes(m.val))
	if t, ok := parseRFC3339(s, time.Local); ok {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if len(s) == len("2006-01-02 15:04:05") || (len(s) > 20 && s[19] == '.') {
		if t, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", s, d.location()); err == nil {
			return t, nil
		}
	}
	if k == KindDate && len(s) == len("2006-01-02") {
		if t, err := time.ParseInLocation("2006-01-02", s, d.location()); err == nil {
			return t, nil
		}
	}
	if k == KindDate {
		return time.Time{}, fmt.Errorf("%q is not a date (2006-01-02) or a time", s)
	}
	return time.Time{}, fmt.Errorf("%q is not a time: expected RFC 3339 (2006-01-02T15:04:05+08:00), 2006-01-02 15:04:05 in %s, or epoch milliseconds", s, d.location())
}

// HashedIDPrefix starts the id of an event whose id, as sent, held what
// looks like a personal number; the rest is Identity.HashText of it.
const HashedIDPrefix = "h-"

func personalNumber(f string) error {
	return &DecodeError{Reason: ReasonBadValue, Field: f, Msg: "holds what looks like an ID-card or mobile number; personal numbers are accepted only in fields declared personal"}
}

// Anonymous is the reporter of an anonymous report (channel anonymous_app,
// or reporter "anonymous"): the only reporter such a report is kept with.
const Anonymous = "anonymous"

// intern returns the constant in values equal to b, or "" if there is none.
func intern(values []string, b []byte) string {
	for _, v := range values {
		if v == string(b) {
			return v
		}
	}
	return ""
}

func (c *Contract) namesText() string {
	names := make([]string, len(c.sources))
	for i, s := range c.sources {
		names[i] = string(s.Name)
	}
	return strings.Join(names, ", ")
}

// find returns the source named b, or nil: a scan of the few sources, no
// hashing.
func (c *Contract) find(b []byte) *Source {
	for _, s := range c.sources {
		if string(s.Name) == string(b) {
			return s
		}
	}
	return nil
}

// findType returns the type named b, or nil.
func (s *Source) findType(b []byte) *Type {
	for _, t := range s.Types {
		if t.Name == string(b) {
			return t
		}
	}
	return nil
}

// longFraction reports whether the time t has a fraction of a second of at
// least minPIIDigits-2 digits, the fewest a masked number's runs hold.
func longFraction(t []byte) bool {
	i := bytes.IndexByte(t, '.')
	if i < 0 {
		return false
	}
	n := 0
	for _, c := range t[i+1:] {
		if !isDigit(c) {
			break
		}
		n++
	}
	return n >= minPIIDigits-2
}
