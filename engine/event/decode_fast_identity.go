package event

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strings"
	"sync"
	"unicode/utf8"
)

// Hashing, masking and redaction of the visitor's identity for the parser.
// The results equal Identity.Hash, MaskID and MaskName; identity numbers in
// ASCII (all real ones) take a path without allocation, anything else goes
// through those functions.

// hasher is a keyed HMAC kept between events: hmac.Reset restores the
// precomputed key state instead of hashing the key again.
type hasher struct {
	owner   *Identity
	mac     hash.Hash
	in, sum []byte
}

var hashers sync.Pool

func (i *Identity) hasher() *hasher {
	if h, _ := hashers.Get().(*hasher); h != nil && h.owner == i {
		return h
	}
	return &hasher{owner: i, mac: hmac.New(sha256.New, i.key)}
}

// hashID appends the hash of the identity number v to p.tmp and returns it.
func (p *parser) hashID(i *Identity, v []byte) []byte {
	start := len(p.tmp)
	if !isASCII(v) {
		p.tmp = append(p.tmp, i.Hash(string(v))...)
		return p.tmp[start:]
	}
	h := i.hasher()
	h.in = appendUpper(h.in[:0], trimASCII(v))
	h.mac.Reset()
	h.mac.Write(h.in)
	h.sum = h.mac.Sum(h.sum[:0])
	p.tmp = hex.AppendEncode(p.tmp, h.sum[:16])
	hashers.Put(h)
	return p.tmp[start:]
}

// maskID appends MaskID(v) to p.tmp and returns it.
func (p *parser) maskID(v []byte) []byte {
	start := len(p.tmp)
	if !isASCII(v) {
		p.tmp = append(p.tmp, MaskID(string(v))...)
		return p.tmp[start:]
	}
	v = trimASCII(v)
	if n := len(v); n <= 8 {
		p.tmp = appendStars(p.tmp, n)
	} else {
		p.tmp = appendUpper(p.tmp, v[:4])
		p.tmp = appendStars(p.tmp, n-8)
		p.tmp = appendUpper(p.tmp, v[n-4:])
	}
	return p.tmp[start:]
}

// maskName appends MaskName(v) to p.tmp and returns it.
func (p *parser) maskName(v []byte) []byte {
	start := len(p.tmp)
	s := strings.TrimSpace(transient(v))
	switch n := utf8.RuneCountInString(s); n {
	case 0:
	case 1:
		p.tmp = append(p.tmp, '*')
	default:
		r, _ := utf8.DecodeRuneInString(s)
		p.tmp = utf8.AppendRune(p.tmp, r)
		p.tmp = appendStars(p.tmp, n-1)
	}
	return p.tmp[start:]
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// trimASCII trims what strings.TrimSpace trims from an ASCII string.
func trimASCII(b []byte) []byte {
	for len(b) > 0 && isASCIISpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isASCIISpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func appendUpper(dst, b []byte) []byte {
	for _, c := range b {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func appendStars(dst []byte, n int) []byte {
	for ; n > 0; n-- {
		dst = append(dst, '*')
	}
	return dst
}

// appendQuoted appends s, valid UTF-8, as a JSON string.
func appendQuoted(dst, s []byte) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
