package event

import (
	"errors"
	"fmt"
	"maps"
	"math"
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

// Decoder validates raw events against the event contract (docs/events.md)
// and the school registry. It is safe for concurrent use.
type Decoder struct {
	// Registry returns the current school registry; it is called once per event.
	Registry func() *engine.Registry
	// Identity hashes and masks visitor identity numbers.
	Identity *Identity
	// Dropped, when not nil, is called by Decode for every member of an
	// accepted event that is not in the contract, and so is left out of
	// the stored payload, with the event's source and the member's key as
	// sent (JSON escapes included; valid only during the call). It must be
	// safe for concurrent use and must not block.
	Dropped func(src engine.Source, key []byte)
	// Limits bound what Decode accepts; the zero value sets none.
	Limits Limits
	// Now returns the time occurred_at is checked against; nil is time.Now.
	Now func() time.Time
}

func (d *Decoder) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
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

// Contract lists, per source, the accepted types and the fields each type
// requires beyond the envelope. It is the machine-readable form of the table
// in docs/events.md.
var Contract = map[engine.Source]map[string][]string{
	engine.SourceVisitor: {
		"entry":  {"visitor_id", "id_verified", "watchlist"},
		"exit":   {"visitor_id"},
		"denied": {"visitor_id", "id_verified", "watchlist"},
	},
	engine.SourceCanteen: {
		"ai_violation":   {"violation"},
		"sample":         {"dish", "weight_g", "retained_hours"},
		"health_check":   {"staff_id", "passed"},
		"storage_temp":   {"device", "celsius", "zone"},
		"pesticide_test": {"item", "passed"},
		"supplier_cert":  {"supplier", "expires_on"},
	},
	engine.SourceDrowning: {
		"fence_intrusion": {"water_body", "minors"},
		"patrol":          {"water_body", "hazard_found"},
		"water_level":     {"water_body", "level_m", "warning_level_m"},
		"weather":         {"rain_mm_24h"},
	},
	engine.SourceBullying: {
		"report":    {"channel", "victim_ref", "kind", "injury"},
		"screening": {"student_ref", "score", "threshold"},
	},
}

// enums lists the accepted values of enumerated fields.
var enums = map[string][]string{
	"watchlist": {"none", "blacklist", "watch", "wanted"},
	"violation": {"no_hat", "no_mask", "no_uniform", "smoking", "phone", "rodent", "uncovered_bin", "bare_hand"},
	"zone":      {"fridge", "freezer"},
	"channel":   {"anonymous_app", "teacher", "parent", "hotline"},
	"kind":      {"physical", "verbal", "cyber", "exclusion", "property"},
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

// DecodeStored rebuilds an event from the payload that Decode stored: the
// visitor's identity is already hashed and masked there.
func (d *Decoder) DecodeStored(data []byte, ev *engine.Event) error {
	return d.decode("", data, ev, true)
}

// envelope lists the fields every event carries, in the order they are checked.
var envelope = [...]field{fID, fSchoolID, fSource, fType, fOccurredAt}

// enumChecks lists the enumerated fields in the order they are checked: when
// several hold unknown values, the first of this list is reported.
var enumChecks = [...]struct {
	f      field
	values []string
}{
	{fWatchlist, enums["watchlist"]},
	{fViolation, enums["violation"]},
	{fZone, enums["zone"]},
	{fChannel, enums["channel"]},
	{fKind, enums["kind"]},
}

// decode runs in three steps: one pass over the message records where each
// known field's value is (parser), the checks of the contract run on those
// records in a fixed order, and only an accepted event gets its strings
// copied, all into one allocation.
func (d *Decoder) decode(expected engine.Source, data []byte, ev *engine.Event, stored bool) error {
	if limit := d.Limits.MaxMessageBytes; limit > 0 && len(data) > limit && !stored {
		return tooLarge(len(data), limit)
	}
	p := newParser(data)
	defer p.release()
	if err := p.parse(); err != nil {
		return err
	}
	if limit := d.Limits.MaxStringBytes; limit > 0 && !stored {
		if err := p.checkLengths(limit); err != nil {
			return err
		}
	}
	*ev = engine.Event{}
	// Envelope.
	for _, f := range envelope {
		if !p.has(f) {
			return &DecodeError{Reason: ReasonMissingField, Field: f.name(), Msg: "required field is missing"}
		}
		if len(p.text(f)) == 0 {
			return &DecodeError{Reason: ReasonBadValue, Field: f.name(), Msg: "must not be empty"}
		}
	}
	id, school := p.text(fID), p.text(fSchoolID)
	if len(id) > MaxIDLength || len(school) > MaxIDLength {
		return &DecodeError{Reason: ReasonBadValue, Field: "id", Msg: fmt.Sprintf("id and school_id must be at most %d bytes", MaxIDLength)}
	}
	src := sourceOf(p.text(fSource))
	if src == "" {
		return &DecodeError{Reason: ReasonBadValue, Field: "source", Msg: fmt.Sprintf("unknown source %q, expected visitor, canteen, drowning or bullying", p.text(fSource))}
	}
	if expected != "" && src != expected {
		return &DecodeError{Reason: ReasonSourceMismatch, Field: "source", Msg: fmt.Sprintf("source %q does not match the topic's source %q", src, expected)}
	}
	typ := lookupType(src, p.text(fType))
	if typ == nil {
		return &DecodeError{Reason: ReasonUnknownType, Field: "type", Msg: fmt.Sprintf("unknown %s type %q, expected one of %s", src, p.text(fType), strings.Join(TypeNames(src), ", "))}
	}
	at, err := time.Parse(time.RFC3339Nano, transient(p.text(fOccurredAt)))
	if err != nil {
		return &DecodeError{Reason: ReasonBadValue, Field: "occurred_at", Msg: fmt.Sprintf("%q is not an RFC 3339 time", p.text(fOccurredAt))}
	}
	if !stored {
		if err := d.checkTime(at); err != nil {
			return err
		}
	}
	// Source and Type are constants: they share no memory with data.
	ev.Source, ev.Type, ev.OccurredAt = src, typ.name, at

	for _, f := range typ.required {
		if stored && f == fVisitorID {
			f = fVisitorHash
		}
		if !p.has(f) {
			return &DecodeError{Reason: ReasonMissingField, Field: f.name(), Msg: fmt.Sprintf("required for %s %s", src, typ.name)}
		}
	}
	for _, e := range enumChecks {
		if !p.has(e.f) {
			continue
		}
		v := intern(e.values, p.text(e.f))
		if v == "" {
			return &DecodeError{Reason: ReasonBadValue, Field: e.f.name(), Msg: fmt.Sprintf("unknown value %q, expected one of %s", p.text(e.f), strings.Join(e.values, ", "))}
		}
		*e.f.stringOf(ev) = v
	}
	if src == engine.SourceVisitor && ev.Watchlist == "" {
		ev.Watchlist = "none"
	}

	// Source fields: all known fields are copied, whichever the type, so that
	// rules and storage see what the producer sent.
	ev.IDVerified, ev.Appointment = p.boolean(fIDVerified), p.boolean(fAppointment)
	ev.DuringClass, ev.ProhibitedItems = p.boolean(fDuringClass), p.boolean(fProhibitedItems)
	ev.WeightG, ev.RetainedHours, ev.Celsius = p.number(fWeightG), p.number(fRetainedHours), p.number(fCelsius)
	ev.Passed, ev.Minors, ev.HazardFound, ev.Injury = p.boolean(fPassed), p.boolean(fMinors), p.boolean(fHazardFound), p.boolean(fInjury)
	ev.LevelM, ev.WarningLevelM, ev.RainMM24h, ev.TempC = p.number(fLevelM), p.number(fWarningLevelM), p.number(fRainMM24h), p.number(fTempC)
	ev.Score, ev.Threshold = p.number(fScore), p.number(fThreshold)
	if p.has(fExpiresOn) {
		if ev.ExpiresOn, err = parseDate(transient(p.text(fExpiresOn))); err != nil {
			return &DecodeError{Reason: ReasonBadValue, Field: "expires_on", Msg: fmt.Sprintf("%q is not a date (2006-01-02) or an RFC 3339 time", p.text(fExpiresOn))}
		}
	}
	if p.has(fPersons) {
		n := p.number(fPersons)
		if n < 0 || n != math.Trunc(n) || n > math.MaxInt32 {
			return &DecodeError{Reason: ReasonBadValue, Field: "persons", Msg: "must be a whole number of persons"}
		}
		ev.Persons = int(n)
	}

	var reg *engine.Registry
	if d.Registry != nil {
		reg = d.Registry()
		s := reg.School(transient(school))
		if s == nil {
			return &DecodeError{Reason: ReasonUnknownSchool, Field: "school_id", Msg: fmt.Sprintf("school %q is not in the registry", school)}
		}
		ev.SchoolID = s.ID // the registry's copy: no allocation, nothing kept from data
	} else {
		p.keep(&ev.SchoolID, school)
	}
	// An id that holds what looks like a personal number (or an id whose
	// hex timestamp happens to look like one) is kept as its keyed hash:
	// stable, so that the same id is still stored once, but not readable.
	var idHash []byte
	if !stored && p.pii&(1<<fID) != 0 {
		if d.Identity == nil {
			return personalNumber(fID)
		}
		idHash = []byte(HashedIDPrefix + d.Identity.HashText(string(id)))
	}
	if !stored {
		// Personal numbers where they cannot be masked without changing
		// what the event says.
		for _, f := range unmaskable {
			if p.pii&(1<<f) != 0 {
				return personalNumber(f)
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
	anonymous := src == engine.SourceBullying && p.has(fReporter) &&
		(ev.Channel == "anonymous_app" || string(p.text(fReporter)) == Anonymous)

	// Identity: hash and mask; the clear number never leaves this function.
	switch {
	case stored:
		p.keep(&ev.VisitorHash, p.text(fVisitorHash))
		p.keep(&ev.VisitorMasked, p.text(fVisitorID))
		p.keep(&ev.Name, p.text(fName))
		ev.Payload = data
	case p.has(fVisitorID) || p.has(fName):
		var hash, masked []byte
		if p.has(fVisitorID) {
			if d.Identity == nil {
				return errors.New("decoder has no identity key for visitor events")
			}
			hash, masked = p.hashID(d.Identity, p.text(fVisitorID)), p.maskID(p.text(fVisitorID))
		}
		name := p.maskName(p.text(fName))
		p.keep(&ev.VisitorHash, hash)
		p.keep(&ev.VisitorMasked, masked)
		p.keep(&ev.Name, name)
		ev.Payload = p.payload(true, anonymous, idHash, masked, hash, name)
	default:
		ev.Payload = p.payload(false, anonymous, idHash, nil, nil, nil)
	}
	for _, f := range keptText {
		if f == fReporter && anonymous {
			ev.Reporter = Anonymous
			continue
		}
		if p.pii&(1<<f) != 0 {
			p.keep(f.stringOf(ev), p.masked(p.text(f)))
		} else {
			p.keep(f.stringOf(ev), p.text(f))
		}
	}
	p.keepRefs(ev)
	if d.Dropped != nil && !stored {
		p.dropped(src, d.Dropped)
	}
	p.commit()
	return nil
}

// HashedIDPrefix starts the id of an event whose id, as sent, held what
// looks like a personal number; the rest is Identity.HashText of it.
const HashedIDPrefix = "h-"

func personalNumber(f field) error {
	return &DecodeError{Reason: ReasonBadValue, Field: f.name(), Msg: "holds what looks like an ID-card or mobile number; personal numbers are accepted in visitor_id only"}
}

// unmaskable lists the fields, in the order they are checked, whose value
// is refused when it holds what MaskText masks: times and numbers would
// read differently masked. Text fields are masked instead, the id hashed.
var unmaskable = [...]field{fOccurredAt, fExpiresOn, fWeightG, fRetainedHours, fCelsius, fPersons,
	fLevelM, fWarningLevelM, fRainMM24h, fTempC, fScore, fThreshold}

// Anonymous is the reporter of an anonymous report (channel anonymous_app,
// or reporter "anonymous"): the only reporter such a report is kept with.
const Anonymous = "anonymous"

// keptText lists the free-text fields copied into the event as sent.
var keptText = [...]field{fReporter, fHost, fGate, fDish, fStaffID, fSymptom, fDevice,
	fItem, fSupplier, fWaterBody, fNote, fVictimRef, fStudentRef}

// TypeNames returns the types of a source in the event contract, sorted.
func TypeNames(src engine.Source) []string {
	out := slices.Collect(maps.Keys(Contract[src]))
	slices.Sort(out)
	return out
}

func parseDate(s string) (time.Time, error) {
	if t, err := time.ParseInLocation("2006-01-02", s, engine.Shanghai); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

// checkLengths returns the error of the first string of the contract, in
// the order of the fields, longer than limit bytes.
func (p *parser) checkLengths(limit int) error {
	for f := range numFields {
		switch f.kind() {
		case kindString:
			if n := len(p.text(f)); n > limit {
				return tooLong(f.name(), n, limit)
			}
		case kindStrings:
			if !p.has(f) {
				continue
			}
			for _, t := range p.refs[:p.refN] {
				if n := t.end - t.off; n > limit {
					return tooLong(f.name(), n, limit)
				}
			}
		}
	}
	return nil
}
