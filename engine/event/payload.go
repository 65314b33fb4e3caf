package event

import "bytes"

// The payload to store: the members of the contract as sent, but for
// personal fields (hashed and masked, masked, or dropped as declared),
// numbers MaskText masks in string values (masked), and unknown fields and
// earlier duplicates (left out).

// payload returns the payload to store for the message p read, its members
// resolved to src's fields. anonymous is whether the event is an anonymous
// report, whose reporter becomes Anonymous; idHash, when not nil, replaces
// the id.
//
// When nothing needs changing it is the message itself. Otherwise it is
// rebuilt from the members kept, in their order: a hashed field holds its
// masked form, followed by its hash under the field's HashAs name.
func (p *parser) payload(src *Source, anonymous bool, idHash []byte) []byte {
	need := idHash != nil
	for i := 0; i < len(p.members) && !need; i++ {
		m := &p.members[i]
		switch {
		case m.dup || m.pii:
			need = true
		case m.env < 0 && m.fi == 0:
			need = true
		case m.fi != 0 && p.fieldOf(m).Personal != NotPersonal && m.typ != jNull:
			need = true
		case anonymous && m.env == envReporter && m.typ != jNull:
			need = true
		}
	}
	if !need {
		return p.data
	}
	out := make([]byte, 0, len(p.data)+64)
	out = append(out, '{')
	// Members kept as sent are copied in runs of the message's bytes; a
	// segment is a member with what precedes it (spaces, the comma).
	segStart := bytes.IndexByte(p.data, '{') + 1
	run := -1 // where the run of members kept as sent starts
	for i := range p.members {
		m := &p.members[i]
		start := segStart
		segStart = m.end
		var v []byte // the replacement value, when not nil
		skip := false
		f := p.fieldOf(m)
		switch {
		case m.dup || (m.env < 0 && f == nil):
			skip = true
		case m.env == envID && idHash != nil:
			v = appendQuoted(p.scratchOut[:0], idHash)
		case m.env == envReporter && anonymous:
			v = append(p.scratchOut[:0], quotedAnonymous...)
		case f != nil && m.typ != jNull && f.Personal == PersonalDrop:
			skip = true
		case f != nil && m.typ != jNull && f.Personal == PersonalHash:
			v = appendQuoted(p.scratchOut[:0], p.tmpBytes(m.rep))
			v = append(v, ',', '"')
			v = append(v, f.HashAs...)
			v = append(v, '"', ':')
			v = appendQuoted(v, p.tmpBytes(m.hash))
		case f != nil && m.typ != jNull && f.Personal == PersonalMask:
			v = appendQuoted(p.scratchOut[:0], p.tmpBytes(m.rep))
		case m.pii && m.typ == jArray:
			v = append(p.scratchOut[:0], '[')
			for i, t := range p.elems[m.elemStart:m.elemEnd] {
				if i > 0 {
					v = append(v, ',')
				}
				v = p.appendQuotedMasked(v, p.bytes(t))
			}
			v = append(v, ']')
		case m.pii && m.typ == jString:
			v = p.appendQuotedMasked(p.scratchOut[:0], p.bytes(m.val))
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
		if !skip && v != nil {
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
