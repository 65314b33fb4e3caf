package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

func newDiffDecoder(t testing.TB) *Decoder {
	reg, err := engine.NewRegistry([]engine.School{{ID: "S1", Name: "一小", District: "南湖区"}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := NewIdentity([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return &Decoder{Registry: func() *engine.Registry { return reg }, Identity: id}
}

// diffSeeds are valid events of every type and the edges of JSON and of the
// contract, as seeds for FuzzDecodeDifferential (and so run by go test).
var diffSeeds = []string{
	`{"id":"v1","school_id":"S1","source":"visitor","type":"entry","occurred_at":"2026-11-02T09:00:00.250+08:00","visitor_id":"33040219800101123x","name":"张三丰","id_verified":true,"watchlist":"blacklist","gate":"东门","badge":"B-7"}`,
	`{"id":"v2","school_id":"S1","source":"visitor","type":"exit","occurred_at":"2026-11-02T09:00:00Z","visitor_id":" 330402198001011234 ","visitor_hash":"sent","name":" 李 "}`,
	`{"id":"v3","school_id":"S1","source":"visitor","type":"denied","occurred_at":"2026-11-02T09:00:00+05:30","visitor_id":"1234","id_verified":false,"watchlist":"wanted","appointment":true,"host":"王老师","during_class":true,"prohibited_items":true}`,
	`{"id":"v4","school_id":"S1","source":"visitor","type":"exit","occurred_at":"2026-11-02T09:00:00Z","visitor_id":"ÄB1234567890ß","name":"x"}`,
	`{"id":"v5","school_id":"S1","source":"visitor","type":"exit","occurred_at":"2026-11-02T09:00:00Z","visitor_id":"a","visitor_id":null,"name":"张三","visitor_hash":1}`,
	`{"id":"v6","school_id":"S1","source":"visitor","type":"exit","occurred_at":"2026-11-02T09:00:00Z","visitor_id":"330402198001011234","name":"张三","name":null}`,
	`{"id":"v7","school_id":"S1","source":"canteen","type":"sample","occurred_at":"2026-11-02T09:00:00Z","dish":"d","weight_g":1,"retained_hours":48,"name":"张三","name":null}`,
	`{"id":"v9","school_id":"S1","source":"visitor","type":"exit","occurred_at":"2026-11-02T09:00:00Z","visitor_id":"1234","suspect_refs":["a"],"suspect_refs":[null,"b"]}`,
	`{"id":"v8","school_id":"S1","source":"visitor","type":"exit","occurred_at":"2026-11-02T09:00:00Z","visitor\u005fid":"330402198001011234","na\u006de":"\"\\\u0001"}`,
	`{"id":"c1","school_id":"S1","source":"canteen","type":"storage_temp","occurred_at":"2026-11-02T09:00:00+08:00","device":"F1","celsius":9.5,"zone":"fridge"}`,
	`{"id":"c2","school_id":"S1","source":"canteen","type":"ai_violation","occurred_at":"2026-11-02T09:00:00+08:00","violation":"no_hat","reporter":"cam-3"}`,
	`{"id":"c3","school_id":"S1","source":"canteen","type":"health_check","occurred_at":"2026-11-02T09:00:00+08:00","staff_id":"T-1","passed":false,"symptom":"发热"}`,
	`{"id":"c4","school_id":"S1","source":"canteen","type":"pesticide_test","occurred_at":"2026-11-02T09:00:00+08:00","item":"青菜","passed":true}`,
	`{"id":"c5","school_id":"S1","source":"canteen","type":"supplier_cert","occurred_at":"2026-11-02T09:00:00Z","supplier":"x","expires_on":"2026-12-01"}`,
	`{"id":"c6","school_id":"S1","source":"canteen","type":"supplier_cert","occurred_at":"2026-11-02T09:00:00Z","supplier":"x","expires_on":"2026-12-01T00:00:00+08:00"}`,
	`{"id":"d1","school_id":"S1","source":"drowning","type":"fence_intrusion","occurred_at":"2026-11-02T09:00:00Z","water_body":"南湖","minors":true,"persons":3}`,
	`{"id":"d2","school_id":"S1","source":"drowning","type":"patrol","occurred_at":"2026-11-02T09:00:00Z","water_body":"南湖","hazard_found":false,"note":"正常"}`,
	`{"id":"d3","school_id":"S1","source":"drowning","type":"water_level","occurred_at":"2026-11-02T09:00:00Z","water_body":"南湖","level_m":1.25e0,"warning_level_m":-0.0}`,
	`{"id":"d4","school_id":"S1","source":"drowning","type":"weather","occurred_at":"2026-11-02T09:00:00Z","rain_mm_24h":120,"temp_c":-3.5E+1}`,
	`{"id":"b1","school_id":"S1","source":"bullying","type":"report","occurred_at":"2026-11-02T09:00:00Z","channel":"teacher","victim_ref":"S-1","kind":"verbal","injury":false,"suspect_refs":["S-2","S-3"]}`,
	`{"id":"b2","school_id":"S1","source":"bullying","type":"screening","occurred_at":"2026-11-02T09:00:00Z","student_ref":"S-1","score":70,"threshold":60}`,
	`{"id":"b3","school_id":"S1","source":"bullying","type":"report","occurred_at":"2026-11-02T09:00:00Z","channel":"hotline","victim_ref":"S-1","kind":"cyber","injury":true,"suspect_refs":[]}`,
	`{"id":"b4","school_id":"S1","source":"bullying","type":"report","occurred_at":"2026-11-02T09:00:00Z","channel":"parent","victim_ref":"S-1","kind":"property","injury":true,"suspect_refs":["a","b","c"],"suspect_refs":["x"],"suspect_refs":["y",null,null]}`,
	`{"id":"b5","school_id":"S1","source":"bullying","type":"report","occurred_at":"2026-11-02T09:00:00Z","channel":"parent","victim_ref":"S-1","kind":"property","injury":true,"suspect_refs":["a","b"],"suspect_refs":null,"suspect_refs":[null,"z"]}`,
	`{"id":"b6","school_id":"S1","source":"bullying","type":"report","occurred_at":"2026-11-02T09:00:00Z","channel":"parent","victim_ref":"S-1","kind":"exclusion","injury":true,"suspect_refs":["a"],"suspect_refs":[],"suspect_refs":[null]}`,
	` { "id" : "w1" , "school_id":"S1","source":"drowning","type":"weather","occurred_at":"2026-11-02T09:00:00Z","rain_mm_24h":1,"x":{"a":[1,{"b":null}],"c":"\ud83d\ude00"},"y":[[],{}],"z":-12.5e-3 } ` + "\n\t\r",
	`{"id":"e1","school_id":"S1","source":"drowning","type":"weather","occurred_at":"2026-11-02T09:00:00Z","rain_mm_24h":1,"id":"e2","rain_mm_24h":null}`,
	`{"id":"e\ud800x\udc00y\ud800\u0041","school_id":"S1","source":"drowning","type":"weather","occurred_at":"2026-11-02T09:00:00Z","rain_mm_24h":1,"note":"\ud83d\ude00\ud83d"}`,
	"{\"id\":\"\xff\xfe\xe4\xb8\",\"school_id\":\"S1\",\"source\":\"drowning\",\"type\":\"weather\",\"occurred_at\":\"2026-11-02T09:00:00Z\",\"rain_mm_24h\":1,\"\xffkey\":1}",
	`{"id":"ID","ID":"x","school_id":"S1","source":"drowning","type":"weather","occurred_at":"2026-11-02T09:00:00Z","rain_mm_24h":1}`,
	`{"id":"","school_id":"S1"}`,
	`{"school_id":"S1","id":"x","source":"library"}`,
	`{"id":"x","school_id":"S9","source":"canteen","type":"dinner","occurred_at":"2026-11-02T09:00:00Z"}`,
	`{"id":"x","school_id":"S1","source":"canteen","type":"storage_temp","occurred_at":"yesterday"}`,
	`{"id":"x","school_id":"S1","source":"canteen","type":"storage_temp","occurred_at":"2026-11-02T09:00:00Z","device":"F1","celsius":9.5,"zone":"cellar","watchlist":"all","kind":"k"}`,
	`{"id":"x","school_id":"S1","source":"drowning","type":"fence_intrusion","occurred_at":"2026-11-02T09:00:00Z","water_body":"南湖","minors":true,"persons":1.5}`,
	`{"id":"x","school_id":"S1","source":"drowning","type":"weather","occurred_at":"2026-11-02T09:00:00Z","rain_mm_24h":1e400}`,
	`{"id":"x","school_id":"S1","source":"drowning","type":"weather","occurred_at":"2026-11-02T09:00:00Z","rain_mm_24h":"1","temp_c":true}`,
	`{"id":"x","school_id":"S1","suspect_refs":[1,"a",{}],"celsius":{}}`,
	`{"id":1,"id":"x","note":[],"injury":"no","suspect_refs":"S-2"}`,
	`{"id":"x","school_id":"S1","source":"canteen","type":"supplier_cert","occurred_at":"2026-11-02T09:00:00Z","supplier":"x","expires_on":"someday"}`,
	`{"id":"` + strings.Repeat("x", 257) + `","school_id":"S1"}`,
	`null`, ` null `, `nullx`, `[]`, `[1,2]`, `"x"`, `1`, `true`, `-`, `1.`, `1e`, `1e+`, `01`, `tru`, `fals`, `nul`,
	``, ` `, `{`, `{"`, `{"a"`, `{"a":`, `{"a":1`, `{"a":1,`, `{"a":1}x`, `{} `, "\ufeff{}", `{"a":"\u12"}`, `{"a":"\x"}`,
	`{"a":01}`, `{"a":+1}`, `{"a":.5}`, `{"a":NaN}`, `{"a":-Infinity}`, `{"a":1.e3}`, `{"a":[1,]}`, `{"a":{"b"}}`, `{"a":{"b":1,}}`,
	`{,}`, `{"a":1,}`, `{"a" 1}`, `{"a":[1 2]}`, `{"a":"` + "\x01" + `"}`, `{"a":"\`, `{"a":"\u`, `{"a":tru}`, `{'a':1}`,
	`{"id":"x"}` + "\x00",
	`{"id":"p1","school_id":"S1","source":"canteen","type":"health_check","occurred_at":"2026-11-02T09:00:00+08:00","staff_id":"440306199003074513","passed":false,"symptom":"电话139-1234-5678","x":{"id":"11010519491231002X"}}`,
	`{"id":"p2","school_id":"S1","source":"bullying","type":"report","occurred_at":"2026-11-02T09:00:00Z","channel":"parent","victim_ref":"S-1","kind":"verbal","injury":false,"suspect_refs":["13912345678",null],"suspect_refs":["a",null,"+8613812345678"]}`,
	`{"id":"p3","school_id":"S1","source":"drowning","type":"weather","occurred_at":"2026-11-02T09:00:00Z","rain_mm_24h":13912345678}`,
	`{"id":"p4","school_id":"S1","source":"drowning","type":"patrol","occurred_at":"2026-11-02T09:00:00Z","water_body":"南湖","hazard_found":false,"note":"\u0031\u00339\u0031\u0032\u0033\u0034\u0035\u0036\u0037\u0038","note":"ok","reporter":"330402800101123"}`,
	`{"id":"p6","school_id":"S1","source":"bullying","type":"report","occurred_at":"2026-11-02T09:00:00Z","reporter":"王老师","channel":"anonymous_app","victim_ref":"S-1","kind":"verbal","injury":false,"reporter":"app-7"}`,
	`{"id":"p7","school_id":"S1","source":"bullying","type":"report","occurred_at":"2026-11-02T09:00:00Z","channel":"parent","victim_ref":"S-1","kind":"verbal","injury":false,"reporter":"anonymous","reporter":null}`,
	`{"id":"13912345678","school_id":"S1","source":"drowning","type":"weather","occurred_at":"2026-11-02T09:00:00Z","rain_mm_24h":1}`,
	`{"id":"p5","school_id":"S1","source":"visitor","type":"entry","occurred_at":"2026-11-02T09:00:00Z","visitor_id":"440306199003074513","name":"13912345678","id_verified":true,"watchlist":"none","visitor_hash":"13812345678","host":"王老师 13712345678"}`,
}

// TestDecodeDepthMatchesReference checks the nesting limit, with inputs too
// large to be fuzzing seeds.
func TestDecodeDepthMatchesReference(t *testing.T) {
	d := newDiffDecoder(t)
	nest := func(open, close string, n int) string {
		return strings.Repeat(open, n) + "1" + strings.Repeat(close, n)
	}
	for _, n := range []int{maxDepth - 2, maxDepth - 1, maxDepth, maxDepth + 1} {
		for _, msg := range []string{
			nest("[", "]", n),
			`{"x":` + nest("[", "]", n) + `}`,
			`{"x":` + nest(`{"a":`, "}", n) + `}`,
			`{"suspect_refs":[` + nest("[", "]", n) + `]}`,
			`{"suspect_refs":[` + nest(`{"a":`, "}", n) + `]}`,
			`{"x":` + strings.Repeat("[", n),
		} {
			compareDecoders(t, d, []byte(msg), "", false)
		}
	}
}

func FuzzDecodeDifferential(f *testing.F) {
	for i, s := range diffSeeds {
		f.Add([]byte(s), uint8(i))
	}
	decoders := diffDecoders(f)
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		expected := []engine.Source{"", engine.SourceVisitor, engine.SourceCanteen, engine.SourceDrowning, engine.SourceBullying}[mode%5]
		compareDecoders(t, decoders[mode>>5&3], data, expected, mode&0x80 != 0)
	})
}

// diffDecoders returns decoders with and without a registry and a key:
// mostly the full one.
func diffDecoders(t testing.TB) [4]*Decoder {
	d := newDiffDecoder(t)
	limited := *d
	limited.Limits = Limits{MaxMessageBytes: 600, MaxStringBytes: 24, MaxAge: 30 * 24 * time.Hour, MaxAhead: 10 * time.Minute}
	limited.Now = func() time.Time { return time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC) }
	return [4]*Decoder{d, &limited, {Identity: d.Identity}, {Registry: d.Registry}}
}

// compareDecoders checks that the decoder and the reference agree on data.
func compareDecoders(t *testing.T, d *Decoder, data []byte, expected engine.Source, stored bool) {
	t.Helper()
	var got, want engine.Event
	err := d.decode(expected, data, &got, stored)
	if foldedKey(data) {
		return // the reference matches keys regardless of case; the decoder does not
	}
	refErr := refDecode(d, expected, data, &want, stored)
	if refErr != nil && err != nil {
		var de, rde *DecodeError
		if errors.As(err, &de) && errors.As(refErr, &rde) && de.Reason == ReasonBadValue && rde.Reason == ReasonBadValue &&
			de.Field != rde.Field && isEnum(de.Field) && isEnum(rde.Field) {
			// The reference checks enumerated fields in map order: see
			// whether it can report the field the decoder reports.
			for i := 0; i < 200 && de.Field != rde.Field; i++ {
				refErr = refDecode(d, expected, data, &want, stored)
				errors.As(refErr, &rde)
			}
		}
		if err.Error() != refErr.Error() || errors.As(err, &de) != errors.As(refErr, &rde) {
			t.Fatalf("errors differ for %q (stored %v, topic %q):\n got  %v\n want %v", data, stored, expected, err, refErr)
		}
		return
	}
	if err != nil || refErr != nil {
		t.Fatalf("acceptance differs for %q (stored %v, topic %q):\n got  %v\n want %v", data, stored, expected, err, refErr)
	}
	gotPayload, wantPayload := got.Payload, want.Payload
	got.Payload, want.Payload = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events differ for %q (stored %v):\n got  %#v\n want %#v", data, stored, got, want)
	}
	if stored || bytes.Equal(gotPayload, wantPayload) {
		return
	}
	// Redacted payloads differ in layout: they must hold the same members
	// (the last of duplicates) and decode to the same stored event.
	gotMembers, wantMembers := payloadMembers(t, gotPayload), payloadMembers(t, wantPayload)
	if !reflect.DeepEqual(gotMembers, wantMembers) {
		t.Fatalf("payloads differ for %q:\n got  %s\n want %s", data, gotPayload, wantPayload)
	}
	var gotBack, wantBack engine.Event
	err = d.DecodeStored(gotPayload, &gotBack)
	refErr = refDecode(d, "", wantPayload, &wantBack, true)
	if (err == nil) != (refErr == nil) || err != nil && err.Error() != refErr.Error() {
		t.Fatalf("stored payloads decode differently:\n got  %s: %v\n want %s: %v", gotPayload, err, wantPayload, refErr)
	}
	gotBack.Payload, wantBack.Payload = nil, nil
	if !reflect.DeepEqual(gotBack, wantBack) {
		t.Fatalf("stored payloads decode to different events:\n got  %#v\n want %#v", gotBack, wantBack)
	}
}

func isEnum(name string) bool {
	_, ok := enums[name]
	return ok
}

// foldedKey reports whether data is an object with a key that encoding/json
// would match to a known field only by ignoring case.
func foldedKey(data []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return false
	}
	for k := range m {
		if lookupField([]byte(k)) != fUnknown {
			continue
		}
		for f := range numFields {
			if strings.EqualFold(k, f.name()) {
				return true
			}
		}
	}
	return false
}

