package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

// fakeLevelsAt records the moments it is asked for and answers with changes
// or err.
type fakeLevelsAt struct {
	mu      sync.Mutex
	asked   []time.Time
	changes []engine.LevelChange
	err     error
}

func (f *fakeLevelsAt) levelsAt(_ context.Context, at time.Time) ([]engine.LevelChange, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, at)
	return f.changes, f.err
}

// pastChanges are the last changes before 2025-06-08T12:00+08:00 of two of
// the test schools, and one of a school the registry no longer has.
func pastChanges() []engine.LevelChange {
	return []engine.LevelChange{
		{SchoolID: "JX-NH-0001", At: at("2025-06-08T09:00:00+08:00"), From: engine.LevelGreen, To: engine.LevelYellow,
			Cause: engine.Cause{Rule: "canteen.no_hat", Text: "新增中风险：后厨人员未戴帽"}, ActiveRisks: 1},
		{SchoolID: "JX-JS-0001", At: at("2025-06-07T01:00:00Z"), From: engine.LevelYellow, To: engine.LevelRed,
			Cause: engine.Cause{Rule: "bullying.report", Text: "新增高风险：校园欺凌举报"}, ActiveRisks: 2},
		{SchoolID: "JX-GONE-0001", At: at("2025-06-07T01:00:00Z"), From: engine.LevelGreen, To: engine.LevelRed},
	}
}

func TestMapAt(t *testing.T) {
	f := &fakeLevelsAt{changes: pastChanges()}
	s := newTestServer(t, Options{LevelsAt: f.levelsAt})

	rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/map?at="+url.QueryEscape("2025-06-08T12:00:00+08:00"))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "application/geo+json", rec.Header().Get("Content-Type"))
	require.Equal(t, []time.Time{at("2025-06-08T12:00:00+08:00")}, f.asked)

	var g struct {
		geoJSON
		At string `json:"at"`
	}
	g.geoJSON = decodeJSON[geoJSON](t, rec)
	g.At = decodeJSON[map[string]any](t, rec)["at"].(string)
	require.Equal(t, "2025-06-08T12:00:00+08:00", g.At)
	require.Equal(t, []string{"JX-JS-0001", "JX-NH-0001", "JX-NH-0002", "JX-NH-0003", "JX-XZ-0001"}, g.ids(),
		"the registry's schools; not one the history has and the registry has not")
	require.Equal(t, map[string]int{"red": 1, "yellow": 1, "green": 3, "total": 5}, g.Summary)

	byID := map[string]map[string]any{}
	for _, f := range g.Features {
		byID[f.ID] = f.Properties
	}
	require.Equal(t, map[string]any{
		"school_id": "JX-NH-0001", "name": "南湖区实验小学", "district": "南湖区", "town": "城南街道", "stage": "primary",
		"level": "yellow", "level_zh": "黄色", "active_risks": float64(1), "since": "2025-06-08T09:00:00+08:00",
		"sources": []any{}, "pending_risks": float64(0),
	}, byID["JX-NH-0001"], "the colour it had then, not the red of now")
	require.Equal(t, "red", byID["JX-JS-0001"]["level"])
	require.Equal(t, "2025-06-07T09:00:00+08:00", byID["JX-JS-0001"]["since"], "in +08:00")
	require.Equal(t, float64(2), byID["JX-JS-0001"]["active_risks"])
	for _, id := range []string{"JX-NH-0002", "JX-XZ-0001"} {
		require.Equal(t, "green", byID[id]["level"], "%s: no change stored before at is green", id)
		require.Nil(t, byID[id]["since"], id)
		require.Equal(t, float64(0), byID[id]["active_risks"], id)
	}
}

func TestMapAtFilters(t *testing.T) {
	f := &fakeLevelsAt{changes: pastChanges()}
	s := newTestServer(t, Options{LevelsAt: f.levelsAt})
	tests := []struct {
		name        string
		query       url.Values
		wantIDs     []string
		wantSummary map[string]int
	}{
		{
			name:        "level filters by the past colour",
			query:       url.Values{"level": {"red"}},
			wantIDs:     []string{"JX-JS-0001"},
			wantSummary: map[string]int{"red": 1, "yellow": 1, "green": 3, "total": 5},
		},
		{
			name:        "district",
			query:       url.Values{"district": {"南湖区"}},
			wantIDs:     []string{"JX-NH-0001", "JX-NH-0002", "JX-NH-0003"},
			wantSummary: map[string]int{"red": 0, "yellow": 1, "green": 2, "total": 3},
		},
		{
			name:        "an offset written unescaped",
			query:       nil,
			wantIDs:     []string{"JX-JS-0001", "JX-NH-0001", "JX-NH-0002", "JX-NH-0003", "JX-XZ-0001"},
			wantSummary: map[string]int{"red": 1, "yellow": 1, "green": 3, "total": 5},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := "/api/v1/map?at=2025-06-08T12:00:00+08:00"
			if tt.query != nil {
				target = "/api/v1/map?at=" + url.QueryEscape("2025-06-08T12:00:00+08:00") + "&" + tt.query.Encode()
			}
			rec := serve(t, s.Handler(), http.MethodGet, target)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			g := decodeJSON[geoJSON](t, rec)
			require.Equal(t, tt.wantIDs, g.ids())
			require.Equal(t, tt.wantSummary, g.Summary)
		})
	}
}

func TestMapAtErrors(t *testing.T) {
	f := &fakeLevelsAt{}
	s := newTestServer(t, Options{LevelsAt: f.levelsAt})
	tests := []struct {
		name   string
		server *Server
		at     string
		code   int
		want   []string
	}{
		{"not a time", s, "yesterday", http.StatusBadRequest, []string{"invalid parameter at", `"yesterday"`, "RFC 3339"}},
		{"in the future", s, "2025-06-10T20:00:01+08:00", http.StatusBadRequest, []string{"invalid parameter at", "in the future"}},
		{"no history", newTestServer(t, Options{}), "2025-06-08T12:00:00+08:00", http.StatusBadRequest, []string{"keeps no history"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, tt.server.Handler(), http.MethodGet, "/api/v1/map?at="+url.QueryEscape(tt.at))
			requireJSONError(t, rec, tt.code, tt.want...)
		})
	}
	require.Empty(t, f.asked, "nothing is read for a refused request")

	t.Run("now is not the future", func(t *testing.T) {
		rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/map?at="+url.QueryEscape(testNow.Format(time.RFC3339)))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	})

	t.Run("the store fails", func(t *testing.T) {
		failing := &fakeLevelsAt{err: errors.New("clickhouse: connection refused")}
		s := newTestServer(t, Options{LevelsAt: failing.levelsAt})
		rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/map?at="+url.QueryEscape("2025-06-08T12:00:00+08:00"))
		requireJSONError(t, rec, http.StatusInternalServerError, "could not read the colours at 2025-06-08T12:00:00+08:00")
		require.NotContains(t, rec.Body.String(), "connection refused", "the store's error stays in the log")
	})
}
