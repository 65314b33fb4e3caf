package event

import (
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

// span locates bytes in the parser's tmp buffer. Members hold no pointers,
// so that appending them costs no write barriers.
type span struct{ off, end int32 }

// spanOf returns the span of b, which the last append to p.tmp returned.
func (p *parser) spanOf(b []byte) span {
	end := len(p.tmp)
	return span{int32(end - len(b)), int32(end)}
}

func (p *parser) tmpBytes(s span) []byte { return p.tmp[s.off:s.end] }

// fieldOf returns the declared field member m was resolved to, or nil.
func (p *parser) fieldOf(m *member) *Field {
	if m.fi == 0 {
		return nil
	}
	return p.src.Fields[m.fi-1]
}

// JSON types of a member's value, as the parser found it.
const (
	jNull byte = iota
	jString
	jNumber
	jTrue
	jFalse
	jObject
	jArray
)

// jsonNames are the JSON types as error messages name them.
var jsonNames = [...]string{jNull: "null", jString: "string", jNumber: "number", jTrue: "boolean", jFalse: "boolean",
	jObject: "object", jArray: "array"}

// member is one member of the top-level object. The small fields are
// gathered at the end, where they share words: the parser fills one per
// member of every message.
type member struct {
	keyStart, keyEnd int  // the key's bytes as sent, without the quotes
	key              text // the key, unescaped
	start, end       int  // the value's bytes
	val              text // a string's value
	num              float64
	// An array's elements, when every element is a string or null: their
	// texts are elems[elemStart:elemEnd] (null elements are left out).
	elemStart, elemEnd int
	rep, hash          span  // a personal field's masked form and hash, in p.tmp
	fi                 int16 // 1 + the index of its field in the source's Fields, 0: none
	env                int8  // the envelope field it is (envID …), or -1
	typ                byte  // jNull … jArray
	numOK              bool  // the number fits a float64
	elemBad            byte  // the JSON type of the first element that is not a string, or 0
	pii                bool  // a string (or an element) holds a number MaskText masks
	dup                bool  // a later member has the same key
}

// Envelope fields, by index in envelopeNames.
const (
	envID = iota
	envSchoolID
	envSource
	envType
	envOccurredAt
	envReporter
	numEnvelope
)

// parser reads an event in one pass over the message, without building
// any intermediate value: it records each top-level member's key and where
// its value lies (or its number), skips nested values, and keeps the first
// syntax error. Fields are resolved once the source is known (see decode).
//
// Parsers are pooled: buffers are reused from event to event, so nothing an
// accepted event keeps may point into them (see keep and commit).
type parser struct {
	data []byte
	pos  int

	scratch []byte // unescaped strings
	members []member
	elems   []text
	stack   []byte // closing bytes of the containers open while skipping
	env     [numEnvelope]int
	seen    uint64  // the slots of the fields holding a value
	src     *Source // the event's source, once known

	synEOF  bool
	synChar byte
	synCtx  string

	slab       []engine.Value // where events' Values are cut from (see values)
	tmp        []byte         // hashed and masked values
	scratchOut []byte         // a value the payload is given in place of the one sent
	pend       []pending      // strings to copy once the event is accepted
	total      int
}

// pending is a string of an accepted event waiting to be copied (see keep).
type pending struct {
	dst *string
	src []byte
}

var parsers = sync.Pool{New: func() any { return new(parser) }}

func newParser(data []byte) *parser {
	p := parsers.Get().(*parser)
	p.data = data
	for i := range p.env {
		p.env[i] = -1
	}
	return p
}

// release returns p to the pool. Buffers keep their capacity unless a large
// message grew them.
func (p *parser) release() {
	const keepCap = 16 << 10
	p.data, p.pos, p.seen, p.src = nil, 0, 0, nil
	p.scratch = trimmed(p.scratch, keepCap)
	p.members = trimmed(p.members, keepCap/64)
	p.elems = trimmed(p.elems, keepCap/16)
	p.stack = trimmed(p.stack, keepCap)
	p.synEOF = false
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

// slabValues is how many values one allocation of the slab holds.
const slabValues = 1024

// values returns n zero values for an accepted event. They are cut from a
// slab shared by the events this parser decodes, so that an event costs no
// allocation of its own for them: nothing keeps an event's Values beyond the
// event (rules copy what they read; strings point into the event's own
// buffer, not into the slab), so a slab lives as long as the batches of
// events cut from it. A slab is never written again once handed out.
func (p *parser) values(n int) []engine.Value {
	if n > slabValues/4 {
		return make([]engine.Value, n)
	}
	if len(p.slab) < n {
		p.slab = make([]engine.Value, slabValues)
	}
	v := p.slab[:n:n]
	p.slab = p.slab[n:]
	return v
}

// parse reads the whole message. The error is a *DecodeError.
func (p *parser) parse() error {
	ok, object := p.document()
	switch {
	case !ok:
		return &DecodeError{Reason: ReasonNotJSON, Msg: "the message is not valid JSON: " + p.syntaxMessage()}
	case !object:
		return &DecodeError{Reason: ReasonNotJSON, Msg: "the message is not a JSON object"}
	}
	// The last of duplicate keys counts.
	n := len(p.members)
	for i := n - 1; i >= 0; i-- {
		m := &p.members[i]
		if m.env >= 0 {
			if p.env[m.env] >= 0 {
				m.dup = true
			} else {
				p.env[m.env] = i
			}
			continue
		}
		k := p.bytes(m.key)
		for j := i + 1; j < n; j++ {
			if o := &p.members[j]; o.env < 0 && !o.dup && string(p.bytes(o.key)) == string(k) {
				m.dup = true
				break
			}
		}
	}
	return nil
}

func (p *parser) bytes(t text) []byte {
	if t.scratch {
		return p.scratch[t.off:t.end]
	}
	return p.data[t.off:t.end]
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

// document reads the top-level value: an object, or null (which has no
// fields). ok is false on a syntax error.
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
		start, end, slow, ok := p.str()
		if !ok {
			return false
		}
		// The member is filled where it is kept: it is too large to copy
		// cheaply. Nothing else appends to p.members meanwhile.
		p.members = append(p.members, member{})
		m := &p.members[len(p.members)-1]
		m.keyStart, m.keyEnd, m.key = start, end, p.textOf(start, end, slow)
		m.env = envelopeIndex(p.bytes(m.key))
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return p.fail(ctxAfterKey, true)
		}
		p.pos++
		p.space()
		m.start = p.pos
		if !p.value(m) {
			return false
		}
		m.end = p.pos
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

// markPII sets m.pii when m's value holds a number MaskText masks: a
// string, a long number, or an element of an array of strings. It is asked
// only of the members whose values are kept as sent (not of unknown ones,
// which are dropped, nor of enumerated or personal fields).
func (p *parser) markPII(m *member) {
	switch m.typ {
	case jString:
		m.pii = HasPII(p.bytes(m.val))
	case jNumber:
		m.pii = m.end-m.start >= minPIIDigits && HasPII(p.data[m.start:m.end])
	case jArray:
		for _, t := range p.elems[m.elemStart:m.elemEnd] {
			if HasPII(p.bytes(t)) {
				m.pii = true
				return
			}
		}
	}
}

// envelopeIndex returns the envelope field named key, or -1.
func envelopeIndex(key []byte) int8 {
	switch string(key) {
	case "id":
		return envID
	case "school_id":
		return envSchoolID
	case "source":
		return envSource
	case "type":
		return envType
	case "occurred_at":
		return envOccurredAt
	case "reporter":
		return envReporter
	}
	return -1
}

// value reads a top-level member's value into m.
func (p *parser) value(m *member) bool {
	if p.pos >= len(p.data) {
		return p.fail(ctxValue, true)
	}
	switch c := p.data[p.pos]; c {
	case '"':
		start, end, slow, ok := p.str()
		if !ok {
			return false
		}
		m.typ, m.val = jString, p.textOf(start, end, slow)
		return true
	case 'n':
		m.typ = jNull
		return p.literal("null")
	case 't':
		m.typ = jTrue
		return p.literal("true")
	case 'f':
		m.typ = jFalse
		return p.literal("false")
	case '{':
		m.typ = jObject
		return p.skip(1)
	case '[':
		m.typ = jArray
		return p.array(m)
	}
	start := p.pos
	if !p.num() {
		return false
	}
	m.typ = jNumber
	v, err := strconv.ParseFloat(transient(p.data[start:p.pos]), 64)
	m.num, m.numOK = v, err == nil
	return true
}

// array reads a top-level array, p.pos at its '['. Strings are recorded as
// elements; anything else is skipped, and the first such element's type
// kept.
func (p *parser) array(m *member) bool {
	p.pos++
	p.space()
	m.elemStart = len(p.elems)
	m.elemEnd = m.elemStart
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return true
	}
	for {
		if p.pos >= len(p.data) {
			return p.fail(ctxValue, true)
		}
		switch c := p.data[p.pos]; c {
		case '"':
			start, end, slow, ok := p.str()
			if !ok {
				return false
			}
			p.elems = append(p.elems, p.textOf(start, end, slow))
			m.elemEnd = len(p.elems)
		case 'n':
			if !p.literal("null") {
				return false
			}
		default:
			if m.elemBad == 0 {
				switch c {
				case 't', 'f':
					m.elemBad = jTrue
				case '{':
					m.elemBad = jObject
				case '[':
					m.elemBad = jArray
				default:
					m.elemBad = jNumber
				}
			}
			if !p.skip(2) {
				return false
			}
		}
		p.space()
		if p.pos >= len(p.data) {
			return p.fail(ctxAfterElem, true)
		}
		if p.data[p.pos] == ']' {
			p.pos++
			return true
		}
		if p.data[p.pos] != ',' {
			return p.fail(ctxAfterElem, true)
		}
		p.pos++
		p.space()
	}
}
