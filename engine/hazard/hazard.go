package hazard

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sanse-campus/sanse/engine"
)

// Hazard is one hazard (隐患) at one school and where its rectification
// stands. A *Hazard handed out by the Manager is a copy the caller owns.
type Hazard struct {
	// ID is "HZ-" and a time-ordered random part for a hazard registered
	// through the API, and RuleID's digest for one a rule opened, so that
	// seeing the same risk transition again finds the same hazard.
	ID       string
	SchoolID string
	Title    string
	// Category is one of Categories for a registered hazard; a rule's
	// hazard spec may name others.
	Category string
	// Level is how serious the hazard is when registered; supervision
	// raises the school's risk one step above it, not Level itself.
	Level engine.Severity
	// Responsible is the person who must rectify it (整改责任人).
	Responsible string
	Deadline    time.Time
	Status      Status
	// Evidence is everything attached by every transition, oldest first.
	Evidence []Evidence
	Origin   Origin
	// CreatedAt and CreatedBy say when and by whom the hazard was
	// registered ("system" for a rule's hazard).
	CreatedAt time.Time
	CreatedBy string
	// UpdatedAt is the time of the last transition.
	UpdatedAt time.Time
	// SupervisedAt is when the hazard was put under supervision (挂牌督办)
	// for missing its deadline; zero if it has not been.
	SupervisedAt time.Time
	// VerifiedAt is when it was verified and closed (销号); zero until then.
	VerifiedAt time.Time
	// Version counts the transitions recorded; the store keeps the state of
	// the highest version, so that an old state written late loses.
	Version uint64
}

// Supervised reports whether the hazard was put under supervision (挂牌督办).
func (h *Hazard) Supervised() bool { return !h.SupervisedAt.IsZero() }

// Overdue reports whether the hazard is past its deadline at now and not
// yet verified, whether or not it has been put under supervision yet.
func (h *Hazard) Overdue(now time.Time) bool {
	return h.Status != StatusVerified && now.After(h.Deadline)
}

// Clone returns a deep copy of h.
func (h *Hazard) Clone() *Hazard {
	c := *h
	c.Evidence = slices.Clone(h.Evidence)
	return &c
}

// RiskRef returns the engine risk (rule and key) that holds the school's
// colour for the hazard: the rule's own risk for a hazard a rule opened,
// otherwise the hazard's risk of rule RiskRule keyed by its id.
func (h *Hazard) RiskRef() (rule, key string) {
	if h.Origin.Rule != "" {
		return h.Origin.Rule, h.Origin.Key
	}
	return RiskRule, h.ID
}

// Source returns the event source whose risks the hazard is counted with:
// its rule's for a hazard a rule opened, otherwise its category's (see
// SourceFor), "" for a category without one.
func (h *Hazard) Source() engine.Source {
	if h.Origin.Rule != "" {
		return h.Origin.Source
	}
	return SourceFor(h.Category)
}

// Origin says where a hazard came from: the risk of a rule (Rule and Key of
// the risk, and its source), or an inspector when Rule is "".
type Origin struct {
	Rule   string
	Key    string
	Source engine.Source
}

// OriginInspector is the name of the origin of hazards people registered.
const OriginInspector = "inspector"

// String returns "inspector", or the rule and key as rule/key.
func (o Origin) String() string {
	switch {
	case o.Rule == "":
		return OriginInspector
	case o.Key == "":
		return o.Rule
	}
	return o.Rule + "/" + o.Key
}

// EvidenceKind is the kind of one piece of evidence.
type EvidenceKind string

// Evidence kinds.
const (
	// EvidenceText is a statement, e.g. what was done and checked.
	EvidenceText EvidenceKind = "text"
	// EvidenceLink is an http(s) link to a photo, a document or a record
	// kept elsewhere.
	EvidenceLink EvidenceKind = "link"
)

// Evidence is one attachment of a transition (整改佐证).
type Evidence struct {
	Kind  EvidenceKind
	Value string
	// By and At are who attached it and when: the transition's.
	By string
	At time.Time
}

// Transition is one recorded step of a hazard.
type Transition struct {
	// ID is the hazard's id and the Version it made, as "HZ-…:3".
	ID       string
	HazardID string
	SchoolID string
	// Version is the hazard's version after this transition (1 for the
	// registration).
	Version  uint64
	At       time.Time
	Action   Action
	From, To Status // From is "" for ActionCreate
	By       string
	Comment  string
	Evidence []Evidence
}

// Spec is the hazard a rule opens together with its risk. Package rules
// produces one for each rule with a hazard block; a zero Spec opens none.
type Spec struct {
	// Category is one of Categories, or another name the rule author
	// chose; CategoryOther when empty.
	Category string
	// Deadline is how long the school has to rectify, from the moment the
	// risk opened; DefaultDeadline when zero.
	Deadline time.Duration
	// Responsible is who must rectify, e.g. "食堂负责人".
	Responsible string
}

// IsZero reports whether s is the zero Spec, which opens no hazard.
func (s Spec) IsZero() bool { return s == Spec{} }

// DefaultDeadline is the time to rectify of a rule's hazard whose spec gives
// none.
const DefaultDeadline = 72 * time.Hour