// payloadMembers returns the members of a payload as encoding/json reads
// them (the last of duplicates), numbers kept as written.
func payloadMembers(t *testing.T, payload []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("payload is not a JSON object: %v\n%s", err, payload)
	}
	return m
}

// TestDecodeDifferentialRandom compares the decoders on messages built from
// the contract's fields with random types, values, duplicates, nulls,
// escapes and spacing, which byte-level fuzzing reaches only slowly.
func TestDecodeDifferentialRandom(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 2000
	}
	decoders := diffDecoders(t)
	r := rand.New(rand.NewPCG(1, 2))
	for range n {
		msg := randomMessage(r)
		d := decoders[r.IntN(len(decoders))]
		for _, stored := range []bool{false, true} {
			compareDecoders(t, d, msg, []engine.Source{"", engine.SourceVisitor, engine.SourceCanteen}[r.IntN(3)], stored)
		}
	}
}

func randomMessage(r *rand.Rand) []byte {
	noise := []int{400, 60, 10}[r.IntN(3)] // one in noise values is off
	src := engine.Sources[r.IntN(len(engine.Sources))]
	types := TypeNames(src)
	typ := types[r.IntN(len(types))]
	var b []byte
	ws := func() {
		for r.IntN(4) == 0 {
			b = append(b, " \t\r\n"[r.IntN(4)])
		}
	}
	member := func(name string, value []byte) {
		if len(b) > 1 {
			b = append(b, ',')
		}
		ws()
		b = append(b, randomKey(r, name, noise)...)
		ws()
		b = append(b, ':')
		ws()
		b = append(b, value...)
		ws()
	}
	b = append(b, '{')
	names := []string{"id", "school_id", "source", "type", "occurred_at"}
	names = append(names, Contract[src][typ]...)
	for range r.IntN(6) {
		names = append(names, fieldSpecs[r.IntN(int(numFields))].name)
	}
	for range r.IntN(3) {
		names = append(names, []string{"badge", "extra", "x"}[r.IntN(3)])
	}
	r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	for _, name := range names {
		if r.IntN(noise) == 0 {
			continue // left out
		}
		for range 1 + r.IntN(4)/3 { // sometimes twice
			member(name, randomValue(r, name, src, typ, noise))
		}
	}
	b = append(b, '}')
	switch r.IntN(noise) {
	case 0:
		b = b[:r.IntN(len(b))]
	case 1:
		b[r.IntN(len(b))] = "{}[],:\"\\ 0-eE.tnx\x00\xff"[r.IntN(19)]
	case 2:
		b = append(b, "x"...)
	}
	return b
}

