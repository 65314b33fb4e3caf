package engine

import (
	"slices"
	"time"
)

// Source is the kind of system that reported an event; each has its own topic.
type Source string

// Event sources.
const (
	SourceVisitor  Source = "visitor"  // 外来人员身份识别
	SourceCanteen  Source = "canteen"  // 明厨亮灶 / 智慧食堂
	SourceDrowning Source = "drowning" // 防溺水
	SourceBullying Source = "bullying" // 校园欺凌
)

// Sources lists every source in a fixed order.
var Sources = []Source{SourceVisitor, SourceCanteen, SourceDrowning, SourceBullying}

// ParseSource returns the source named s, or an error naming the accepted values.
func ParseSource(s string) (Source, bool) {
	if slices.Contains(Sources, Source(s)) {
		return Source(s), true
	}
	return "", false
}

// Event is one validated report. It is flat: the envelope fields and the
// fields of every source live side by side, and only those of the event's
// source and type are set. Rules see it as `event`, with the JSON field
// names of the event contract (docs/events.md).
//
// The visitor's ID-card number is never held in clear: VisitorHash is a keyed
// hash (for matching the same person across events) and VisitorMasked the
// masked form shown to people.
type Event struct {
	// Envelope.
	ID         string    `expr:"id"`
	SchoolID   string    `expr:"school_id"`
	Source     Source    `expr:"source"`
	Type       string    `expr:"type"`
	OccurredAt time.Time `expr:"occurred_at"`
	Reporter   string    `expr:"reporter"`

	// Visitor (外来人员).
	VisitorHash     string `expr:"visitor_hash"`
	VisitorMasked   string `expr:"visitor_masked"`
	Name            string `expr:"name"`
	IDVerified      bool   `expr:"id_verified"`
	Watchlist       string `expr:"watchlist"`
	Appointment     bool   `expr:"appointment"`
	Host            string `expr:"host"`
	Gate            string `expr:"gate"`
	DuringClass     bool   `expr:"during_class"`
	ProhibitedItems bool   `expr:"prohibited_items"`

	// Canteen (食堂).
	Violation     string    `expr:"violation"`
	Dish          string    `expr:"dish"`
	WeightG       float64   `expr:"weight_g"`
	RetainedHours float64   `expr:"retained_hours"`
	StaffID       string    `expr:"staff_id"`
	Passed        bool      `expr:"passed"`
	Symptom       string    `expr:"symptom"`
	Device        string    `expr:"device"`
	Celsius       float64   `expr:"celsius"`
	Zone          string    `expr:"zone"`
	Item          string    `expr:"item"`
	Supplier      string    `expr:"supplier"`
	ExpiresOn     time.Time `expr:"expires_on"`

	// Drowning (防溺水).
	WaterBody     string  `expr:"water_body"`
	Persons       int     `expr:"persons"`
	Minors        bool    `expr:"minors"`
	HazardFound   bool    `expr:"hazard_found"`
	Note          string  `expr:"note"`
	LevelM        float64 `expr:"level_m"`
	WarningLevelM float64 `expr:"warning_level_m"`
	RainMM24h     float64 `expr:"rain_mm_24h"`
	TempC         float64 `expr:"temp_c"`

	// Bullying (校园欺凌). Student refs are pseudonymous ids, never names.
	Channel     string   `expr:"channel"`
	VictimRef   string   `expr:"victim_ref"`
	SuspectRefs []string `expr:"suspect_refs"`
	Kind        string   `expr:"kind"`
	Injury      bool     `expr:"injury"`
	StudentRef  string   `expr:"student_ref"`
	Score       float64  `expr:"score"`
	Threshold   float64  `expr:"threshold"`

	// Payload is the event as stored: the producer's JSON with the visitor's
	// identity replaced by its hash and masked form. Unknown extra fields are kept.
	Payload []byte `expr:"-"`
	// Origin is where the event was read from; zero for events not read from Kafka.
	Origin Origin `expr:"-"`
}

// Origin is the Kafka position an event was read from.
type Origin struct {
	Topic     string
	Partition int
	Offset    int64
}
