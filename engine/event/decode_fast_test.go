package event

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/sanse-campus/sanse/engine"
)

const fastVisitor = `{"id":"v1","school_id":"S1","source":"visitor","type":"entry","occurred_at":"2026-11-02T09:00:00+08:00",` +
	`"visitor_id":"33040219800101123x","name":"张三丰","id_verified":true,"watchlist":"none","gate":"东门","badge":{"no":"B-7","at":[1,2]}}`

const fastReport = `{"id":"b1","school_id":"S1","source":"bullying","type":"report","occurred_at":"2026-11-02T09:00:00Z",` +
	`"channel":"teacher","victim_ref":"S-1","kind":"verbal","injury":false,"suspect_refs":["S-2","S-\u0033"]}`

const fastEscaped = `{"id":"e\ud800x\udc00y\ud83d\ude00","school_id":"S\u0031","source":"drowning","type":"weather",` +
	`"occurred_at":"2026-11-02T09:00:00Z","rain_mm_24h":1,"note":"\"\\\/\b\f\n\r\t` + "\xff" + `"}`

const fastCanteen = `{"id":"c1","school_id":"S1","source":"canteen","type":"storage_temp","occurred_at":"2026-11-02T09:00:00+08:00",` +
	`"device":"F1","celsius":9.5,"zone":"fridge","reporter":"hub-1"}`

func TestDecodeMatchesKeysExactly(t *testing.T) {
	d := newDiffDecoder(t)
	tests := []struct {
		name    string
		msg     string
		wantErr string
		check   func(t *testing.T, ev *engine.Event)
	}{
		{
			name: "other case is an unknown field",
			msg:  strings.Replace(fastCanteen, `"device":"F1"`, `"device":"F1","DEVICE":"F2","Id":"c2"`, 1),
			check: func(t *testing.T, ev *engine.Event) {
				if ev.Device != "F1" || ev.ID != "c1" {
					t.Errorf("device %q, id %q: keys in another case were used", ev.Device, ev.ID)
				}
			},
		},
		{
			name:    "a required field in another case is missing",
			msg:     strings.Replace(fastCanteen, `"celsius"`, `"Celsius"`, 1),
			wantErr: "missing_field: celsius: required for canteen storage_temp",
		},
		{
			name:    "escapes spell the same key",
			msg:     strings.Replace(fastCanteen, `"celsius":9.5`, `"celsius":9.5,"\u0063elsius":"hot"`, 1),
			wantErr: "wrong_type: celsius: got a JSON string, expected number",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev engine.Event
			err := d.Decode("", []byte(tt.msg), &ev)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("got %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, &ev)
		})
	}
}

func TestDecodeKeepsNoMemoryOfTheMessage(t *testing.T) {
	d := newDiffDecoder(t)
	msgs := []string{fastVisitor, fastCanteen, fastReport, fastEscaped}
	for _, msg := range msgs {
		data := []byte(msg)
		var ev engine.Event
		if err := d.Decode("", data, &ev); err != nil {
			t.Fatal(err)
		}
		want := ev
		want.SuspectRefs = append([]string(nil), ev.SuspectRefs...)
		want.Payload = append([]byte(nil), ev.Payload...)
		if &ev.Payload[0] == &data[0] {
			want.Payload = ev.Payload
		}
		for i := range data {
			data[i] = 'X'
		}
		// Nor of the decoder's buffers, which the next events reuse.
		for _, other := range msgs {
			var o engine.Event
			if err := d.Decode("", []byte(strings.ReplaceAll(other, `"S-`, `"T-`)), &o); err != nil {
				t.Fatal(err)
			}
		}
		if !reflect.DeepEqual(ev, want) {
			t.Errorf("event changed with the message:\n got  %+v\n want %+v", ev, want)
		}
	}
}

