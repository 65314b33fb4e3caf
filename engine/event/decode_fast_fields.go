package event

import "github.com/sanse-campus/sanse/engine"

// field names a known field of the event contract. The parser records
// each one's value by this index; unknown fields are skipped and kept only
// in the payload.
type field uint8

// Known fields, in the order of docs/events.md.
const (
	fID field = iota
	fSchoolID
	fSource
	fType
	fOccurredAt
	fReporter

	fVisitorID
	fVisitorHash
	fName
	fIDVerified
	fWatchlist
	fAppointment
	fHost
	fGate
	fDuringClass
	fProhibitedItems

	fViolation
	fDish
	fWeightG
	fRetainedHours
	fStaffID
	fPassed
	fSymptom
	fDevice
	fCelsius
	fZone
	fItem
	fSupplier
	fExpiresOn

	fWaterBody
	fPersons
	fMinors
	fHazardFound
	fNote
	fLevelM
	fWarningLevelM
	fRainMM24h
	fTempC

	fChannel
	fVictimRef
	fSuspectRefs
	fKind
	fInjury
	fStudentRef
	fScore
	fThreshold

	numFields
	fUnknown field = 255
)

// kind is the JSON type a known field must have.
type kind uint8

const (
	kindUnknown kind = iota // not a known field: any value is accepted
	kindString
	kindBool
	kindNumber
	kindStrings // array of strings
)

var fieldSpecs = [numFields]struct {
	name string
	kind kind
}{
	fID:              {"id", kindString},
	fSchoolID:        {"school_id", kindString},
	fSource:          {"source", kindString},
	fType:            {"type", kindString},
	fOccurredAt:      {"occurred_at", kindString},
	fReporter:        {"reporter", kindString},
	fVisitorID:       {"visitor_id", kindString},
	fVisitorHash:     {"visitor_hash", kindString},
	fName:            {"name", kindString},
	fIDVerified:      {"id_verified", kindBool},
	fWatchlist:       {"watchlist", kindString},
	fAppointment:     {"appointment", kindBool},
	fHost:            {"host", kindString},
	fGate:            {"gate", kindString},
	fDuringClass:     {"during_class", kindBool},
	fProhibitedItems: {"prohibited_items", kindBool},
	fViolation:       {"violation", kindString},
	fDish:            {"dish", kindString},
	fWeightG:         {"weight_g", kindNumber},
	fRetainedHours:   {"retained_hours", kindNumber},
	fStaffID:         {"staff_id", kindString},
	fPassed:          {"passed", kindBool},
	fSymptom:         {"symptom", kindString},
	fDevice:          {"device", kindString},
	fCelsius:         {"celsius", kindNumber},
	fZone:            {"zone", kindString},
	fItem:            {"item", kindString},
	fSupplier:        {"supplier", kindString},
	fExpiresOn:       {"expires_on", kindString},
	fWaterBody:       {"water_body", kindString},
	fPersons:         {"persons", kindNumber},
	fMinors:          {"minors", kindBool},
	fHazardFound:     {"hazard_found", kindBool},
	fNote:            {"note", kindString},
	fLevelM:          {"level_m", kindNumber},
	fWarningLevelM:   {"warning_level_m", kindNumber},
	fRainMM24h:       {"rain_mm_24h", kindNumber},
	fTempC:           {"temp_c", kindNumber},
	fChannel:         {"channel", kindString},
	fVictimRef:       {"victim_ref", kindString},
	fSuspectRefs:     {"suspect_refs", kindStrings},
	fKind:            {"kind", kindString},
	fInjury:          {"injury", kindBool},
	fStudentRef:      {"student_ref", kindString},
	fScore:           {"score", kindNumber},
	fThreshold:       {"threshold", kindNumber},
}

// name returns the field's JSON name, as used in error messages.
func (f field) name() string { return fieldSpecs[f].name }

func (f field) kind() kind {
	if f >= numFields {
		return kindUnknown
	}
	return fieldSpecs[f].kind
}

