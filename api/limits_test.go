package api

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestQueryCaps runs every query that reads a list or the history with
// limits and time ranges on and over their caps. The server's clock is
// testNow (2025-06-10T12:00Z) and its history horizon 30 days.
func TestQueryCaps(t *testing.T) {
	const horizon = 30 * 24 * time.Hour
	tests := []struct {
		name   string
		target string
		// wantMsg, when set, is what the 400's message must contain;
		// otherwise the answer is 200.
		wantMsg []string
	}{
		{name: "alerts default limit", target: "/api/v1/alerts"},
		{name: "alerts largest limit", target: "/api/v1/alerts?limit=1000"},
		{name: "alerts limit over the cap", target: "/api/v1/alerts?limit=1001", wantMsg: []string{"parameter limit", `"1001"`, "1 to 1000"}},
		{name: "alerts limit zero", target: "/api/v1/alerts?limit=0", wantMsg: []string{"parameter limit"}},
		{name: "alerts limit negative", target: "/api/v1/alerts?limit=-5", wantMsg: []string{"parameter limit"}},
		{name: "alerts limit huge", target: "/api/v1/alerts?limit=99999999999999999999", wantMsg: []string{"parameter limit"}},
		{name: "alerts from within the horizon", target: "/api/v1/alerts?from=2025-05-20T00:00:00Z"},
		{name: "alerts from before the horizon", target: "/api/v1/alerts?from=2025-05-01T00:00:00Z",
			wantMsg: []string{"parameter from", "2025-05-01T00:00:00Z", "before the history kept", "30 days"}},
		{name: "alerts from not a time", target: "/api/v1/alerts?from=yesterday", wantMsg: []string{"parameter from", "RFC 3339"}},
		{name: "alerts to not a time", target: "/api/v1/alerts?to=today", wantMsg: []string{"parameter to", "RFC 3339"}},
		{name: "alerts only to", target: "/api/v1/alerts?to=2025-06-01T00:00:00Z"},
		{name: "hazards default limit", target: "/api/v1/hazards"},
		{name: "hazards limit over the cap", target: "/api/v1/hazards?limit=5000", wantMsg: []string{"parameter limit", "1 to 1000"}},
		{name: "hazards limit not a number", target: "/api/v1/hazards?limit=all", wantMsg: []string{"parameter limit"}},
		{name: "timeline within the horizon", target: "/api/v1/schools/JX-NH-0001/timeline?from=2025-05-12T00:00:00Z"},
		{name: "timeline from before the horizon", target: "/api/v1/schools/JX-NH-0001/timeline?from=2025-05-10T00:00:00Z",
			wantMsg: []string{"parameter from", "before the history kept"}},
		{name: "timeline default range cut at the horizon", target: "/api/v1/schools/JX-NH-0001/timeline?to=2025-05-14T00:00:00Z"},
		{name: "timeline range before the horizon", target: "/api/v1/schools/JX-NH-0001/timeline?to=2025-05-01T00:00:00Z",
			wantMsg: []string{"parameter from", "before the history kept"}},
		{name: "map at within the horizon", target: "/api/v1/map?at=" + url.QueryEscape("2025-05-12T00:00:00+08:00")},
		{name: "map at before the horizon", target: "/api/v1/map?at=" + url.QueryEscape("2025-05-01T00:00:00+08:00"),
			wantMsg: []string{"parameter at", "before the history kept"}},
		{name: "map at in the future", target: "/api/v1/map?at=" + url.QueryEscape("2025-06-11T00:00:00+08:00"),
			wantMsg: []string{"parameter at", "in the future"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fl := &fakeLevelsAt{}
			s := newTestServer(t, Options{
				Alerts: testAlerts(), Hazards: testHazards(), LevelsAt: fl.levelsAt,
				Limits: Limits{HistoryHorizon: horizon},
			})
			rec := serve(t, s.Handler(), http.MethodGet, tt.target)
			if tt.wantMsg == nil {
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				return
			}
			requireJSONError(t, rec, http.StatusBadRequest, tt.wantMsg...)
			require.Empty(t, fl.asked, "the history is not asked")
		})
	}
}

// TestListLimitsReachTheStore checks that the alert store is asked for the
// limit, and that the hazard list is cut at it while total and overdue
// count every hazard selected.
func TestListLimitsReachTheStore(t *testing.T) {
	fa := testAlerts()
	s := newTestServer(t, Options{Alerts: fa, Hazards: testHazards()})
	require.Equal(t, http.StatusOK, serve(t, s.Handler(), http.MethodGet, "/api/v1/alerts").Code)
	require.Equal(t, http.StatusOK, serve(t, s.Handler(), http.MethodGet, "/api/v1/alerts?limit=7").Code)
	require.Equal(t, DefaultListLimit, fa.filters[0].Limit)
	require.Equal(t, 7, fa.filters[1].Limit)

	for _, limit := range []int{1, 2, 3, 1000} {
		rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/hazards?limit="+strconv.Itoa(limit))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		got := decodeJSON[struct {
			Hazards []map[string]any `json:"hazards"`
			Total   int              `json:"total"`
			Overdue int              `json:"overdue"`
		}](t, rec)
		require.Len(t, got.Hazards, min(limit, 3))
		require.Equal(t, 3, got.Total)
		require.Equal(t, 1, got.Overdue)
	}
}

func TestLimitsDefaults(t *testing.T) {
	require.Equal(t, DefaultLimits(), Limits{}.withDefaults())
	off := Limits{RateLimit: -1, MaxStreams: -1, MaxStreamsPerCaller: -1}.withDefaults()
	require.Negative(t, off.RateLimit)
	require.Negative(t, off.MaxStreams)
	require.Negative(t, off.MaxStreamsPerCaller)
}
