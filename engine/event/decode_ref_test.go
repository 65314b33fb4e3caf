package event

// The decoder as it was before the hand-written parser, kept unchanged
// (only renamed) as the reference that FuzzDecodeDifferential compares
// against: encoding/json into a struct of pointers, and a map round trip to
// redact the visitor's identity.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

// refWire is the JSON form of an event. Pointers record presence, so that a
// missing required field is told apart from a zero value.
type refWire struct {
	ID         *string `json:"id"`
	SchoolID   *string `json:"school_id"`
	Source     *string `json:"source"`
	Type       *string `json:"type"`
	OccurredAt *string `json:"occurred_at"`
	Reporter   *string `json:"reporter"`

	VisitorID       *string `json:"visitor_id"`
	VisitorHash     *string `json:"visitor_hash"`
	Name            *string `json:"name"`
	IDVerified      *bool   `json:"id_verified"`
	Watchlist       *string `json:"watchlist"`
	Appointment     *bool   `json:"appointment"`
	Host            *string `json:"host"`
	Gate            *string `json:"gate"`
	DuringClass     *bool   `json:"during_class"`
	ProhibitedItems *bool   `json:"prohibited_items"`

	Violation     *string  `json:"violation"`
	Dish          *string  `json:"dish"`
	WeightG       *float64 `json:"weight_g"`
	RetainedHours *float64 `json:"retained_hours"`
	StaffID       *string  `json:"staff_id"`
	Passed        *bool    `json:"passed"`
	Symptom       *string  `json:"symptom"`
	Device        *string  `json:"device"`
	Celsius       *float64 `json:"celsius"`
	Zone          *string  `json:"zone"`
	Item          *string  `json:"item"`
	Supplier      *string  `json:"supplier"`
	ExpiresOn     *string  `json:"expires_on"`

	WaterBody     *string  `json:"water_body"`
	Persons       *float64 `json:"persons"`
	Minors        *bool    `json:"minors"`
	HazardFound   *bool    `json:"hazard_found"`
	Note          *string  `json:"note"`
	LevelM        *float64 `json:"level_m"`
	WarningLevelM *float64 `json:"warning_level_m"`
	RainMM24h     *float64 `json:"rain_mm_24h"`
	TempC         *float64 `json:"temp_c"`

	Channel     *string   `json:"channel"`
	VictimRef   *string   `json:"victim_ref"`
	SuspectRefs *[]string `json:"suspect_refs"`
	Kind        *string   `json:"kind"`
	Injury      *bool     `json:"injury"`
	StudentRef  *string   `json:"student_ref"`
	Score       *float64  `json:"score"`
	Threshold   *float64  `json:"threshold"`
}

