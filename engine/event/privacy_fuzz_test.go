package event

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/sanse-campus/sanse/engine"
)

// FuzzDecodePrivacy is the privacy oracle of the decoder: whatever the
// message, no ID-card number with a valid check character, first-generation
// ID number or mobile number it holds — in the raw bytes or in any string,
// number or key once JSON escapes are read — is found in the stored payload,
// the strings of the event, or the dead-letter body.
func FuzzDecodePrivacy(f *testing.F) {
	for i, s := range seeds {
		f.Add([]byte(s), uint8(i))
	}
	d := newSeedDecoder(f)
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		secrets := personalNumbers(data)
		if len(secrets) == 0 {
			return
		}
		expected := []engine.Source{"", engine.SourceVisitor, engine.SourceCanteen, engine.SourceDrowning, engine.SourceBullying}[mode%5]
		var ev engine.Event
		if err := d.Decode(expected, data, &ev); err == nil {
			surviving(t, "payload", ev.Payload, secrets)
			strs := []string{ev.ID, ev.SchoolID, ev.Reporter, ev.PersonHash}
			for _, v := range ev.Values {
				strs = append(strs, v.Str())
			}
			for _, s := range strs {
				surviving(t, "event", []byte(s), secrets)
			}
		} else {
			surviving(t, "error", []byte(err.Error()), secrets)
		}
		surviving(t, "dead letter", RedactRaw(data, 0), secrets)
		surviving(t, "truncated dead letter", RedactRaw(data, int(mode)), secrets)
	})
}

// personalNumbers returns the personal numbers in data, found independently
// of the masking code: maximal runs of ASCII digits (and a trailing X) in
// the raw bytes and in every string, number and key of data read as JSON.
func personalNumbers(data []byte) map[string]bool {
	out := map[string]bool{}
	collect := func(b []byte) {
		for _, run := range digitRuns(b) {
			if isPersonalNumber(run) {
				out[run] = true
			}
		}
	}
	collect(rawView(data))
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) == nil {
		walkJSON(v, func(s string) { collect([]byte(s)) })
	}
	return out
}

// rawView returns b with each \uXXXX escape written as the digit it
// stands for, or a space: the hexadecimal digits of an escape are not
// digits of the text. The decoded strings are looked at separately.
func rawView(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			out = append(out, b[i])
			continue
		}
		// Only a \u with four hex digits is an escape; anything else is
		// read as the bytes it is, as a JSON reader refuses it and a
		// person reads the characters.
		if b[i+1] == 'u' && i+6 <= len(b) && isHex(b[i+2]) && isHex(b[i+3]) && isHex(b[i+4]) && isHex(b[i+5]) {
			if r := hex4(b[i+2:]); r >= '0' && r <= '9' {
				out = append(out, byte(r))
			} else {
				out = append(out, ' ')
			}
			i += 5
			continue
		}
		out = append(out, b[i], b[i+1])
		i++
	}
	return out
}

func walkJSON(v any, visit func(string)) {
	switch v := v.(type) {
	case string:
		visit(v)
	case json.Number:
		visit(string(v))
	case []any:
		for _, e := range v {
			walkJSON(e, visit)
		}
	case map[string]any:
		for k, e := range v {
			visit(k)
			walkJSON(e, visit)
		}
	}
}

func digitRuns(b []byte) []string {
	var runs []string
	for i := 0; i < len(b); {
		if b[i] < '0' || b[i] > '9' {
			i++
			continue
		}
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j < len(b) && (b[j] == 'X' || b[j] == 'x') {
			j++
		}
		runs = append(runs, string(bytes.ToUpper(b[i:j])))
		i = j
	}
	return runs
}

func isPersonalNumber(run string) bool {
	digits := run
	if run[len(run)-1] == 'X' {
		digits = run[:len(run)-1]
	}
	mobile := func(s string) bool { return len(s) == 11 && s[0] == '1' && s[1] >= '3' && s[1] <= '9' }
	switch {
	case len(run) == 18:
		w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
		sum := 0
		for k := range 17 {
			sum += int(run[k]-'0') * w[k]
		}
		return "10X98765432"[sum%11] == run[17]
	case len(run) != len(digits):
		return false
	case len(run) == 15:
		return true
	case len(run) == 13 && run[:2] == "86":
		return mobile(run[2:])
	}
	return mobile(run)
}

// surviving fails t if out holds one of the secrets, in its raw bytes or,
// read as JSON, in any string.
func surviving(t *testing.T, what string, out []byte, secrets map[string]bool) {
	t.Helper()
	for s := range personalNumbers(out) {
		if secrets[s] {
			t.Fatalf("%s keeps %s in clear:\n%s", what, s, out)
		}
	}
}