// lookupField returns the known field named key, matched exactly (case
// included), or fUnknown. The switch compiles to a search on length and
// bytes, with no allocation.
func lookupField(key []byte) field {
	switch string(key) {
	case "id":
		return fID
	case "school_id":
		return fSchoolID
	case "source":
		return fSource
	case "type":
		return fType
	case "occurred_at":
		return fOccurredAt
	case "reporter":
		return fReporter
	case "visitor_id":
		return fVisitorID
	case "visitor_hash":
		return fVisitorHash
	case "name":
		return fName
	case "id_verified":
		return fIDVerified
	case "watchlist":
		return fWatchlist
	case "appointment":
		return fAppointment
	case "host":
		return fHost
	case "gate":
		return fGate
	case "during_class":
		return fDuringClass
	case "prohibited_items":
		return fProhibitedItems
	case "violation":
		return fViolation
	case "dish":
		return fDish
	case "weight_g":
		return fWeightG
	case "retained_hours":
		return fRetainedHours
	case "staff_id":
		return fStaffID
	case "passed":
		return fPassed
	case "symptom":
		return fSymptom
	case "device":
		return fDevice
	case "celsius":
		return fCelsius
	case "zone":
		return fZone
	case "item":
		return fItem
	case "supplier":
		return fSupplier
	case "expires_on":
		return fExpiresOn
	case "water_body":
		return fWaterBody
	case "persons":
		return fPersons
	case "minors":
		return fMinors
	case "hazard_found":
		return fHazardFound
	case "note":
		return fNote
	case "level_m":
		return fLevelM
	case "warning_level_m":
		return fWarningLevelM
	case "rain_mm_24h":
		return fRainMM24h
	case "temp_c":
		return fTempC
	case "channel":
		return fChannel
	case "victim_ref":
		return fVictimRef
	case "suspect_refs":
		return fSuspectRefs
	case "kind":
		return fKind
	case "injury":
		return fInjury
	case "student_ref":
		return fStudentRef
	case "score":
		return fScore
	case "threshold":
		return fThreshold
	}
	return fUnknown
}

// stringOf returns the Event field that holds the string field f.
func (f field) stringOf(ev *engine.Event) *string {
	switch f {
	case fReporter:
		return &ev.Reporter
	case fWatchlist:
		return &ev.Watchlist
	case fHost:
		return &ev.Host
	case fGate:
		return &ev.Gate
	case fViolation:
		return &ev.Violation
	case fDish:
		return &ev.Dish
	case fStaffID:
		return &ev.StaffID
	case fSymptom:
		return &ev.Symptom
	case fDevice:
		return &ev.Device
	case fZone:
		return &ev.Zone
	case fItem:
		return &ev.Item
	case fSupplier:
		return &ev.Supplier
	case fWaterBody:
		return &ev.WaterBody
	case fNote:
		return &ev.Note
	case fChannel:
		return &ev.Channel
	case fVictimRef:
		return &ev.VictimRef
	case fKind:
		return &ev.Kind
	case fStudentRef:
		return &ev.StudentRef
	}
	panic("engine: no event string for field " + f.name())
}

// contractType is an accepted (source, type) with its required fields.
type contractType struct {
	name     string
	required []field
}

// contractTypes is Contract compiled for lookup without allocation, indexed
// by sourceIndex.
var contractTypes = compileContract()

func compileContract() (out [4][]contractType) {
	for src, types := range Contract {
		i := sourceIndex(src)
		for _, name := range TypeNames(src) {
			ct := contractType{name: name}
			for _, f := range types[name] {
				k := lookupField([]byte(f))
				if k == fUnknown {
					panic("engine: contract names unknown field " + f)
				}
				ct.required = append(ct.required, k)
			}
			out[i] = append(out[i], ct)
		}
	}
	return out
}

func sourceIndex(src engine.Source) int {
	switch src {
	case engine.SourceVisitor:
		return 0
	case engine.SourceCanteen:
		return 1
	case engine.SourceDrowning:
		return 2
	case engine.SourceBullying:
		return 3
	}
	panic("engine: contract names unknown source " + string(src))
}

// lookupType returns the contract's type of src named b, or nil.
func lookupType(src engine.Source, b []byte) *contractType {
	types := contractTypes[sourceIndex(src)]
	for i := range types {
		if types[i].name == string(b) {
			return &types[i]
		}
	}
	return nil
}

// intern returns the constant in values equal to b, or "" if there is none.
func intern(values []string, b []byte) string {
	for _, v := range values {
		if v == string(b) {
			return v
		}
	}
	return ""
}

// sourceOf returns the Source constant named b, or "".
func sourceOf(b []byte) engine.Source {
	switch string(b) {
	case string(engine.SourceVisitor):
		return engine.SourceVisitor
	case string(engine.SourceCanteen):
		return engine.SourceCanteen
	case string(engine.SourceDrowning):
		return engine.SourceDrowning
	case string(engine.SourceBullying):
		return engine.SourceBullying
	}
	return ""
}
