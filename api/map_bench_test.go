package api

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/sim"
)

// provinceSchools returns n generated schools of 嘉兴市 with the colours of a
// busy day: about 2 % red and 8 % yellow, each with one to three active
// risks of assorted sources, some pending a check.
func provinceSchools(n int) *versionedSchools {
	r := rand.New(rand.NewPCG(20251125, 1))
	sources := []engine.Source{engine.SourceVisitor, engine.SourceCanteen, engine.SourceDrowning, engine.SourceBullying}
	f := &fakeSchools{views: make(map[string]engine.SchoolView, n)}
	for _, s := range sim.GenerateRegistry(20251125, n) {
		v := engine.SchoolView{School: &s, Level: engine.LevelGreen}
		switch x := r.Float64(); {
		case x < 0.02:
			v.Level = engine.LevelRed
		case x < 0.10:
			v.Level = engine.LevelYellow
		}
		if v.Level != engine.LevelGreen {
			v.Since = testNow.Add(-time.Duration(r.IntN(86400)) * time.Second)
			for i := range 1 + r.IntN(3) {
				v.Risks = append(v.Risks, engine.Risk{Rule: fmt.Sprintf("rule.%d", i), Source: sources[r.IntN(len(sources))],
					Severity: engine.SeverityMedium, Pending: r.IntN(5) == 0})
			}
		}
		f.views[s.ID] = v
	}
	return &versionedSchools{fakeSchools: f}
}

// BenchmarkMapBuild builds the answer for 20,000 schools, in each format,
// and compresses it in each coding: what one rebuild of the cache costs.
func BenchmarkMapBuild(b *testing.B) {
	schools := provinceSchools(20000)
	s, err := New(Options{Schools: schools, Timeline: (&fakeTimeline{}).timeline, Limits: Limits{RateLimit: -1}})
	if err != nil {
		b.Fatal(err)
	}
	for _, format := range []mapFormat{mapGeoJSON, mapCompact} {
		req := mapRequest{Scope: ScopeAll, Format: format}
		a, err := s.buildMap(b.Context(), req)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("format=%s/encode", format), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.buildMap(b.Context(), req); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(a.body)), "bytes")
		})
		for enc := encZstd; enc < numEncodings; enc++ {
			b.Run(fmt.Sprintf("format=%s/%s", format, encodingNames[enc]), func(b *testing.B) {
				var n int
				for b.Loop() {
					n = len(compress(enc, a.body))
				}
				b.ReportMetric(float64(n), "bytes")
				b.SetBytes(int64(len(a.body)))
			})
		}
	}
}

// BenchmarkMapCached serves the cached map of 20,000 schools, gzip
// accepted, through the whole handler chain: what one request costs the
// server once the answer is built.
func BenchmarkMapCached(b *testing.B) {
	s, err := New(Options{Schools: provinceSchools(20000), Timeline: (&fakeTimeline{}).timeline, Limits: Limits{RateLimit: -1}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/map", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