// randomKey spells name as a JSON key, sometimes escaped or in another case.
func randomKey(r *rand.Rand, name string, noise int) []byte {
	switch r.IntN(10 + noise) {
	case 0:
		return []byte(`"` + strings.ToUpper(name) + `"`)
	case 1:
		return fmt.Appendf(nil, `"\u%04x%s"`, name[0], name[1:])
	case 2:
		return []byte(`"` + name + `\u0000"`)
	}
	return []byte(`"` + name + `"`)
}

func randomValue(r *rand.Rand, name string, src engine.Source, typ string, noise int) []byte {
	if r.IntN(noise) == 0 {
		return randomAny(r, 2)
	}
	if r.IntN(noise) == 0 {
		return []byte("null")
	}
	switch name {
	case "source":
		if r.IntN(noise) == 0 {
			return randomString(r)
		}
		return []byte(`"` + string(src) + `"`)
	case "type":
		if r.IntN(noise) == 0 {
			return randomString(r)
		}
		return []byte(`"` + typ + `"`)
	case "school_id":
		if r.IntN(noise) == 0 {
			return []byte([]string{`"S2"`, `""`, `"s1"`}[r.IntN(3)])
		}
		return []byte([]string{`"S1"`, `"S\u0031"`}[r.IntN(2)])
	case "id", "visitor_id":
		if r.IntN(noise) == 0 {
			return []byte(`""`)
		}
	case "occurred_at", "expires_on":
		if r.IntN(noise) == 0 {
			return []byte([]string{`"2026-13-02T09:00:00Z"`, `"2026-11-02T09:00:00"`, `"yesterday"`, `"2026-11-02"`}[r.IntN(4)])
		}
		return []byte([]string{`"2026-11-02T09:00:00Z"`, `"2026-11-02T09:00:00.123456789+08:00"`, `"2026-11-02T09:00:00+05:45"`,
			`"2026-11-02T09:00:00\u005a"`, `"2026-11-02T09:00:00-00:00"`, `"2026-09-02T09:00:00Z"`, `"2026-11-02T12:30:00Z"`}[r.IntN(7)])
	case "suspect_refs":
		var b []byte
		b = append(b, '[')
		for i := range r.IntN(5) {
			if i > 0 {
				b = append(b, ',')
			}
			switch r.IntN(8 + noise/4) {
			case 0:
				b = append(b, "null"...)
			case 1:
				b = append(b, randomAny(r, 1)...)
			default:
				b = append(b, randomString(r)...)
			}
		}
		return append(b, ']')
	}
	if values, ok := enums[name]; ok && r.IntN(noise) != 0 {
		return []byte(`"` + values[r.IntN(len(values))] + `"`)
	}
	switch lookupField([]byte(name)).kind() {
	case kindString:
		return randomString(r)
	case kindBool:
		return []byte([]string{"true", "false"}[r.IntN(2)])
	case kindNumber:
		if r.IntN(noise) == 0 {
			return []byte([]string{"1e400", "-1e400", "2147483648", "1.5", "-1"}[r.IntN(5)])
		}
		return randomNumber(r)
	}
	return randomAny(r, 3)
}

