package event

import (
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"unsafe"

	"github.com/sanse-campus/sanse/engine"
)

// text locates a decoded string: in the message when it needed no
// unescaping, else in the parser's scratch buffer.
type text struct {
	off, end int
	scratch  bool
}

// member is one member of the top-level object, as the payload to store is
// built from them (see payload).
type member struct {
	f                field
	keyStart, keyEnd int // the key's bytes, without the quotes
	start, end       int // the value's bytes
	null             bool
	pii              bool // the value holds a number MaskText masks
	dup              bool // a later member has the same key
}

// pending is a string of an accepted event waiting to be copied (see keep).
type pending struct {
	dst *string
	src []byte
}

// parser reads an event in one pass over the message, without building
// any intermediate value: it records where each known field's value lies
// (or its number or boolean), skips unknown fields of any type, and keeps
// the first error. It accepts and rejects exactly what encoding/json accepts
// and rejects when unmarshalling into a struct of pointers, with the same
// error wording, so that dead-letter headers read as before:
//
//   - a syntax error anywhere wins over everything else, then a top-level
//     value that is not an object, then the first value of the wrong type;
//   - null for a known field leaves it absent, and the last of duplicate keys
//     wins;
//   - strings are unescaped with invalid UTF-8 and lone surrogates replaced
//     by U+FFFD;
//   - arrays and objects nest at most maxDepth deep.
//
// Unlike encoding/json it matches keys exactly: "ID" is an unknown field.
//
// Parsers are pooled: buffers are reused from event to event, so nothing an
// accepted event keeps may point into them (see keep and commit).
type parser struct {
	data []byte
	pos  int

	present uint64 // known fields holding a value
	truth   uint64 // values of the boolean fields
	pii     uint64 // known fields whose value holds a number MaskText masks
	lastPII bool   // whether the value just read holds one
	texts   [numFields]text
	nums    [numFields]float64
	scratch []byte // unescaped strings

	// suspect_refs, decoded as encoding/json decodes into a *[]string: a
	// later duplicate key reuses the slice, and null elements keep what
	// the slice held. refs is the backing array (its length is the slice's
	// capacity) and refN the slice's length.
	refs []text
	refN int

	members []member
	stack   []byte // closing bytes of the containers open while skipping

	// The first error. A syntax error ends the pass; a type error is kept
	// while the pass goes on, since a later syntax error takes precedence.
	synEOF   bool
	synChar  byte
	synCtx   string
	typeErr  bool
	typeF    field
	typeVal  string // what was found: "string", "number", ...
	typeWant string // what was expected
	typeLit  text   // the number too large for a float64, if that is the error

	tmp        []byte    // hashed and masked identity
	scratchOut []byte    // a value the payload is given in place of the one sent
	pend       []pending // strings to copy once the event is accepted
	total      int
}

var parsers = sync.Pool{New: func() any { return new(parser) }}

func newParser(data []byte) *parser {
	p := parsers.Get().(*parser)
	p.data = data
	return p
}

// release returns p to the pool. Buffers keep their capacity unless a large
// message grew them.
func (p *parser) release() {
	const keepCap = 16 << 10
	p.data, p.pos, p.present, p.truth, p.pii, p.lastPII = nil, 0, 0, 0, 0, false
	p.scratch = trimmed(p.scratch, keepCap)
	p.refs, p.refN = trimmed(p.refs, keepCap/16), 0
	p.members = trimmed(p.members, keepCap/32)
	p.stack = trimmed(p.stack, keepCap)
	p.synEOF, p.typeErr = false, false
	p.tmp = trimmed(p.tmp, keepCap)
	p.scratchOut = trimmed(p.scratchOut, keepCap)
	clear(p.pend)
	p.pend, p.total = trimmed(p.pend, keepCap/32), 0
	parsers.Put(p)
}

func trimmed[T any](s []T, limit int) []T {
	if cap(s) > limit {
		return nil
	}
	return s[:0]
}

// parse reads the whole message. The error is a *DecodeError.
func (p *parser) parse() error {
	ok, object := p.document()
	switch {
	case !ok:
		return &DecodeError{Reason: ReasonNotJSON, Msg: "the message is not valid JSON: " + p.syntaxMessage()}
	case !object:
		return &DecodeError{Reason: ReasonNotJSON, Msg: "the message is not a JSON object"}
	case p.typeErr:
		found := p.typeVal
		if p.typeLit.end > 0 {
			found = "number " + string(p.data[p.typeLit.off:p.typeLit.end])
		}
		return &DecodeError{Reason: ReasonWrongType, Field: p.typeF.name(), Msg: fmt.Sprintf("got a JSON %s, expected %s", found, p.typeWant)}
	}
	return nil
}

// has reports whether f holds a value.
func (p *parser) has(f field) bool { return p.present&(1<<f) != 0 }

// text returns the decoded string f holds, nil if absent. It points into the
// message or the scratch buffer: it must be copied to be kept.
func (p *parser) text(f field) []byte {
	if !p.has(f) {
		return nil
	}
	return p.bytes(p.texts[f])
}

