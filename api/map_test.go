package api

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// geoJSON is the map response as a client decodes it.
type geoJSON struct {
	Type     string `json:"type"`
	Features []struct {
		Type     string `json:"type"`
		ID       string `json:"id"`
		Geometry struct {
			Type        string    `json:"type"`
			Coordinates []float64 `json:"coordinates"`
		} `json:"geometry"`
		Properties map[string]any `json:"properties"`
	} `json:"features"`
	Summary map[string]int `json:"summary"`
}

func (g geoJSON) ids() []string {
	ids := []string{}
	for _, f := range g.Features {
		ids = append(ids, f.ID)
	}
	return ids
}

func TestMapGeoJSON(t *testing.T) {
	s := newTestServer(t, Options{})
	rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/map")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "application/geo+json", rec.Header().Get("Content-Type"))

	g := decodeJSON[geoJSON](t, rec)
	require.Equal(t, "FeatureCollection", g.Type)
	require.Equal(t, []string{"JX-JS-0001", "JX-NH-0001", "JX-NH-0002", "JX-NH-0003", "JX-XZ-0001"}, g.ids())
	require.Equal(t, map[string]int{"red": 2, "yellow": 1, "green": 2, "total": 5}, g.Summary)

	red := g.Features[1]
	require.Equal(t, "Feature", red.Type)
	require.Equal(t, "Point", red.Geometry.Type)
	require.Equal(t, []float64{120.7612, 30.7471}, red.Geometry.Coordinates, "longitude first")
	require.Equal(t, map[string]any{
		"school_id":     "JX-NH-0001",
		"name":          "南湖区实验小学",
		"district":      "南湖区",
		"town":          "城南街道",
		"stage":         "primary",
		"level":         "red",
		"level_zh":      "红色",
		"active_risks":  float64(2),
		"since":         "2025-06-09T07:42:00+08:00",
		"sources":       []any{"visitor", "canteen"},
		"pending_risks": float64(0),
	}, red.Properties)
	require.NotContains(t, rec.Body.String(), `"at":`, "the live map has no at")

	neverChanged := g.Features[3]
	require.Equal(t, "JX-NH-0003", neverChanged.ID)
	require.Contains(t, neverChanged.Properties, "since")
	require.Nil(t, neverChanged.Properties["since"])
	require.Equal(t, "绿色", neverChanged.Properties["level_zh"])
	require.Equal(t, float64(0), neverChanged.Properties["active_risks"])
	require.Equal(t, []any{}, neverChanged.Properties["sources"], "an empty list, never null")

	require.Equal(t, "黄色", g.Features[2].Properties["level_zh"])
}

func TestMapPendingRisks(t *testing.T) {
	s := newTestServer(t, Options{Schools: pendingSchools()})
	rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/map")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	pending := map[string]any{}
	for _, f := range decodeJSON[geoJSON](t, rec).Features {
		pending[f.ID] = f.Properties["pending_risks"]
	}
	require.Equal(t, map[string]any{
		"JX-JS-0001": float64(0), "JX-NH-0001": float64(0), "JX-NH-0002": float64(0), "JX-NH-0003": float64(1), "JX-XZ-0001": float64(0),
	}, pending)
}

func TestMapFilters(t *testing.T) {
	all := map[string]int{"red": 2, "yellow": 1, "green": 2, "total": 5}
	nanhu := map[string]int{"red": 1, "yellow": 1, "green": 1, "total": 3}
	tests := []struct {
		name        string
		query       url.Values
		wantIDs     []string
		wantSummary map[string]int
	}{
		{
			name:        "no filter",
			wantIDs:     []string{"JX-JS-0001", "JX-NH-0001", "JX-NH-0002", "JX-NH-0003", "JX-XZ-0001"},
			wantSummary: all,
		},
		{
			name:        "one district",
			query:       url.Values{"district": {"南湖区"}},
			wantIDs:     []string{"JX-NH-0001", "JX-NH-0002", "JX-NH-0003"},
			wantSummary: nanhu,
		},
		{
			name:        "districts comma-separated",
			query:       url.Values{"district": {"南湖区,秀洲区"}},
			wantIDs:     []string{"JX-NH-0001", "JX-NH-0002", "JX-NH-0003", "JX-XZ-0001"},
			wantSummary: map[string]int{"red": 2, "yellow": 1, "green": 1, "total": 4},
		},
		{
			name:        "districts repeated",
			query:       url.Values{"district": {"嘉善县", "秀洲区"}},
			wantIDs:     []string{"JX-JS-0001", "JX-XZ-0001"},
			wantSummary: map[string]int{"red": 1, "yellow": 0, "green": 1, "total": 2},
		},
		{
			name:        "unknown district is empty, not an error",
			query:       url.Values{"district": {"西湖区"}},
			wantIDs:     []string{},
			wantSummary: map[string]int{"red": 0, "yellow": 0, "green": 0, "total": 0},
		},
		{
			name:        "level keeps the summary of every level",
			query:       url.Values{"level": {"red"}},
			wantIDs:     []string{"JX-NH-0001", "JX-XZ-0001"},
			wantSummary: all,
		},
		{
			name:        "levels comma-separated with spaces",
			query:       url.Values{"level": {"red, yellow"}},
			wantIDs:     []string{"JX-NH-0001", "JX-NH-0002", "JX-XZ-0001"},
			wantSummary: all,
		},
		{
			name:        "levels repeated",
			query:       url.Values{"level": {"yellow", "green"}},
			wantIDs:     []string{"JX-JS-0001", "JX-NH-0002", "JX-NH-0003"},
			wantSummary: all,
		},
		{
			name:        "empty level is no filter",
			query:       url.Values{"level": {""}},
			wantIDs:     []string{"JX-JS-0001", "JX-NH-0001", "JX-NH-0002", "JX-NH-0003", "JX-XZ-0001"},
			wantSummary: all,
		},
		{
			name:        "district and level",
			query:       url.Values{"district": {"南湖区"}, "level": {"green"}},
			wantIDs:     []string{"JX-NH-0003"},
			wantSummary: nanhu,
		},
	}
	s := newTestServer(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/map?"+tt.query.Encode())
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), `"features":[`, "features is an array, never null")
			g := decodeJSON[geoJSON](t, rec)
			require.Equal(t, tt.wantIDs, g.ids())
			require.Equal(t, tt.wantSummary, g.Summary)
		})
	}
}

func TestMapBadLevel(t *testing.T) {
	tests := []struct {
		name  string
		query string
	}{
		{name: "unknown level", query: "level=blue"},
		{name: "unknown level in a list", query: "level=red,Blue"},
		{name: "severity is not a level", query: "level=high"},
	}
	s := newTestServer(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/map?"+tt.query)
			requireJSONError(t, rec, http.StatusBadRequest, "level", "red, yellow or green")
		})
	}
}