func refDecode(d *Decoder, expected engine.Source, data []byte, ev *engine.Event, stored bool) error {
	if limit := d.Limits.MaxMessageBytes; limit > 0 && len(data) > limit && !stored {
		return tooLarge(len(data), limit)
	}
	var w refWire
	if err := json.Unmarshal(data, &w); err != nil {
		return refJSONError(err)
	}
	if limit := d.Limits.MaxStringBytes; limit > 0 && !stored {
		v := reflect.ValueOf(w)
		for i := range v.NumField() {
			name := strings.Split(v.Type().Field(i).Tag.Get("json"), ",")[0]
			switch x := v.Field(i).Interface().(type) {
			case *string:
				if x != nil && len(*x) > limit {
					return tooLong(name, len(*x), limit)
				}
			case *[]string:
				if x == nil {
					continue
				}
				for _, s := range *x {
					if len(s) > limit {
						return tooLong(name, len(s), limit)
					}
				}
			}
		}
	}
	*ev = engine.Event{}
	// Envelope.
	for _, f := range []struct {
		name string
		v    *string
	}{{"id", w.ID}, {"school_id", w.SchoolID}, {"source", w.Source}, {"type", w.Type}, {"occurred_at", w.OccurredAt}} {
		if f.v == nil {
			return &DecodeError{Reason: ReasonMissingField, Field: f.name, Msg: "required field is missing"}
		}
		if *f.v == "" {
			return &DecodeError{Reason: ReasonBadValue, Field: f.name, Msg: "must not be empty"}
		}
	}
	if len(*w.ID) > MaxIDLength || len(*w.SchoolID) > MaxIDLength {
		return &DecodeError{Reason: ReasonBadValue, Field: "id", Msg: fmt.Sprintf("id and school_id must be at most %d bytes", MaxIDLength)}
	}
	src, ok := engine.ParseSource(*w.Source)
	if !ok {
		return &DecodeError{Reason: ReasonBadValue, Field: "source", Msg: fmt.Sprintf("unknown source %q, expected visitor, canteen, drowning or bullying", *w.Source)}
	}
	if expected != "" && src != expected {
		return &DecodeError{Reason: ReasonSourceMismatch, Field: "source", Msg: fmt.Sprintf("source %q does not match the topic's source %q", src, expected)}
	}
	types := Contract[src]
	required, ok := types[*w.Type]
	if !ok {
		return &DecodeError{Reason: ReasonUnknownType, Field: "type", Msg: fmt.Sprintf("unknown %s type %q, expected one of %s", src, *w.Type, strings.Join(TypeNames(src), ", "))}
	}
	at, err := time.Parse(time.RFC3339Nano, *w.OccurredAt)
	if err != nil {
		return &DecodeError{Reason: ReasonBadValue, Field: "occurred_at", Msg: fmt.Sprintf("%q is not an RFC 3339 time", *w.OccurredAt)}
	}
	if !stored {
		if err := d.checkTime(at); err != nil {
			return err
		}
	}
	ev.ID, ev.SchoolID, ev.Source, ev.Type, ev.OccurredAt = *w.ID, *w.SchoolID, src, *w.Type, at
	ev.Reporter = refStr(w.Reporter)

	for _, f := range required {
		if stored && f == "visitor_id" {
			f = "visitor_hash"
		}
		if !w.present(f) {
			return &DecodeError{Reason: ReasonMissingField, Field: f, Msg: fmt.Sprintf("required for %s %s", src, *w.Type)}
		}
	}
	for field, values := range enums {
		if v := w.stringField(field); v != nil && !refContains(values, *v) {
			return &DecodeError{Reason: ReasonBadValue, Field: field, Msg: fmt.Sprintf("unknown value %q, expected one of %s", *v, strings.Join(values, ", "))}
		}
	}

	// Source fields: all known fields are copied, whichever the type, so that
	// rules and storage see what the producer sent.
	ev.Name = refStr(w.Name)
	ev.IDVerified, ev.Watchlist, ev.Appointment = refBoolean(w.IDVerified), refStr(w.Watchlist), refBoolean(w.Appointment)
	ev.Host, ev.Gate, ev.DuringClass, ev.ProhibitedItems = refStr(w.Host), refStr(w.Gate), refBoolean(w.DuringClass), refBoolean(w.ProhibitedItems)
	if ev.Watchlist == "" && src == engine.SourceVisitor {
		ev.Watchlist = "none"
	}
	ev.Violation, ev.Dish, ev.WeightG, ev.RetainedHours = refStr(w.Violation), refStr(w.Dish), refNum(w.WeightG), refNum(w.RetainedHours)
	ev.StaffID, ev.Passed, ev.Symptom = refStr(w.StaffID), refBoolean(w.Passed), refStr(w.Symptom)
	ev.Device, ev.Celsius, ev.Zone, ev.Item, ev.Supplier = refStr(w.Device), refNum(w.Celsius), refStr(w.Zone), refStr(w.Item), refStr(w.Supplier)
	if w.ExpiresOn != nil {
		if ev.ExpiresOn, err = parseDate(*w.ExpiresOn); err != nil {
			return &DecodeError{Reason: ReasonBadValue, Field: "expires_on", Msg: fmt.Sprintf("%q is not a date (2006-01-02) or an RFC 3339 time", *w.ExpiresOn)}
		}
	}
	ev.WaterBody, ev.Minors, ev.HazardFound, ev.Note = refStr(w.WaterBody), refBoolean(w.Minors), refBoolean(w.HazardFound), refStr(w.Note)
	if w.Persons != nil {
		p := *w.Persons
		if p < 0 || p != math.Trunc(p) || p > math.MaxInt32 {
			return &DecodeError{Reason: ReasonBadValue, Field: "persons", Msg: "must be a whole number of persons"}
		}
		ev.Persons = int(p)
	}
	ev.LevelM, ev.WarningLevelM, ev.RainMM24h, ev.TempC = refNum(w.LevelM), refNum(w.WarningLevelM), refNum(w.RainMM24h), refNum(w.TempC)
	ev.Channel, ev.VictimRef, ev.Kind, ev.Injury = refStr(w.Channel), refStr(w.VictimRef), refStr(w.Kind), refBoolean(w.Injury)
	if w.SuspectRefs != nil {
		ev.SuspectRefs = *w.SuspectRefs
	}
	ev.StudentRef, ev.Score, ev.Threshold = refStr(w.StudentRef), refNum(w.Score), refNum(w.Threshold)

	if d.Registry != nil && d.Registry().School(ev.SchoolID) == nil {
		return &DecodeError{Reason: ReasonUnknownSchool, Field: "school_id", Msg: fmt.Sprintf("school %q is not in the registry", ev.SchoolID)}
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return refJSONError(err)
	}
	var idHash string
	if !stored && HasPII([]byte(ev.ID)) {
		if d.Identity == nil {
			return personalNumber(fID)
		}
		idHash = HashedIDPrefix + d.Identity.HashText(ev.ID)
	}
	if !stored {
		for _, name := range []string{"occurred_at", "expires_on", "weight_g", "retained_hours", "celsius", "persons",
			"level_m", "warning_level_m", "rain_mm_24h", "temp_c", "score", "threshold"} {
			v := raw[name]
			if lookupField([]byte(name)).kind() == kindString {
				var s *string
				_ = json.Unmarshal(v, &s)
				if s == nil {
					continue
				}
				v = []byte(*s)
			}
			if HasPII(v) {
				return &DecodeError{Reason: ReasonBadValue, Field: name, Msg: "holds what looks like an ID-card or mobile number; personal numbers are accepted in visitor_id only"}
			}
		}
	}
	for _, s := range []*string{&ev.Reporter, &ev.Host, &ev.Gate, &ev.Dish, &ev.StaffID, &ev.Symptom, &ev.Device,
		&ev.Item, &ev.Supplier, &ev.WaterBody, &ev.Note, &ev.VictimRef, &ev.StudentRef} {
		*s = MaskText(*s)
	}
	for i, s := range ev.SuspectRefs {
		ev.SuspectRefs[i] = MaskText(s)
	}
	if idHash != "" {
		ev.ID = idHash
		raw["id"], _ = json.Marshal(idHash)
	}
	anonymous := src == engine.SourceBullying && w.Reporter != nil && (ev.Channel == "anonymous_app" || *w.Reporter == Anonymous)
	if anonymous {
		ev.Reporter = Anonymous
	}

	// Identity: hash and mask; the clear number never leaves this function.
	switch {
	case stored:
		ev.VisitorHash, ev.VisitorMasked = refStr(w.VisitorHash), refStr(w.VisitorID)
		ev.Payload = data
	case w.VisitorID != nil || w.Name != nil:
		if w.VisitorID != nil {
			if d.Identity == nil {
				return errors.New("decoder has no identity key for visitor events")
			}
			ev.VisitorHash = d.Identity.Hash(*w.VisitorID)
			ev.VisitorMasked = MaskID(*w.VisitorID)
		}
		ev.Name = MaskName(ev.Name)
		ev.Payload = refRedact(raw, ev, true, anonymous)
	case idHash != "" || anonymous || refNeedsRewrite(data):
		ev.Payload = refRedact(raw, ev, false, anonymous)
	default:
		ev.Payload = data
	}
	return nil
}