func randomAny(r *rand.Rand, depth int) []byte {
	switch k := r.IntN(7); {
	case k == 0 && depth > 0:
		b := []byte{'['}
		for i := range r.IntN(3) {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, randomAny(r, depth-1)...)
		}
		return append(b, ']')
	case k == 1 && depth > 0:
		b := []byte{'{'}
		for i := range r.IntN(3) {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, randomString(r)...)
			b = append(b, ':')
			b = append(b, randomAny(r, depth-1)...)
		}
		return append(b, '}')
	case k == 2:
		return randomNumber(r)
	case k == 3:
		return []byte([]string{"true", "false", "null"}[r.IntN(3)])
	}
	return randomString(r)
}

func randomNumber(r *rand.Rand) []byte {
	return []byte([]string{"0", "-0", "1", "3", "1.0", "9.5", "2147483647", "-0.0", "1e3", "1E-2", "2e0",
		"1e-400", "123456789012345678901234567890", "0.1e+1", "4.5", "1.0000000000000002", "60", "70.25"}[r.IntN(18)])
}

func randomString(r *rand.Rand) []byte {
	parts := []string{"a", "S-1", "张", "三", "x", " ", "\\n", "\\\"", "\\\\", "\\/", "\\u0041", "\\u00e9", "\\ud83d\\ude00",
		"\\ud800", "\\udc00", "\\ud800\\u0041", "\xff", "\xe4\xb8", "\xed\xa0\x80", "é", "😀", "3304", "1980", "123x", "\\t",
		"none", "fridge", "teacher", "verbal", "anonymous", "anonymous_app", "\u2028", "<&>", "13912345678", "440306199003074513", "-", "86",
		"\u00313912345678", "１３９１２３４５６７８", "11010519491231002x"}
	b := []byte{'"'}
	for range r.IntN(8) {
		b = append(b, parts[r.IntN(len(parts))]...)
	}
	return append(b, '"')
}
