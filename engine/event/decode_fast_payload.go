package event

import "github.com/sanse-campus/sanse/engine"

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
	for _, m := range p.members {
		if m.f == fUnknown || m.dup {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, '"')
		out = append(out, m.f.name()...)
		out = append(out, '"', ':')
		switch {
		case identity && m.f == fVisitorID:
			out = appendQuoted(out, masked)
		case identity && m.f == fName:
			out = appendQuoted(out, name)
		case identity && m.f == fVisitorHash && visitorKey:
			out = appendQuoted(out, hash)
		case idHash != nil && m.f == fID:
			out = appendQuoted(out, idHash)
		case anonymous && m.f == fReporter:
			out = append(out, `"`+Anonymous+`"`...)
		case m.pii && m.f == fSuspectRefs:
			out = append(out, '[')
			for i, t := range p.refs[:p.refN] {
				if i > 0 {
					out = append(out, ',')
				}
				out = p.appendQuotedMasked(out, p.bytes(t))
			}
			out = append(out, ']')
		case m.pii:
			out = p.appendQuotedMasked(out, p.text(m.f))
		default:
			out = append(out, p.data[m.start:m.end]...)
		}
		if identity && m.f == fVisitorID && !hashSent {
			out = append(out, `,"visitor_hash":`...)
			out = appendQuoted(out, hash)
		}
	}
	return append(out, '}')
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