// refNeedsRewrite reports whether a payload without the visitor's identity
// must be rewritten: a member, duplicates included, is unknown, holds a
// number MaskText masks, or is a visitor_id or name with a value.
func refNeedsRewrite(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		k := t.(string)
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return false
		}
		f := lookupField([]byte(k))
		switch {
		case f == fUnknown:
			return true
		case (f == fVisitorID || f == fName) && string(v) != "null":
			return true
		case f == fSuspectRefs:
			var refs []*string
			_ = json.Unmarshal(v, &refs)
			for _, r := range refs {
				if r != nil && HasPII([]byte(*r)) {
					return true
				}
			}
		case f.kind() == kindString && scanned[f]:
			var s *string
			_ = json.Unmarshal(v, &s)
			if s != nil && HasPII([]byte(*s)) {
				return true
			}
		case f.kind() == kindNumber && HasPII(v):
			return true
		}
	}
	return false
}

// refRedact rebuilds the payload from the message's members (the last of
// duplicates): the visitor's identity only in hashed and masked form,
// numbers MaskText masks masked, members outside the contract dropped.
func refRedact(m map[string]json.RawMessage, ev *engine.Event, identity, anonymous bool) []byte {
	if anonymous && string(m["reporter"]) != "null" {
		m["reporter"] = []byte(`"` + Anonymous + `"`)
	}
	for k, v := range m {
		f := lookupField([]byte(k))
		switch {
		case f == fUnknown:
			delete(m, k)
		case f == fSuspectRefs:
			var refs []*string
			_ = json.Unmarshal(v, &refs)
			for _, r := range refs {
				if r != nil && MaskText(*r) != *r {
					m[k], _ = json.Marshal(ev.SuspectRefs)
					break
				}
			}
		case f.kind() == kindString:
			var s *string
			_ = json.Unmarshal(v, &s)
			if s != nil && MaskText(*s) != *s {
				m[k], _ = json.Marshal(MaskText(*s))
			}
		}
	}
	if identity {
		if _, ok := m["visitor_id"]; ok {
			m["visitor_id"], _ = json.Marshal(ev.VisitorMasked)
			m["visitor_hash"], _ = json.Marshal(ev.VisitorHash)
		}
		if _, ok := m["name"]; ok {
			m["name"], _ = json.Marshal(ev.Name)
		}
	}
	out, _ := json.Marshal(m)
	return out
}

