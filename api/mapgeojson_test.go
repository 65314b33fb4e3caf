package api

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/words"
)

// featureCollection is the GeoJSON of the map, as encoding/json writes it. Summary and At are foreign
// members, which RFC 7946 allows.
type featureCollection struct {
	Type     string    `json:"type"`
	Features []feature `json:"features"`
	Summary  summary   `json:"summary"`
	// At is the past moment the map shows; absent for the live map.
	At *time.Time `json:"at,omitempty"`
}

type feature struct {
	Type       string            `json:"type"`
	ID         string            `json:"id"`
	Geometry   point             `json:"geometry"`
	Properties featureProperties `json:"properties"`
}

type point struct {
	Type string `json:"type"`
	// Coordinates are longitude, latitude, in that order.
	Coordinates [2]float64 `json:"coordinates"`
}

type featureProperties struct {
	SchoolID    string       `json:"school_id"`
	Name        string       `json:"name"`
	District    string       `json:"district"`
	Town        string       `json:"town"`
	Stage       engine.Stage `json:"stage"`
	Level       engine.Level `json:"level"`
	LevelZh     string       `json:"level_zh"`
	ActiveRisks int          `json:"active_risks"`
	Since       *time.Time   `json:"since"`
	// Sources are the sources of the active risks, in the order of the
	// contract's sources (Options.Contract); empty on the map of a past
	// moment.
	Sources []engine.Source `json:"sources"`
	// PendingRisks counts the active risks that wait for a person's check
	// (待核实); 0 on the map of a past moment.
	PendingRisks int `json:"pending_risks"`
}

// geoJSONReference encodes views as the GeoJSON answer through
// encoding/json, as echo's Context.JSON did before geoJSONMap wrote it by
// hand: the reference geoJSONMap is held to.
func geoJSONReference(views []engine.SchoolSummary, req mapRequest, facts func(*engine.SchoolSummary) ([]engine.Source, int)) ([]byte, error) {
	fc := featureCollection{Type: "FeatureCollection", Features: make([]feature, 0, len(views))}
	if req.At != nil {
		at := local(*req.At)
		fc.At = &at
	}
	for i := range views {
		v := &views[i]
		fc.Summary.add(v.Level)
		if req.Levels != nil && !slices.Contains(req.Levels, v.Level) {
			continue
		}
		sources, pending := facts(v)
		fc.Features = append(fc.Features, feature{
			Type:     "Feature",
			ID:       v.School.ID,
			Geometry: point{Type: "Point", Coordinates: [2]float64{v.School.Longitude, v.School.Latitude}},
			Properties: featureProperties{
				SchoolID:     v.School.ID,
				Name:         v.School.Name,
				District:     v.School.District,
				Town:         v.School.Town,
				Stage:        v.School.Stage,
				Level:        v.Level,
				LevelZh:      words.Level(v.Level, words.Chinese),
				ActiveRisks:  v.ActiveRisks,
				Since:        timeOrNil(v.Since),
				Sources:      sources,
				PendingRisks: pending,
			},
		})
	}
	var buf bytes.Buffer
	buf.Grow(len(fc.Features) * 340)
	enc := json.NewEncoder(&buf)
	if req.Pretty {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(fc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// TestMapGeoJSONAsEncodingJSON holds the hand-written GeoJSON to
// encoding/json's, byte for byte, for every request shape, on the test
// schools, the schools pending checks and 2,000 generated ones.
func TestMapGeoJSONAsEncodingJSON(t *testing.T) {
	past := at("2025-06-08T12:00:00+08:00")
	for _, schools := range []Schools{testSchools(), pendingSchools(), provinceSchools(2000)} {
		s := newTestServer(t, Options{Schools: schools, LevelsAt: (&fakeLevelsAt{changes: pastChanges()}).levelsAt})
		for _, req := range []mapRequest{
			{Scope: ScopeAll},
			{Scope: ScopeAll, Pretty: true},
			{Scope: ScopeAll, Levels: []engine.Level{engine.LevelRed, engine.LevelYellow}},
			{Scope: Scope{District: "南湖区"}, Levels: []engine.Level{engine.LevelGreen}},
			{Scope: ScopeAll, Districts: []string{"西湖区"}},
			{Scope: ScopeAll, At: &past},
			{Scope: ScopeAll, At: &past, Pretty: true, Levels: []engine.Level{engine.LevelYellow}},
		} {
			views, facts, err := s.mapViews(t.Context(), req)
			require.NoError(t, err)
			want, err := geoJSONReference(views, req, facts)
			require.NoError(t, err)
			got, err := geoJSONMap(views, req, facts)
			require.NoError(t, err)
			require.Equal(t, string(want), string(got), "%+v", req)
		}
	}
}