func TestDecodePayload(t *testing.T) {
	d := newDiffDecoder(t)
	hash := d.Identity.Hash("33040219800101123X")
	tests := []struct {
		name  string
		msg   string
		want  string // "" for the message itself, unchanged and not copied
		check func(t *testing.T, ev *engine.Event)
	}{
		{name: "no identity", msg: fastCanteen},
		{
			name: "visitor: identity replaced in place, the hash after the number, unknown fields dropped",
			msg:  fastVisitor,
			want: `{"id":"v1","school_id":"S1","source":"visitor","type":"entry","occurred_at":"2026-11-02T09:00:00+08:00",` +
				`"visitor_id":"3304**********123X","visitor_hash":"` + hash + `","name":"张**","id_verified":true,"watchlist":"none","gate":"东门"}`,
		},
		{
			name: "earlier duplicates are dropped, a hash sent is overwritten",
			msg:  `{"visitor_hash":"forged","name":"王五","id":"v1","visitor_id":"1","school_id":"S1","source":"visitor","type":"exit","occurred_at":"2026-11-02T09:00:00Z","visitor_id":"33040219800101123x","name":"张三"}`,
			want: `{"visitor_hash":"` + hash + `","id":"v1","school_id":"S1","source":"visitor","type":"exit","occurred_at":"2026-11-02T09:00:00Z","visitor_id":"3304**********123X","name":"张*"}`,
		},
		{
			name: "a name and number nulled later are not kept",
			msg:  `{"id":"c1","name":"张三","visitor_id":"33040219800101123x","school_id":"S1","source":"canteen","type":"ai_violation","occurred_at":"2026-11-02T09:00:00Z","violation":"phone","name":null,"visitor_id":null}`,
			want: `{"id":"c1","school_id":"S1","source":"canteen","type":"ai_violation","occurred_at":"2026-11-02T09:00:00Z","violation":"phone","name":null,"visitor_id":null}`,
		},
		{
			name: "numbers in text masked, also in earlier duplicates and nested unknown fields",
			msg: `{"id":"d1","school_id":"S1","source":"drowning","type":"patrol","occurred_at":"2026-11-02T09:00:00Z","water_body":"南湖",` +
				`"hazard_found":false,"note":"家长 139-1234-5678","reporter":"440306199003074513","reporter":"\u0031\u00339 1234 5678","extra":{"phone":"13912345678"}}`,
			want: `{"id":"d1","school_id":"S1","source":"drowning","type":"patrol","occurred_at":"2026-11-02T09:00:00Z","water_body":"南湖",` +
				`"hazard_found":false,"note":"家长 139-****-5678","reporter":"139 **** 5678"}`,
			check: func(t *testing.T, ev *engine.Event) {
				if ev.Note != "家长 139-****-5678" || ev.Reporter != "139 **** 5678" {
					t.Errorf("note %q, reporter %q", ev.Note, ev.Reporter)
				}
			},
		},
		{
			name: "masked values are escaped",
			msg:  `{"id":"v1","school_id":"S1","source":"visitor","type":"exit","occurred_at":"2026-11-02T09:00:00Z","visitor_id":"\"\\12345678\n","name":"\"x"}`,
			want: `{"id":"v1","school_id":"S1","source":"visitor","type":"exit","occurred_at":"2026-11-02T09:00:00Z","visitor_id":"\"\\12**5678","visitor_hash":"` + d.Identity.Hash("\"\\12345678\n") + `","name":"\"*"}`,
			check: func(t *testing.T, ev *engine.Event) {
				if ev.VisitorMasked != `"\12**5678` || ev.Name != `"*` {
					t.Errorf("masked %q, name %q", ev.VisitorMasked, ev.Name)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.msg)
			var ev engine.Event
			if err := d.Decode("", data, &ev); err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if &ev.Payload[0] != &data[0] || len(ev.Payload) != len(data) {
					t.Errorf("payload is not the message")
				}
			} else if string(ev.Payload) != tt.want {
				t.Errorf("payload\n got  %s\n want %s", ev.Payload, tt.want)
			}
			if tt.check != nil {
				tt.check(t, &ev)
			}
			var back engine.Event
			if err := d.DecodeStored(ev.Payload, &back); err != nil {
				t.Fatalf("stored payload: %v", err)
			}
			if back.VisitorHash != ev.VisitorHash || back.VisitorMasked != ev.VisitorMasked || back.Name != ev.Name {
				t.Errorf("stored identity %q %q %q, want %q %q %q", back.VisitorHash, back.VisitorMasked, back.Name, ev.VisitorHash, ev.VisitorMasked, ev.Name)
			}
		})
	}
}

func TestDecodeIdentityMatchesIdentity(t *testing.T) {
	d := newDiffDecoder(t)
	for _, v := range []string{"", " ", "1", "12345678", "123456789", "33040219800101123x", " 33040219800101123x\t", "\v\f330402\r\n",
		"ａ33040219800101123ｘ", "ß3304021980010112", "\u00a0330402198001011234\u0085", "張三", "\x7f\x00abc", "ǆ330402198001011234"} {
		p := newParser(nil)
		if got, want := string(p.hashID(d.Identity, []byte(v))), d.Identity.Hash(v); got != want {
			t.Errorf("hash of %q: %s, want %s", v, got, want)
		}
		if got, want := string(p.maskID([]byte(v))), MaskID(v); got != want {
			t.Errorf("masked %q: %q, want %q", v, got, want)
		}
		if got, want := string(p.maskName([]byte(v))), MaskName(v); got != want {
			t.Errorf("masked name %q: %q, want %q", v, got, want)
		}
		p.release()
	}
}