func refJSONError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return &DecodeError{Reason: ReasonNotJSON, Msg: "the message is not a JSON object"}
		}
		return &DecodeError{Reason: ReasonWrongType, Field: te.Field, Msg: fmt.Sprintf("got a JSON %s, expected %s", te.Value, refJSONKind(te.Type.Kind().String()))}
	}
	return &DecodeError{Reason: ReasonNotJSON, Msg: "the message is not valid JSON: " + err.Error()}
}

func refJSONKind(k string) string {
	switch k {
	case "float64", "int":
		return "number"
	case "bool":
		return "boolean (true or false)"
	case "slice":
		return "array of strings"
	}
	return k
}

func (w *refWire) stringField(name string) *string {
	switch name {
	case "watchlist":
		return w.Watchlist
	case "violation":
		return w.Violation
	case "zone":
		return w.Zone
	case "channel":
		return w.Channel
	case "kind":
		return w.Kind
	}
	return nil
}

func (w *refWire) present(name string) bool {
	switch name {
	case "visitor_id":
		return w.VisitorID != nil
	case "visitor_hash":
		return w.VisitorHash != nil
	case "id_verified":
		return w.IDVerified != nil
	case "watchlist":
		return w.Watchlist != nil
	case "violation":
		return w.Violation != nil
	case "dish":
		return w.Dish != nil
	case "weight_g":
		return w.WeightG != nil
	case "retained_hours":
		return w.RetainedHours != nil
	case "staff_id":
		return w.StaffID != nil
	case "passed":
		return w.Passed != nil
	case "device":
		return w.Device != nil
	case "celsius":
		return w.Celsius != nil
	case "zone":
		return w.Zone != nil
	case "item":
		return w.Item != nil
	case "supplier":
		return w.Supplier != nil
	case "expires_on":
		return w.ExpiresOn != nil
	case "water_body":
		return w.WaterBody != nil
	case "minors":
		return w.Minors != nil
	case "hazard_found":
		return w.HazardFound != nil
	case "level_m":
		return w.LevelM != nil
	case "warning_level_m":
		return w.WarningLevelM != nil
	case "rain_mm_24h":
		return w.RainMM24h != nil
	case "channel":
		return w.Channel != nil
	case "victim_ref":
		return w.VictimRef != nil
	case "kind":
		return w.Kind != nil
	case "injury":
		return w.Injury != nil
	case "student_ref":
		return w.StudentRef != nil
	case "score":
		return w.Score != nil
	case "threshold":
		return w.Threshold != nil
	}
	panic("engine: no presence check for field " + name)
}

func refStr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func refBoolean(p *bool) bool { return p != nil && *p }

func refNum(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

func refContains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}
