package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sanse-campus/sanse/engine"
)

// mimeGeoJSON is the media type of GeoJSON (RFC 7946).
const mimeGeoJSON = "application/geo+json"

// featureCollection is the GeoJSON of the map. Summary is a foreign member,
// which RFC 7946 allows.
type featureCollection struct {
	Type     string    `json:"type"`
	Features []feature `json:"features"`
	Summary  summary   `json:"summary"`
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
}

// summary counts schools by colour.
type summary struct {
	Red    int `json:"red"`
	Yellow int `json:"yellow"`
	Green  int `json:"green"`
	Total  int `json:"total"`
}

func (s *summary) add(l engine.Level) {
	switch l {
	case engine.LevelRed:
		s.Red++
	case engine.LevelYellow:
		s.Yellow++
	case engine.LevelGreen:
		s.Green++
	}
	s.Total++
}

// handleMap serves GET /api/v1/map: one point per school of the caller's
// scope, filtered by the query parameters district and level (each
// repeatable or comma-separated). The summary counts the schools of the
// scope and districts by colour before the level filter, so that a legend
// can show all three counts while the map draws only some colours.
func (s *Server) handleMap(c echo.Context) error {
	q := c.QueryParams()
	districts := listParam(q["district"])
	var levels map[engine.Level]bool
	for _, v := range listParam(q["level"]) {
		l, err := engine.ParseLevel(v)
		if err != nil {
			return httpError(http.StatusBadRequest, "invalid parameter level: %v", err)
		}
		if levels == nil {
			levels = map[engine.Level]bool{}
		}
		levels[l] = true
	}

	scope := ScopeFrom(c.Request().Context())
	views := s.schools.Views(func(school *engine.School) bool {
		if !scope.Allows(school) {
			return false
		}
		if districts == nil {
			return true
		}
		for _, d := range districts {
			if school.District == d {
				return true
			}
		}
		return false
	})

	fc := featureCollection{Type: "FeatureCollection", Features: make([]feature, 0, len(views))}
	for _, v := range views {
		fc.Summary.add(v.Level)
		if levels != nil && !levels[v.Level] {
			continue
		}
		fc.Features = append(fc.Features, feature{
			Type:     "Feature",
			ID:       v.School.ID,
			Geometry: point{Type: "Point", Coordinates: [2]float64{v.School.Longitude, v.School.Latitude}},
			Properties: featureProperties{
				SchoolID:    v.School.ID,
				Name:        v.School.Name,
				District:    v.School.District,
				Town:        v.School.Town,
				Stage:       v.School.Stage,
				Level:       v.Level,
				LevelZh:     v.Level.Chinese(),
				ActiveRisks: v.ActiveRisks,
				Since:       timeOrNil(v.Since),
			},
		})
	}
	c.Response().Header().Set(echo.HeaderContentType, mimeGeoJSON)
	return c.JSON(http.StatusOK, fc)
}

// listParam flattens a query parameter given repeatedly and/or as a
// comma-separated list, dropping empty items. It returns nil when no item is
// left, meaning no filter.
func listParam(values []string) []string {
	var out []string
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

// timeOrNil returns nil for the zero time, which JSON shows as null, and
// otherwise the time as local() gives it.
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = local(t)
	return &t
}

// local returns t in Asia/Shanghai (+08:00), the time of the people who read
// the API, whatever offset the producer or the store used.
func local(t time.Time) time.Time { return t.In(engine.Shanghai) }