func TestDecodeAllocations(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under instrumentation")
	}
	d := newDiffDecoder(t)
	for _, tt := range []struct {
		msg  string
		want float64
	}{
		{fastCanteen, 2}, // id, the other strings
		{fastVisitor, 3}, // id, the other strings, the redacted payload
		{fastReport, 3},  // id, the other strings, suspect_refs
	} {
		var ev engine.Event
		data := []byte(tt.msg)
		if got := testing.AllocsPerRun(100, func() { _ = d.Decode("", data, &ev) }); got > tt.want {
			t.Errorf("%v allocations for %.40s…, want at most %v", got, tt.msg, tt.want)
		}
	}
}

func TestDecodeConcurrently(t *testing.T) {
	d := newDiffDecoder(t)
	other, err := NewIdentity([]byte("another key of 16 bytes or more"))
	if err != nil {
		t.Fatal(err)
	}
	d2 := &Decoder{Registry: d.Registry, Identity: other}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			dec := d
			if g%2 == 1 {
				dec = d2
			}
			for i := range 200 {
				msg := strings.Replace(fastVisitor, "33040219800101123x", fmt.Sprintf("3304021980010%05d", i), 1)
				var ev engine.Event
				if err := dec.Decode("", []byte(msg), &ev); err != nil {
					t.Error(err)
					return
				}
				if want := dec.Identity.Hash(fmt.Sprintf("3304021980010%05d", i)); ev.VisitorHash != want {
					t.Errorf("hash %s, want %s", ev.VisitorHash, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestLookupFieldKnowsEveryField(t *testing.T) {
	for f := range numFields {
		if got := lookupField([]byte(f.name())); got != f {
			t.Errorf("lookupField(%q) = %d, want %d", f.name(), got, f)
		}
	}
	// Every field of the reference's wire struct is known, with its kind.
	wt := reflect.TypeFor[refWire]()
	if wt.NumField() != int(numFields) {
		t.Fatalf("reference has %d fields, parser %d", wt.NumField(), numFields)
	}
	kinds := map[reflect.Kind]kind{reflect.String: kindString, reflect.Bool: kindBool, reflect.Float64: kindNumber, reflect.Slice: kindStrings}
	for i := range wt.NumField() {
		sf := wt.Field(i)
		f := lookupField([]byte(sf.Tag.Get("json")))
		if f == fUnknown || f.kind() != kinds[sf.Type.Elem().Kind()] {
			t.Errorf("field %s: parser has %d of kind %d", sf.Tag.Get("json"), f, f.kind())
		}
	}
	for _, types := range Contract {
		for _, required := range types {
			for _, name := range required {
				if lookupField([]byte(name)) == fUnknown {
					t.Errorf("contract field %q unknown", name)
				}
			}
		}
	}
}

// TestGrownCapMatchesReflect checks the capacities the parser gives
// suspect_refs against those encoding/json gets from reflect.Value.Grow.
func TestGrownCapMatchesReflect(t *testing.T) {
	var s []string
	v := reflect.ValueOf(&s).Elem()
	for v.Cap() < 1<<20 {
		c := v.Cap()
		v.SetLen(c)
		v.Grow(1)
		if got := grownCap(c); got != v.Cap() {
			t.Fatalf("capacity after %d: %d, reflect gives %d", c, got, v.Cap())
		}
	}
}

func TestDecodeErrorsAreDecodeErrors(t *testing.T) {
	d := newDiffDecoder(t)
	for _, msg := range diffSeeds {
		var ev engine.Event
		if err := d.Decode("", []byte(msg), &ev); err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Errorf("%T %v", err, err)
			}
		}
	}
	var ev engine.Event
	noKey := &Decoder{Registry: d.Registry}
	if err := noKey.Decode("", []byte(fastVisitor), &ev); err == nil || !strings.Contains(err.Error(), "identity key") {
		t.Errorf("without a key: %v", err)
	}
	if err := noKey.Decode("", []byte(fastCanteen), &ev); err != nil {
		t.Errorf("without a key, no visitor: %v", err)
	}
	if !bytes.Equal(ev.Payload, []byte(fastCanteen)) {
		t.Errorf("payload %s", ev.Payload)
	}
}
