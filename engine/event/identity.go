package event

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Identity turns a visitor's ID-card number into a keyed hash, so that the
// same person can be matched across events without the number being stored.
type Identity struct {
	key []byte
}

// NewIdentity returns an Identity hashing with key, which must be at least 16 bytes.
func NewIdentity(key []byte) (*Identity, error) {
	if len(key) < 16 {
		return nil, errors.New("visitor identity key must be at least 16 bytes")
	}
	return &Identity{key: append([]byte(nil), key...)}, nil
}

// LoadIdentityKey reads the key from path, creating the file with a new random
// key (mode 0600) when it does not exist. The key must stay the same for the
// life of the data: a new key makes the same visitor hash differently.
func LoadIdentityKey(path string) (*Identity, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create visitor key directory: %w", err)
		}
		enc := []byte(hex.EncodeToString(key) + "\n")
		if err := os.WriteFile(path, enc, 0o600); err != nil {
			return nil, fmt.Errorf("write visitor key: %w", err)
		}
		b = enc
	} else if err != nil {
		return nil, fmt.Errorf("read visitor key: %w", err)
	}
	return NewIdentity([]byte(strings.TrimSpace(string(b))))
}

// Hash returns the keyed hash of an identity number (HMAC-SHA256, first 16
// bytes, hex). Letters are upper-cased first, so 330…x and 330…X match.
func (i *Identity) Hash(id string) string {
	m := hmac.New(sha256.New, i.key)
	m.Write([]byte(strings.ToUpper(strings.TrimSpace(id))))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// HashText returns the keyed hash of any text, as it is (HMAC-SHA256 over
// "text:" and s, first 16 bytes), for values that must stay distinct and
// stable but not readable, such as an event id holding what looks like a
// mobile number. It is written with the letters a to p for the 16 values
// of each half-byte: no digits, so that the hash never looks like a number
// MaskText masks.
func (i *Identity) HashText(s string) string {
	m := hmac.New(sha256.New, i.key)
	m.Write([]byte("text:"))
	m.Write([]byte(s))
	sum := m.Sum(nil)[:16]
	out := make([]byte, 0, 2*len(sum))
	for _, b := range sum {
		out = append(out, 'a'+b>>4, 'a'+b&0xf)
	}
	return string(out)
}

// MaskID returns the form of an identity number shown to people: the first
// four and last four characters kept, the rest starred (3304**********123X).
func MaskID(id string) string {
	id = strings.ToUpper(strings.TrimSpace(id))
	n := utf8.RuneCountInString(id)
	if n <= 8 {
		return strings.Repeat("*", n)
	}
	r := []rune(id)
	return string(r[:4]) + strings.Repeat("*", n-8) + string(r[n-4:])
}

// MaskName keeps the first character of a name and stars the rest (张**).
func MaskName(name string) string {
	r := []rune(strings.TrimSpace(name))
	if len(r) == 0 {
		return ""
	}
	if len(r) == 1 {
		return "*"
	}
	return string(r[0]) + strings.Repeat("*", len(r)-1)
}
