package event

import (
	"bytes"

	"github.com/sanse-campus/sanse/engine"
)

// The payload to store: the members of the contract as sent, but for the
// visitor's identity (hashed and masked), numbers MaskText masks in string
// values (masked), and unknown fields (dropped).

// payload returns the payload to store for the message p read. identity is
// whether visitor_id or name holds a value; masked, hash and name are then
// what replaces them (masked and hash empty when visitor_id is null).
// anonymous is whether the event is an anonymous report, whose reporter
// becomes Anonymous; idHash, when not nil, replaces the id.
//
// When nothing needs changing it is the message itself. Otherwise it is
// rebuilt from the last member of each known key, in their order: every
// visitor_id holds the masked number, every name the masked name, and
// visitor_hash the hash (replacing what the producer sent there, or added
// after visitor_id); strings holding ID-card or mobile numbers are masked;
// unknown members and earlier duplicates are left out.
func (p *parser) payload(identity, anonymous bool, idHash, masked, hash, name []byte) []byte {
	need, hashSent, visitorKey := identity || idHash != nil, false, false
	for _, m := range p.members {
		switch {
		case m.f == fUnknown || m.pii:
			need = true
		case anonymous && m.f == fReporter && !m.null:
			need = true
		case (m.f == fVisitorID || m.f == fName) && !m.null:
			need = true // an earlier duplicate of a null one
		}
		hashSent = hashSent || m.f == fVisitorHash
		visitorKey = visitorKey || m.f == fVisitorID
	}
	if !need {
		return p.data
	}
	var seen uint64
	for i := len(p.members) - 1; i >= 0; i-- {
		m := &p.members[i]
		if m.f == fUnknown {
			continue
		}
		bit := uint64(1) << m.f
		m.dup = seen&bit != 0
		seen |= bit
	}
	out := make([]byte, 0, len(p.data)+len(masked)+2*len(hash)+len(name)+32)
	out = append(out, '{')
	// Members kept as sent are copied in runs of the message's bytes; a
	// segment is a member with what precedes it (spaces, the comma).
	segStart := bytes.IndexByte(p.data, '{') + 1
	run := -1 // where the run of members kept as sent starts
	for _, m := range p.members {
		start := segStart
		segStart = m.end
		var v []byte // the replacement value, when not nil
		switch {
		case m.f == fUnknown || m.dup:
		case idHash != nil && m.f == fID:
			v = appendQuoted(p.scratchOut[:0], idHash)
		case anonymous && m.f == fReporter:
			v = append(p.scratchOut[:0], quotedAnonymous...)
		case identity && m.f == fVisitorID:
			v = appendQuoted(p.scratchOut[:0], masked)
			if !hashSent {
				v = append(v, `,"visitor_hash":`...)
				v = appendQuoted(v, hash)
			}
		case identity && m.f == fName:
			v = appendQuoted(p.scratchOut[:0], name)
		case identity && m.f == fVisitorHash && visitorKey:
			v = appendQuoted(p.scratchOut[:0], hash)
		case m.pii && m.f == fSuspectRefs:
			v = append(p.scratchOut[:0], '[')
			for i, t := range p.refs[:p.refN] {
				if i > 0 {
					v = append(v, ',')
				}
				v = p.appendQuotedMasked(v, p.bytes(t))
			}
			v = append(v, ']')
		case m.pii:
			v = p.appendQuotedMasked(p.scratchOut[:0], p.text(m.f))
		default:
			if run < 0 {
				run = start
			}
			continue
		}
		if run >= 0 {
			out = appendSegment(out, p.data[run:start])
			run = -1
		}
		if v != nil {
			out = appendSegment(out, p.data[start:m.start])
			out = append(out, v...)
			p.scratchOut = v[:0]
		}
	}
	if run >= 0 {
		out = appendSegment(out, p.data[run:segStart])
	}
	return append(out, '}')
}

var quotedAnonymous = []byte(`"` + Anonymous + `"`)

// appendSegment appends seg, members as the message has them (each but
// the first starting with a comma), to the object being built in dst: with
// a comma before it unless it is the first, whatever it started with.
func appendSegment(dst, seg []byte) []byte {
	i := 0
	for i < len(seg) && isJSONSpace(seg[i]) {
		i++
	}
	if i < len(seg) && seg[i] == ',' {
		i++
	}
	if len(dst) > 1 {
		dst = append(dst, ',')
	}
	return append(dst, seg[i:]...)
}

// appendQuotedMasked appends v, with the numbers MaskText masks masked, as
// a JSON string.
func (p *parser) appendQuotedMasked(dst, v []byte) []byte {
	if !maybePII(v) {
		return appendQuoted(dst, v)
	}
	start := len(p.tmp)
	p.tmp = AppendMasked(p.tmp, v)
	dst = appendQuoted(dst, p.tmp[start:])
	p.tmp = p.tmp[:start]
	return dst
}

// masked returns v with the numbers MaskText masks masked: v itself when
// there are none, else a copy in p.tmp.
func (p *parser) masked(v []byte) []byte {
	if !maybePII(v) {
		return v
	}
	start := len(p.tmp)
	var changed bool
	p.tmp, changed = appendMasked(p.tmp, v)
	if !changed {
		p.tmp = p.tmp[:start]
		return v
	}
	return p.tmp[start:]
}

// dropped calls drop with the key of every unknown member.
func (p *parser) dropped(src engine.Source, drop func(engine.Source, []byte)) {
	for _, m := range p.members {
		if m.f == fUnknown {
			drop(src, p.data[m.keyStart:m.keyEnd])
		}
	}
}