// Hazard categories (隐患类别).
const (
	CategoryFood     = "食品安全"
	CategoryDrowning = "防溺水"
	CategoryBullying = "校园欺凌"
	CategoryGate     = "门卫安保"
	CategoryFire     = "消防"
	CategoryOther    = "其他"
)

// Categories are the categories a hazard registered through the API may have.
var Categories = []string{CategoryFood, CategoryDrowning, CategoryBullying, CategoryGate, CategoryFire, CategoryOther}

// SourceFor returns the event source whose risks a category's hazards are
// counted with, or "" for a category without one (消防, 其他).
func SourceFor(category string) engine.Source {
	switch category {
	case CategoryFood:
		return engine.SourceCanteen
	case CategoryDrowning:
		return engine.SourceDrowning
	case CategoryBullying:
		return engine.SourceBullying
	case CategoryGate:
		return engine.SourceVisitor
	}
	return ""
}

// RiskRule is the rule id of the risks hazards registered by inspectors
// open in the engine; the risk's key is the hazard's id.
const RiskRule = "hazard"

// System is the actor of what the Manager does by itself: opening a rule's
// hazard and putting an overdue hazard under supervision.
const System = "system"

// Risk titles, followed by the hazard's title.
const (
	titlePrefix        = "隐患："
	overdueTitlePrefix = "隐患逾期未整改（挂牌督办）："
)

// raise returns the severity one step above s; high stays high.
func raise(s engine.Severity) engine.Severity {
	switch s {
	case engine.SeverityLow:
		return engine.SeverityMedium
	case engine.SeverityMedium, engine.SeverityHigh:
		return engine.SeverityHigh
	}
	return engine.SeverityMedium
}

// RuleID returns the id of the hazard that the risk of rule and key at a
// school, first seen at firstSeen, opens. It depends on nothing else, so the
// same risk transition seen twice (a redelivery, a replay) names the same
// hazard.
func RuleID(schoolID, rule, key string, firstSeen time.Time) string {
	h := sha256.New()
	for _, s := range []string{schoolID, rule, key} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(firstSeen.UnixMilli()))
	h.Write(ms[:])
	return "HZR-" + hex.EncodeToString(h.Sum(nil)[:10])
}

// crockford is the alphabet of ULIDs: no I, L, O or U.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns a new hazard id for a hazard registered at t: "HZ-" and a
// ULID (48 bits of milliseconds and 80 random bits in Crockford base 32), so
// that ids sort by registration time and never collide in practice.
func NewID(t time.Time) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i))
	}
	if _, err := rand.Read(b[6:]); err != nil {
		panic(fmt.Sprintf("hazard: read random bytes: %v", err)) // crypto/rand never fails on supported platforms
	}
	// 128 bits as 26 characters of 5 bits, the first holding the top 3.
	var out [26]byte
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return "HZ-" + string(out[:])
}

// Limits of what people write.
const (
	maxTitle         = 200  // runes
	maxText          = 2000 // runes of a comment or an evidence value
	maxName          = 100  // runes of a person's name
	maxEvidencePer   = 20   // pieces of evidence per transition
	maxEvidenceTotal = 200  // pieces of evidence per hazard
)

// ErrInvalid is wrapped by the errors of requests that are wrong in
// themselves (a missing field, an unknown category): repeating them cannot
// succeed.
var ErrInvalid = errors.New("invalid hazard request")

// invalid returns an error wrapping ErrInvalid that lists problems.
func invalid(problems []string) error {
	return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
}

// checkText appends a problem when the field value is longer than max runes.
func checkText(problems []string, field, value string, max int) []string {
	if n := utf8.RuneCountInString(value); n > max {
		problems = append(problems, fmt.Sprintf("%s is %d characters long, at most %d", field, n, max))
	}
	return problems
}

// checkEvidence appends the problems of evidence.
func checkEvidence(problems []string, evidence []Evidence) []string {
	if len(evidence) > maxEvidencePer {
		problems = append(problems, fmt.Sprintf("%d pieces of evidence, at most %d per step", len(evidence), maxEvidencePer))
	}
	for i, ev := range evidence {
		field := fmt.Sprintf("evidence[%d]", i)
		switch ev.Kind {
		case EvidenceText:
		case EvidenceLink:
			if u, err := url.Parse(ev.Value); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				problems = append(problems, fmt.Sprintf("%s: a link must be an http or https URL, not %q", field, ev.Value))
			}
		default:
			problems = append(problems, fmt.Sprintf("%s: unknown kind %q, expected text or link", field, ev.Kind))
		}
		if strings.TrimSpace(ev.Value) == "" {
			problems = append(problems, field+": the value is empty")
		}
		problems = checkText(problems, field, ev.Value, maxText)
	}
	return problems
}

// stamp returns a copy of evidence attributed to by at at.
func stamp(evidence []Evidence, by string, at time.Time) []Evidence {
	if len(evidence) == 0 {
		return nil
	}
	out := make([]Evidence, len(evidence))
	for i, ev := range evidence {
		out[i] = Evidence{Kind: ev.Kind, Value: strings.TrimSpace(ev.Value), By: by, At: at}
	}
	return out
}
