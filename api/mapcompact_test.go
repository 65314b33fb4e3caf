package api

import (
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

// compactMapJSON is the compact map as a client decodes it.
type compactMapJSON struct {
	Columns []string       `json:"columns"`
	Schools [][]any        `json:"schools"`
	Summary map[string]int `json:"summary"`
	At      *string        `json:"at"`
}

// mapTargets are requests of the map in every shape the handler builds.
var mapTargets = []string{
	"",
	"district=" + url.QueryEscape("南湖区"),
	"district=" + url.QueryEscape("南湖区,嘉善县") + "&level=green",
	"level=red,yellow",
	"level=yellow",
	"district=" + url.QueryEscape("西湖区"),
	"pretty",
	"at=" + url.QueryEscape("2025-06-08T12:00:00+08:00"),
	"at=" + url.QueryEscape("2025-06-08T12:00:00+08:00") + "&level=red",
}

// TestMapCompactMatchesGeoJSON holds the compact map to the GeoJSON one:
// for every request, its rows under its columns are the features'
// properties (without level_zh) and coordinates, in the same order, with
// the same summary and moment.
func TestMapCompactMatchesGeoJSON(t *testing.T) {
	for _, schools := range []func() *fakeSchools{testSchools, pendingSchools} {
		s := newTestServer(t, Options{Schools: schools(), LevelsAt: (&fakeLevelsAt{changes: pastChanges()}).levelsAt})
		for _, q := range mapTargets {
			t.Run(q, func(t *testing.T) {
				geo := serve(t, s.Handler(), http.MethodGet, "/api/v1/map?"+q)
				require.Equal(t, http.StatusOK, geo.Code, geo.Body.String())
				rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/map?format=compact&"+q)
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				require.Equal(t, "application/json", rec.Header().Get("Content-Type"))

				var full struct {
					Features []struct {
						Geometry struct {
							Coordinates []float64 `json:"coordinates"`
						} `json:"geometry"`
						Properties map[string]any `json:"properties"`
					} `json:"features"`
					Summary map[string]int `json:"summary"`
					At      *string        `json:"at"`
				}
				require.NoError(t, json.Unmarshal(geo.Body.Bytes(), &full))
				c := decodeJSON[compactMapJSON](t, rec)
				require.Equal(t, compactColumns, c.Columns)
				require.Equal(t, full.Summary, c.Summary)
				require.Equal(t, full.At, c.At)
				require.Len(t, c.Schools, len(full.Features))
				for i, f := range full.Features {
					want := map[string]any{}
					for k, v := range f.Properties {
						if k != "level_zh" {
							want[k] = v
						}
					}
					want["longitude"], want["latitude"] = f.Geometry.Coordinates[0], f.Geometry.Coordinates[1]
					got := map[string]any{}
					require.Len(t, c.Schools[i], len(c.Columns))
					for j, col := range c.Columns {
						got[col] = c.Schools[i][j]
					}
					require.Equal(t, want, got)
				}
				var members map[string]json.RawMessage
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &members))
				if full.At == nil {
					require.NotContains(t, members, "at", "the live map has no at")
				}
				require.Contains(t, string(members["schools"]), "[", "schools is an array, never null")
			})
		}
	}
}

// TestMapCachedAnswersAsBuilt holds the cached live map to the answer the
// handler builds for each request without a cache, byte for byte.
func TestMapCachedAnswersAsBuilt(t *testing.T) {
	plain := newTestServer(t, Options{})
	cached := newCachedMapServer(t, Options{})
	for _, q := range mapTargets {
		for _, format := range []string{"", "&format=compact", "&format=geojson"} {
			target := "/api/v1/map?" + q + format
			want := serve(t, plain.Handler(), http.MethodGet, target)
			got := serve(t, cached.Handler(), http.MethodGet, target)
			require.Equal(t, want.Code, got.Code, target)
			require.Equal(t, want.Header().Get("Content-Type"), got.Header().Get("Content-Type"), target)
			require.Equal(t, want.Body.String(), got.Body.String(), target)
		}
	}
}

func TestMapBadFormat(t *testing.T) {
	s := newTestServer(t, Options{})
	rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/map?format=csv")
	requireJSONError(t, rec, http.StatusBadRequest, "format", "geojson", "compact")
}

// jsonStrings are strings whose JSON form is easy to get wrong.
var jsonStrings = []string{
	"", "JX-NH-0001", "南湖区实验小学", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnew\nline\rcr",
	"\x00\x01\x1f\x7f", "\b\f", "\u2028\u2029", "bad \xff utf-8 \xc3", "emoji 🏫", "\u00e9\u0301",
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range jsonStrings {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendJSONString(nil, s)), "%q", s)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range jsonStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendJSONString(nil, s)))
	})
}

func TestAppendJSONFloat(t *testing.T) {
	for _, f := range []float64{0, 120.7612, 30.7471, -0.5, 1e-7, 1.5e-9, 1e21, 123456789012345678, 1e20, math.SmallestNonzeroFloat64, -2e-300} {
		want, err := json.Marshal(f)
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendJSONFloat(nil, f)), "%v", f)
	}
	require.Equal(t, "null", string(appendJSONFloat(nil, math.NaN())))
}

func TestAppendJSONTime(t *testing.T) {
	for _, at := range []time.Time{testNow, local(testNow.Add(123456789 * time.Nanosecond)), time.Date(2025, 6, 9, 7, 42, 0, 0, engine.Shanghai)} {
		want, err := json.Marshal(at)
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendJSONTime(nil, at)), "%v", at)
	}
}
