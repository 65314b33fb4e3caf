package api

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

func TestTimeline(t *testing.T) {
	fake := &fakeTimeline{changes: []engine.LevelChange{
		// Out of order, to check that the response is sorted.
		{
			ID: "expired:canteen.no_hat/后厨", SchoolID: "JX-NH-0001", At: at("2025-06-09T10:20:00+08:00"),
			From: engine.LevelRed, To: engine.LevelYellow,
			Cause: engine.Cause{Rule: "visitor.blacklist", Text: "风险已到期解除：禁入名单人员到访"}, ActiveRisks: 1,
		},
		{
			ID: "ev-visitor-1:visitor.blacklist", SchoolID: "JX-NH-0001", At: at("2025-06-09T07:42:00+08:00"),
			From: engine.LevelGreen, To: engine.LevelRed, Cause: engine.Cause{Rule: "visitor.blacklist", Text: "新增高风险：禁入名单人员到访"}, EventID: "ev-visitor-1",
			ActiveRisks: 1,
		},
	}}
	s := newTestServer(t, Options{Timeline: fake.timeline})
	rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/schools/JX-NH-0001/timeline")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.JSONEq(t, `{
		"school_id": "JX-NH-0001",
		"from": "2025-06-03T20:00:00+08:00",
		"to": "2025-06-10T20:00:00+08:00",
		"changes": [
			{
				"at": "2025-06-09T07:42:00+08:00", "from": "green", "to": "red", "rule": "visitor.blacklist",
				"event_id": "ev-visitor-1", "cause": "新增高风险：禁入名单人员到访", "cause_en": "新增高风险：禁入名单人员到访", "active_risks": 1
			},
			{
				"at": "2025-06-09T10:20:00+08:00", "from": "red", "to": "yellow", "rule": "visitor.blacklist",
				"event_id": null, "cause": "风险已到期解除：禁入名单人员到访", "cause_en": "风险已到期解除：禁入名单人员到访", "active_risks": 1
			}
		]
	}`, rec.Body.String())
	require.Equal(t, []timelineCall{{"JX-NH-0001", testNow.Add(-7 * 24 * time.Hour), testNow}}, fake.recorded())
}

func TestTimelineRange(t *testing.T) {
	tests := []struct {
		name     string
		query    url.Values
		wantFrom time.Time
		wantTo   time.Time
	}{
		{
			name:     "default is the last seven days",
			wantFrom: testNow.Add(-7 * 24 * time.Hour), wantTo: testNow,
		},
		{
			name:     "from and to",
			query:    url.Values{"from": {"2025-05-01T00:00:00+08:00"}, "to": {"2025-05-02T00:00:00+08:00"}},
			wantFrom: at("2025-05-01T00:00:00+08:00"), wantTo: at("2025-05-02T00:00:00+08:00"),
		},
		{
			name:     "from only runs to now",
			query:    url.Values{"from": {"2025-01-01T00:00:00Z"}},
			wantFrom: at("2025-01-01T00:00:00Z"), wantTo: testNow,
		},
		{
			name:     "to only starts seven days before",
			query:    url.Values{"to": {"2025-05-08T00:00:00Z"}},
			wantFrom: at("2025-05-01T00:00:00Z"), wantTo: at("2025-05-08T00:00:00Z"),
		},
		{
			name:     "offset with an unescaped plus",
			query:    url.Values{"from": {"2025-06-01T08:00:00 08:00"}},
			wantFrom: at("2025-06-01T00:00:00Z"), wantTo: testNow,
		},
		{
			name:     "fractional seconds",
			query:    url.Values{"from": {"2025-06-01T00:00:00.250Z"}},
			wantFrom: at("2025-06-01T00:00:00.25Z"), wantTo: testNow,
		},
		{
			name:     "empty range",
			query:    url.Values{"from": {"2025-06-01T00:00:00Z"}, "to": {"2025-06-01T00:00:00Z"}},
			wantFrom: at("2025-06-01T00:00:00Z"), wantTo: at("2025-06-01T00:00:00Z"),
		},
		{
			name:     "exactly 366 days",
			query:    url.Values{"from": {"2024-06-09T12:00:00Z"}},
			wantFrom: at("2024-06-09T12:00:00Z"), wantTo: testNow,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeTimeline{}
			s := newTestServer(t, Options{Timeline: fake.timeline})
			rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/schools/JX-NH-0002/timeline?"+tt.query.Encode())
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			calls := fake.recorded()
			require.Len(t, calls, 1)
			require.Equal(t, "JX-NH-0002", calls[0].schoolID)
			require.True(t, tt.wantFrom.Equal(calls[0].from), "from: got %s, want %s", calls[0].from, tt.wantFrom)
			require.True(t, tt.wantTo.Equal(calls[0].to), "to: got %s, want %s", calls[0].to, tt.wantTo)
			body := decodeJSON[map[string]any](t, rec)
			require.Equal(t, []any{}, body["changes"], "an empty array, never null")
		})
	}
}

func TestTimelineBadParameters(t *testing.T) {
	tests := []struct {
		name    string
		query   url.Values
		wantMsg []string
	}{
		{
			name:    "from is not a time",
			query:   url.Values{"from": {"yesterday"}},
			wantMsg: []string{"parameter from", `"yesterday"`, "RFC 3339", timeExample},
		},
		{
			name:    "to is a date without time",
			query:   url.Values{"to": {"2025-06-01"}},
			wantMsg: []string{"parameter to", "RFC 3339"},
		},
		{
			name:    "time without zone",
			query:   url.Values{"from": {"2025-06-01T08:00:00"}},
			wantMsg: []string{"parameter from", "RFC 3339"},
		},
		{
			name:    "space that is not an offset",
			query:   url.Values{"from": {"2025-06-01 08:00:00"}},
			wantMsg: []string{"parameter from", `"2025-06-01 08:00:00"`, "RFC 3339"},
		},
		{
			name:    "from after to",
			query:   url.Values{"from": {"2025-06-02T00:00:00Z"}, "to": {"2025-06-01T00:00:00Z"}},
			wantMsg: []string{"parameter from", "after to"},
		},
		{
			name:    "from in the future with default to",
			query:   url.Values{"from": {"2025-07-01T00:00:00Z"}},
			wantMsg: []string{"parameter from", "after to"},
		},
		{
			name:    "longer than 366 days",
			query:   url.Values{"from": {"2024-01-01T00:00:00Z"}, "to": {"2025-01-01T00:00:01Z"}},
			wantMsg: []string{"366 days"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeTimeline{}
			s := newTestServer(t, Options{Timeline: fake.timeline})
			rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/schools/JX-NH-0001/timeline?"+tt.query.Encode())
			requireJSONError(t, rec, http.StatusBadRequest, tt.wantMsg...)
			require.Empty(t, fake.recorded(), "the store is not asked")
		})
	}
}

func TestTimelineStoreError(t *testing.T) {
	fake := &fakeTimeline{err: errors.New("clickhouse: dial tcp 10.0.0.7:9000: connection refused")}
	s := newTestServer(t, Options{Timeline: fake.timeline})
	rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/schools/JX-NH-0001/timeline")
	requireJSONError(t, rec, http.StatusInternalServerError, "JX-NH-0001")
	require.NotContains(t, rec.Body.String(), "10.0.0.7", "internal errors stay in the log")
}