func (p *parser) bytes(t text) []byte {
	if t.scratch {
		return p.scratch[t.off:t.end]
	}
	return p.data[t.off:t.end]
}

func (p *parser) boolean(f field) bool { return p.present&p.truth&(1<<f) != 0 }

func (p *parser) number(f field) float64 {
	if !p.has(f) {
		return 0
	}
	return p.nums[f]
}

// transient returns b as a string without copying, for a call that does not
// keep its argument (a map lookup, a parse whose errors are discarded).
func transient(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// keep schedules src to be copied into *dst by commit.
func (p *parser) keep(dst *string, src []byte) {
	if len(src) == 0 {
		return
	}
	p.pend = append(p.pend, pending{dst, src})
	p.total += len(src)
}

// keepRefs sets ev.SuspectRefs, its strings scheduled by keep.
func (p *parser) keepRefs(ev *engine.Event) {
	if !p.has(fSuspectRefs) {
		return
	}
	if p.refN == 0 {
		ev.SuspectRefs = []string{}
		return
	}
	refs := make([]string, p.refN)
	for i := range refs {
		p.keep(&refs[i], p.masked(p.bytes(p.refs[i])))
	}
	ev.SuspectRefs = refs
}

// commit copies every kept string into one new allocation, which is never
// written again, and points the event's fields at it.
func (p *parser) commit() {
	if p.total == 0 {
		return
	}
	buf := make([]byte, 0, p.total)
	for _, k := range p.pend {
		buf = append(buf, k.src...)
	}
	all := unsafe.String(unsafe.SliceData(buf), len(buf))
	off := 0
	for _, k := range p.pend {
		*k.dst = all[off : off+len(k.src)]
		off += len(k.src)
	}
}

// typeError records a value of the wrong type, if it is the first.
func (p *parser) typeError(f field, found, want string) {
	if p.typeErr {
		return
	}
	p.typeErr, p.typeF, p.typeVal, p.typeWant, p.typeLit = true, f, found, want, text{}
}

// wants names what a field's kind expects, as the error message says it.
var wants = [...]string{
	kindString:  "string",
	kindBool:    "boolean (true or false)",
	kindNumber:  "number",
	kindStrings: "array of strings",
}

// document reads the top-level value: an object, or null, which leaves
// every field absent as encoding/json does. ok is false on a syntax error.
func (p *parser) document() (ok, object bool) {
	p.space()
	if p.pos >= len(p.data) {
		return p.fail(ctxValue, true), false
	}
	switch p.data[p.pos] {
	case '{':
		if !p.object() {
			return false, false
		}
		object = true
	case 'n':
		if !p.literal("null") {
			return false, false
		}
		object = true
	default:
		if !p.skip(0) {
			return false, false
		}
	}
	p.space()
	if p.pos < len(p.data) {
		return p.fail(ctxAfterTop, false), false
	}
	return true, object
}

// object reads the top-level object, p.pos at its '{'.
func (p *parser) object() bool {
	p.pos++
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return true
	}
	for {
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return p.fail(ctxKey, true)
		}
		keyStart := p.pos + 1
		f, ok := p.key()
		if !ok {
			return false
		}
		keyEnd := p.pos - 1
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return p.fail(ctxAfterKey, true)
		}
		p.pos++
		p.space()
		start := p.pos
		p.lastPII = false
		if !p.value(f) {
			return false
		}
		p.members = append(p.members, member{f: f, keyStart: keyStart, keyEnd: keyEnd, start: start, end: p.pos,
			null: p.data[start] == 'n', pii: p.lastPII})
		p.space()
		if p.pos >= len(p.data) {
			return p.fail(ctxAfterPair, true)
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			p.space()
		case '}':
			p.pos++
			return true
		default:
			return p.fail(ctxAfterPair, true)
		}
	}
}

// key reads an object key, p.pos at its opening quote, and returns the
// known field it names.
func (p *parser) key() (field, bool) {
	start, end, slow, ok := p.str()
	if !ok {
		return fUnknown, false
	}
	if !slow {
		return lookupField(p.data[start:end]), true
	}
	n := len(p.scratch)
	p.scratch = appendUnquoted(p.scratch, p.data[start:end])
	f := lookupField(p.scratch[n:])
	p.scratch = p.scratch[:n]
	return f, true
}

