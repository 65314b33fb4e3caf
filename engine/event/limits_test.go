package event_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

func TestDecodeLimits(t *testing.T) {
	d := newDecoder(t)
	d.Limits = event.DefaultLimits
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	d.Now = func() time.Time { return now }
	patrol := func(at time.Time, note string) string {
		return `{"id":"p1","school_id":"S1","source":"drowning","type":"patrol","occurred_at":"` + at.Format(time.RFC3339) +
			`","water_body":"南湖","hazard_found":false,"note":"` + note + `"}`
	}
	tests := []struct {
		name   string
		msg    string
		reason event.Reason
		field  string
	}{
		{"accepted", patrol(now, "ok"), "", ""},
		{"a month old", patrol(now.Add(-29*24*time.Hour), "ok"), "", ""},
		{"too old", patrol(now.Add(-31*24*time.Hour), "ok"), event.ReasonTimeOutOfRange, "occurred_at"},
		{"a little ahead", patrol(now.Add(9*time.Minute), "ok"), "", ""},
		{"too far ahead", patrol(now.Add(11*time.Minute), "ok"), event.ReasonTimeOutOfRange, "occurred_at"},
		{"string too long", patrol(now, strings.Repeat("水", 342)), event.ReasonTooLong, "note"},
		{"unknown fields are not limited", strings.Replace(patrol(now, "ok"), `}`, `,"x":"`+strings.Repeat("x", 4000)+`"}`, 1), "", ""},
		{"ref too long", `{"id":"b1","school_id":"S1","source":"bullying","type":"report","occurred_at":"2026-11-25T12:00:00Z","channel":"parent","victim_ref":"S-1","kind":"verbal","injury":false,"suspect_refs":["a","` + strings.Repeat("x", 1025) + `"]}`, event.ReasonTooLong, "suspect_refs"},
		{"message too large", strings.Replace(patrol(now, "ok"), `}`, `,"x":"`+strings.Repeat("x", 64<<10)+`"}`, 1), event.ReasonTooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev engine.Event
			err := d.Decode("", []byte(tt.msg), &ev)
			if tt.reason == "" {
				require.NoError(t, err)
				// Stored events are not checked again, however old.
				d2 := *d
				d2.Now = func() time.Time { return now.Add(365 * 24 * time.Hour) }
				require.NoError(t, d2.DecodeStored(ev.Payload, &ev))
				return
			}
			var de *event.DecodeError
			require.ErrorAs(t, err, &de)
			require.Equal(t, tt.reason, de.Reason)
			require.Equal(t, tt.field, de.Field)
		})
	}
}

func TestLimitsOrDefaults(t *testing.T) {
	require.Equal(t, event.DefaultLimits, event.Limits{}.OrDefaults())
	require.Equal(t, event.Limits{MaxMessageBytes: 10, MaxAhead: event.DefaultLimits.MaxAhead, MaxStringBytes: event.DefaultLimits.MaxStringBytes},
		event.Limits{MaxMessageBytes: 10, MaxAge: -1}.OrDefaults())
}
