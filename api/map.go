package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/words"
)

// mimeGeoJSON is the media type of GeoJSON (RFC 7946).
const mimeGeoJSON = "application/geo+json"

// LevelsAtFunc returns, for every school with a colour change stored before
// at, the last such change; a school without one was green. It is provided
// by the history store and must honour ctx: the request's context is
// cancelled when the client goes away.
type LevelsAtFunc func(ctx context.Context, at time.Time) ([]engine.LevelChange, error)

// featureCollection is the GeoJSON of the map. Summary and At are foreign
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
// can show all three counts while the map draws only some colours. With
// at, every school has the colour it had at that moment, from the history.
// format=compact answers with one array per school instead of GeoJSON
// (mapcompact.go). The live map's answers are cached (mapcache.go); every
// answer has a strong ETag and is revalidated (mapserve.go).
func (s *Server) handleMap(c echo.Context) error {
	q := c.QueryParams()
	req := mapRequest{Scope: ScopeFrom(c.Request().Context()), Districts: listParam(q["district"])}
	slices.Sort(req.Districts)
	req.Districts = slices.Compact(req.Districts)
	for _, v := range listParam(q["level"]) {
		l, err := engine.ParseLevel(v)
		if err != nil {
			return httpError(http.StatusBadRequest, "invalid parameter level: %v", err)
		}
		if !slices.Contains(req.Levels, l) {
			req.Levels = append(req.Levels, l)
		}
	}
	slices.Sort(req.Levels)
	switch f := mapFormat(c.QueryParam("format")); f {
	case "", mapGeoJSON:
		req.Format = mapGeoJSON
	case mapCompact:
		req.Format = f
	default:
		return httpError(http.StatusBadRequest, "invalid parameter format: %q, expected %s or %s", f, mapGeoJSON, mapCompact)
	}
	_, req.Pretty = q["pretty"] // as echo's Context.JSON
	if v := c.QueryParam("at"); v != "" {
		t, err := s.pastMoment(v)
		if err != nil {
			return err
		}
		req.At = &t
	}

	if req.At != nil || s.mapCache == nil {
		a, err := s.buildMap(c.Request().Context(), req)
		if err != nil {
			return err
		}
		return serveMap(c, a, encIdentity, a.lastEventID)
	}
	enc := negotiateEncoding(c.Request().Header.Get(echo.HeaderAcceptEncoding))
	a, lastEventID, err := s.mapCache.get(c.Request().Context(), req, enc)
	if err != nil {
		return err
	}
	return serveMap(c, a, enc, lastEventID)
}

// buildMap builds the answer to req from the state now (or, with req.At,
// from the history): its identity body, content type and ETag, and the
// position of the live stream before the state was read.
func (s *Server) buildMap(ctx context.Context, req mapRequest) (*mapAnswer, error) {
	a := &mapAnswer{}
	if req.At == nil {
		// Read before the state: every change published after it may be
		// missing from the answer, none before it is.
		a.lastEventID = s.streamPosition()
	}
	views := s.schools.Views(func(school *engine.School) bool {
		if !req.Scope.Allows(school) {
			return false
		}
		if req.Districts == nil {
			return true
		}
		_, found := slices.BinarySearch(req.Districts, school.District)
		return found
	})

	facts := s.riskFacts
	if req.At != nil {
		var err error
		if views, err = s.viewsAt(ctx, views, *req.At); err != nil {
			return nil, err
		}
		facts = func(*engine.SchoolSummary) ([]engine.Source, int) { return []engine.Source{}, 0 }
	}
	var err error
	switch req.Format {
	case mapCompact:
		a.contentType = echo.MIMEApplicationJSON
		a.body, err = compactMap(views, req, facts)
	default:
		a.contentType = mimeGeoJSON
		a.body, err = geoJSONMap(views, req, facts)
	}
	if err != nil {
		return nil, fmt.Errorf("encode the map: %w", err)
	}
	a.etag = bodyTag(a.body)
	return a, nil
}

// streamPosition returns the id of the live stream's newest event, "" when
// the stream is not served.
func (s *Server) streamPosition() string {
	if s.stream == nil {
		return ""
	}
	return s.stream.hub.lastEventID()
}

// geoJSONMap encodes views as the GeoJSON answer, byte for byte as echo's
// Context.JSON encodes it.
func geoJSONMap(views []engine.SchoolSummary, req mapRequest, facts func(*engine.SchoolSummary) ([]engine.Source, int)) ([]byte, error) {
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

// riskFacts returns the sources of the active risks of the school of v, in
// the order of the contract's sources, and how many of them are pending a
// check. Only a school with active risks is looked up.
func (s *Server) riskFacts(v *engine.SchoolSummary) (sources []engine.Source, pending int) {
	sources = []engine.Source{}
	if v.ActiveRisks == 0 {
		return sources, 0
	}
	full, ok := s.schools.View(v.School.ID)
	if !ok {
		return sources, 0
	}
	for _, r := range full.Risks {
		if r.Pending {
			pending++
		}
	}
	for _, src := range s.sources {
		for _, r := range full.Risks {
			if r.Source == src {
				sources = append(sources, src)
				break
			}
		}
	}
	return sources, pending
}

// pastMoment parses the at parameter of the map: an RFC 3339 time, not in
// the future and not before the history horizon, to the millisecond (the
// history's precision: a change a second after at is not shown).
func (s *Server) pastMoment(v string) (time.Time, error) {
	if s.levelsAt == nil {
		return time.Time{}, httpError(http.StatusBadRequest,
			"invalid parameter at: this server keeps no history to show a past moment from")
	}
	t, err := parseTime("at", v)
	if err != nil {
		return time.Time{}, err
	}
	if now := s.now(); t.After(now) {
		return time.Time{}, httpError(http.StatusBadRequest,
			"invalid parameter at: %s is in the future (now is %s)", t.Format(time.RFC3339), local(now).Format(time.RFC3339))
	}
	// Its answer is cached (see atCache): the page asks for the same moment
	// again and again.
	return t.Truncate(time.Millisecond), s.checkHorizon("at", t)
}

// viewsAt returns views with each school's colour, since and active risks as
// the history had them at the moment at: those of its last change before
// at, or green with no change for a school that had none.
func (s *Server) viewsAt(ctx context.Context, views []engine.SchoolSummary, at time.Time) ([]engine.SchoolSummary, error) {
	changes, err := s.levelsAt(ctx, at)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			s.logger.LogAttrs(ctx, slog.LevelDebug, "map query cancelled", slog.Time("at", at))
			return nil, httpError(http.StatusServiceUnavailable, "request cancelled")
		}
		return nil, httpError(http.StatusInternalServerError, "could not read the colours at %s", local(at).Format(time.RFC3339)).
			SetInternal(fmt.Errorf("colours at %s: %w", at.Format(time.RFC3339Nano), err))
	}
	last := make(map[string]*engine.LevelChange, len(changes))
	for i := range changes {
		last[changes[i].SchoolID] = &changes[i]
	}
	out := make([]engine.SchoolSummary, len(views))
	for i, v := range views {
		out[i] = engine.SchoolSummary{School: v.School, Level: engine.LevelGreen}
		if ch := last[v.School.ID]; ch != nil {
			out[i].Level, out[i].Since, out[i].ActiveRisks = ch.To, ch.At, ch.ActiveRisks
		}
	}
	return out, nil
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
