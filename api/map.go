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
	"strconv"
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

// summary counts schools by colour.
type summary struct {
	Red    int `json:"red"`
	Yellow int `json:"yellow"`
	Green  int `json:"green"`
	Total  int `json:"total"`
}

// appendJSON appends s as encoding/json writes it.
func (s *summary) appendJSON(b []byte) []byte {
	b = append(b, `{"red":`...)
	b = strconv.AppendInt(b, int64(s.Red), 10)
	b = append(b, `,"yellow":`...)
	b = strconv.AppendInt(b, int64(s.Yellow), 10)
	b = append(b, `,"green":`...)
	b = strconv.AppendInt(b, int64(s.Green), 10)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, int64(s.Total), 10)
	return append(b, '}')
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
	views, facts, err := s.mapViews(ctx, req)
	if err != nil {
		return nil, err
	}
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

// mapViews returns the schools of req's scope and districts, with their
// colours now or at req.At, and how to look up their risks' sources and
// pending checks.
func (s *Server) mapViews(ctx context.Context, req mapRequest) ([]engine.SchoolSummary, func(*engine.SchoolSummary) ([]engine.Source, int), error) {
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
			return nil, nil, err
		}
		facts = func(*engine.SchoolSummary) ([]engine.Source, int) { return []engine.Source{}, 0 }
	}
	return views, facts, nil
}

// streamPosition returns the id of the live stream's newest event, "" when
// the stream is not served.
func (s *Server) streamPosition() string {
	if s.stream == nil {
		return ""
	}
	return s.stream.hub.lastEventID()
}

// geoJSONMap encodes views as the GeoJSON answer: a FeatureCollection
// (RFC 7946) with the foreign members summary and, for a past moment, at.
// It is written by hand, as encoding/json writes the same values (the
// reference of TestMapGeoJSONAsEncodingJSON): a build of 20,000 schools
// then takes a fraction of the time and garbage.
func geoJSONMap(views []engine.SchoolSummary, req mapRequest, facts func(*engine.SchoolSummary) ([]engine.Source, int)) ([]byte, error) {
	b := make([]byte, 0, 128+len(views)*380)
	b = append(b, `{"type":"FeatureCollection","features":[`...)
	var sum summary
	first := true
	for i := range views {
		v := &views[i]
		sum.add(v.Level)
		if req.Levels != nil && !slices.Contains(req.Levels, v.Level) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		sources, pending := facts(v)
		s := v.School
		b = append(b, `{"type":"Feature","id":`...)
		b = appendJSONString(b, s.ID)
		b = append(b, `,"geometry":{"type":"Point","coordinates":[`...)
		b = appendJSONFloat(b, s.Longitude)
		b = append(b, ',')
		b = appendJSONFloat(b, s.Latitude)
		b = append(b, `]},"properties":{"school_id":`...)
		b = appendJSONString(b, s.ID)
		b = append(b, `,"name":`...)
		b = appendJSONString(b, s.Name)
		b = append(b, `,"district":`...)
		b = appendJSONString(b, s.District)
		b = append(b, `,"town":`...)
		b = appendJSONString(b, s.Town)
		b = append(b, `,"stage":`...)
		b = appendJSONString(b, string(s.Stage))
		b = append(b, `,"level":`...)
		b = appendJSONString(b, string(v.Level))
		b = append(b, `,"level_zh":`...)
		b = appendJSONString(b, words.Level(v.Level, words.Chinese))
		b = append(b, `,"active_risks":`...)
		b = strconv.AppendInt(b, int64(v.ActiveRisks), 10)
		b = append(b, `,"since":`...)
		if v.Since.IsZero() {
			b = append(b, "null"...)
		} else {
			b = appendJSONTime(b, local(v.Since))
		}
		b = append(b, `,"sources":[`...)
		for j, src := range sources {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, string(src))
		}
		b = append(b, `],"pending_risks":`...)
		b = strconv.AppendInt(b, int64(pending), 10)
		b = append(b, "}}"...)
	}
	b = append(b, `],"summary":`...)
	b = sum.appendJSON(b)
	if req.At != nil {
		b = append(b, `,"at":`...)
		b = appendJSONTime(b, local(*req.At))
	}
	b = append(b, '}')
	return finishJSON(b, req.Pretty)
}

// finishJSON ends a JSON body as echo's Context.JSON does: indented by two
// spaces when pretty, and a newline.
func finishJSON(b []byte, pretty bool) ([]byte, error) {
	if pretty {
		var buf bytes.Buffer
		buf.Grow(len(b) * 2)
		if err := json.Indent(&buf, b, "", "  "); err != nil {
			return nil, err
		}
		b = buf.Bytes()
	}
	return append(b, '\n'), nil
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
