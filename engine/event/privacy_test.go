package event_test

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

// Real-looking numbers: check digits valid.
const (
	testID     = "440306199003074513"
	testMobile = "13912345678"
)

func TestDecodeMasksPersonalNumbersInText(t *testing.T) {
	d := newDecoder(t)
	msg := `{"id":"c1","school_id":"S1","source":"canteen","type":"health_check","occurred_at":"2026-11-02T09:00:00+08:00",` +
		`"staff_id":"` + testID + `","passed":false,"symptom":"发热，家长电话` + testMobile + `","reporter":"+86 139 1234 5678",` +
		`"parent":{"name":"王五","id":"` + testID + `"},"phone":"` + testMobile + `"}`
	var ev engine.Event
	require.NoError(t, d.Decode(engine.SourceCanteen, []byte(msg), &ev))
	require.Equal(t, "4403**********4513", get(t, &ev, "staff_id").Str())
	require.Equal(t, "发热，家长电话139****5678", get(t, &ev, "symptom").Str())
	require.Equal(t, "+86 139 **** 5678", ev.Reporter)
	for _, clear := range []string{testID, testMobile, "王五", "1234"} {
		require.NotContains(t, string(ev.Payload), clear)
	}
	var stored map[string]any
	require.NoError(t, json.Unmarshal(ev.Payload, &stored))
	require.NotContains(t, stored, "parent")
	require.NotContains(t, stored, "phone")

	var back engine.Event
	require.NoError(t, d.DecodeStored(ev.Payload, &back))
	back.Payload, ev.Payload = nil, nil
	require.Equal(t, ev, back)
}

func TestDecodeRefusesPersonalNumbersItCannotMask(t *testing.T) {
	d := newDecoder(t)
	base := `{"id":"w1","school_id":"S1","source":"drowning","type":"weather","occurred_at":"2026-11-02T09:00:00Z","rain_mm_24h":1}`
	for _, tt := range []struct{ name, field, msg string }{
		{"number", "temp_c", strings.Replace(base, `}`, `,"temp_c":`+testMobile+`}`, 1)},
		{"time", "occurred_at", strings.Replace(base, `09:00:00Z`, `09:00:00.`+testMobile+`Z`, 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ev engine.Event
			err := d.Decode("", []byte(tt.msg), &ev)
			var de *event.DecodeError
			require.ErrorAs(t, err, &de)
			require.Equal(t, event.ReasonBadValue, de.Reason)
			require.Equal(t, tt.field, de.Field)
			require.NotContains(t, err.Error(), testID)
			require.NotContains(t, err.Error(), testMobile)
		})
	}
}

func TestDecodeHashesAnIDThatHoldsAPersonalNumber(t *testing.T) {
	d := newDecoder(t)
	msg := `{"id":"gate-` + testMobile + `","school_id":"S1","source":"drowning","type":"weather","occurred_at":"2026-11-02T09:00:00Z","rain_mm_24h":1}`
	var ev engine.Event
	require.NoError(t, d.Decode("", []byte(msg), &ev))
	require.Equal(t, event.HashedIDPrefix+d.Identity.HashText("gate-"+testMobile), ev.ID)
	require.NotContains(t, string(ev.Payload), testMobile)
	var again engine.Event
	require.NoError(t, d.Decode("", []byte(msg), &again))
	require.Equal(t, ev.ID, again.ID, "the same id hashes the same: still stored once")
	var back engine.Event
	require.NoError(t, d.DecodeStored(ev.Payload, &back))
	require.Equal(t, ev.ID, back.ID)

	// Without a key there is no hash: the event is refused.
	d.Identity = nil
	var de *event.DecodeError
	require.ErrorAs(t, d.Decode("", []byte(msg), &ev), &de)
	require.Equal(t, "id", de.Field)
}

func TestDecodeErrorMasksQuotedValues(t *testing.T) {
	d := newDecoder(t)
	msg := `{"id":"w1","school_id":"` + testMobile + `","source":"drowning","type":"weather","occurred_at":"2026-11-02T09:00:00Z","rain_mm_24h":1}`
	var ev engine.Event
	err := d.Decode("", []byte(msg), &ev)
	require.ErrorContains(t, err, "139****5678")
	require.NotContains(t, err.Error(), testMobile)
}

func TestDecodeReportsDroppedFields(t *testing.T) {
	var mu sync.Mutex
	var got []string
	d := newDecoder(t)
	d.Dropped = func(src engine.Source, key []byte) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, string(src)+"/"+string(key))
	}
	var ev engine.Event
	require.NoError(t, d.Decode("", []byte(visitorEntry), &ev))
	msg := `{"id":"w1","school_id":"S1","source":"drowning","type":"weather","occurred_at":"2026-11-02T09:00:00Z","rain_mm_24h":1,"x":{"y":1},"rain_mm_24h":2}`
	require.NoError(t, d.Decode("", []byte(msg), &ev))
	require.Error(t, d.Decode("", []byte(`{"id":"w1","zzz":1}`), &ev))
	slices.Sort(got)
	require.Equal(t, []string{"drowning/x", "visitor/badge"}, got)
}

func TestRedactRaw(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		maxLen int
		want   string
	}{
		{"valid JSON", `{"visitor_id":"33040219800101123x","name":"张三","note":"` + testMobile + `"}`, 0,
			`{"visitor_id":"3304**********123X","name":"张*","note":"139****5678"}`},
		{"malformed and nested", `{"a":{"Visitor_ID" : "1234567890","x":[` + testID + `,`, 0,
			`{"a":{"Visitor_ID" : "1234**7890","x":[4403**********4513,`},
		{"escaped digits", `{"note":"\u0031\u00339\u0031\u0032\u0033\u0034\u0035\u0036\u0037\u0038","q":"\"\\u0031"}`, 0,
			`{"note":"139****5678","q":"\"\\u0031"}`},
		{"unterminated name", `{"name":"张三丰`, 0, `{"name":"张**`},
		{"truncated in a number", `{"note":"` + testID + `"}`, 20, `{"note":"`},
		{"not JSON", "电话 " + testMobile, 0, "电话 139****5678"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, string(event.RedactRaw([]byte(tt.in), tt.maxLen)))
		})
	}
}

func TestDecodeKeepsAnonymousReportsAnonymous(t *testing.T) {
	d := newDecoder(t)
	for _, tt := range []struct{ name, channel, reporter string }{
		{"anonymous channel", "anonymous_app", "app-user-4711"},
		{"anonymous reporter", "hotline", "anonymous"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			msg := `{"id":"b1","school_id":"S1","source":"bullying","type":"report","occurred_at":"2026-11-02T09:00:00Z",` +
				`"reporter":"王老师","channel":"` + tt.channel + `","victim_ref":"S-1","kind":"verbal","injury":false,"reporter":"` + tt.reporter + `"}`
			var ev engine.Event
			require.NoError(t, d.Decode(engine.SourceBullying, []byte(msg), &ev))
			require.Equal(t, event.Anonymous, ev.Reporter)
			require.NotContains(t, string(ev.Payload), "app-user")
			require.NotContains(t, string(ev.Payload), "王老师")
			var back engine.Event
			require.NoError(t, d.DecodeStored(ev.Payload, &back))
			require.Equal(t, event.Anonymous, back.Reporter)
		})
	}
}