// value reads the value of a top-level member naming f.
func (p *parser) value(f field) bool {
	if p.pos >= len(p.data) {
		return p.fail(ctxValue, true)
	}
	k := f.kind()
	bit := uint64(1) << (f & 63)
	switch c := p.data[p.pos]; c {
	case '"':
		start, end, slow, ok := p.str()
		if !ok {
			return false
		}
		switch k {
		case kindString:
			t := p.textOf(start, end, slow)
			p.texts[f] = t
			p.present |= bit
			if scanned[f] {
				p.markPII(bit, p.bytes(t))
			}
		case kindUnknown:
		default:
			p.typeError(f, "string", wants[k])
		}
		return true
	case 'n':
		if !p.literal("null") {
			return false
		}
		if k != kindUnknown {
			p.present &^= bit
			p.pii &^= bit
		}
		return true
	case 't', 'f':
		word := "true"
		if c == 'f' {
			word = "false"
		}
		if !p.literal(word) {
			return false
		}
		switch k {
		case kindBool:
			p.present |= bit
			if c == 't' {
				p.truth |= bit
			} else {
				p.truth &^= bit
			}
		case kindUnknown:
		default:
			p.typeError(f, "bool", wants[k])
		}
		return true
	case '{':
		if k != kindUnknown {
			p.typeError(f, "object", wants[k])
		}
		return p.skip(1)
	case '[':
		if k == kindStrings {
			return p.stringArray(f)
		}
		if k != kindUnknown {
			p.typeError(f, "array", wants[k])
		}
		return p.skip(1)
	}
	start := p.pos
	if !p.num() {
		return false
	}
	switch k {
	case kindNumber:
		v, err := strconv.ParseFloat(transient(p.data[start:p.pos]), 64)
		if err != nil {
			if !p.typeErr {
				p.typeError(f, "number", wants[k])
				p.typeLit = text{off: start, end: p.pos}
			}
			return true
		}
		p.nums[f] = v
		p.present |= bit
		if p.pos-start >= minPIIDigits {
			p.markPII(bit, p.data[start:p.pos])
		}
	case kindUnknown:
	default:
		p.typeError(f, "number", wants[k])
	}
	return true
}

// stringArray reads the array of strings f, p.pos at its '['. Like
// encoding/json it reuses the slice of an earlier duplicate key: elements
// are written in place, the slice grows as append grows a []string, and a
// null element leaves what was there.
func (p *parser) stringArray(f field) bool {
	bit := uint64(1) << (f & 63)
	if p.present&bit == 0 {
		p.refs, p.refN = p.refs[:0], 0
	}
	p.present |= bit
	p.pos++
	p.space()
	i := 0
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
	} else {
		for {
			if p.pos >= len(p.data) {
				return p.fail(ctxValue, true)
			}
			if i >= len(p.refs) {
				for c := grownCap(len(p.refs)); len(p.refs) < c; {
					p.refs = append(p.refs, text{})
				}
			}
			if i >= p.refN {
				p.refN = i + 1
			}
			switch c := p.data[p.pos]; c {
			case '"':
				start, end, slow, ok := p.str()
				if !ok {
					return false
				}
				p.refs[i] = p.textOf(start, end, slow)
				p.lastPII = p.lastPII || HasPII(p.bytes(p.refs[i]))
			case 'n':
				if !p.literal("null") {
					return false
				}
			case 't', 'f':
				word := "true"
				if c == 'f' {
					word = "false"
				}
				if !p.literal(word) {
					return false
				}
				p.typeError(f, "bool", "string")
			case '{', '[':
				found := "object"
				if c == '[' {
					found = "array"
				}
				p.typeError(f, found, "string")
				if !p.skip(2) {
					return false
				}
			default:
				if !p.num() {
					return false
				}
				p.typeError(f, "number", "string")
			}
			i++
			p.space()
			if p.pos >= len(p.data) {
				return p.fail(ctxAfterElem, true)
			}
			if p.data[p.pos] == ']' {
				p.pos++
				break
			}
			if p.data[p.pos] != ',' {
				return p.fail(ctxAfterElem, true)
			}
			p.pos++
			p.space()
		}
	}
	if i < p.refN {
		p.refN = i
	}
	if i == 0 {
		p.refs, p.refN = p.refs[:0], 0 // a new empty slice
	}
	if p.lastPII {
		p.pii |= bit
	} else {
		p.pii &^= bit
	}
	return true
}

// scanned marks the string fields whose values are looked at for numbers
// MaskText masks. The others cannot hold one, or hold one anyway: the
// envelope's source and type and the enumerated fields must be one of
// their values, and visitor_id and name
// are hashed and masked whatever they hold. occurred_at is looked at only
// when it has the digits (of its fraction of a second) to hold one.
var scanned = func() (s [numFields]bool) {
	for f := range numFields {
		s[f] = f.kind() == kindString
	}
	for _, f := range []field{fSource, fType, fVisitorID, fName, fWatchlist, fViolation, fZone, fChannel, fKind} {
		s[f] = false
	}
	return s
}()

// markPII records whether v, the value of the field bit just read, holds a
// number MaskText masks.
func (p *parser) markPII(bit uint64, v []byte) {
	if maybePII(v) && HasPII(v) {
		p.pii |= bit
		p.lastPII = true
	} else {
		p.pii &^= bit
	}
}

// stringCaps[c] is the capacity reflect.Value.Grow(1) gives a full []string
// of capacity c, as encoding/json grows slices.
var stringCaps = func() (caps [64]int) {
	for c := range caps {
		caps[c] = growStrings(c)
	}
	return caps
}()

func grownCap(c int) int {
	if c < len(stringCaps) {
		return stringCaps[c]
	}
	return growStrings(c)
}

func growStrings(c int) int {
	s := make([]string, c)
	v := reflect.ValueOf(&s).Elem()
	v.Grow(1)
	return v.Cap()
}
