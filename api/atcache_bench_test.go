package api

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// BenchmarkMapAtRepeated serves the map of one past moment again and
// again, as every page showing that moment asks for it: the store is asked
// once.
func BenchmarkMapAtRepeated(b *testing.B) {
	f := &fakeLevelsAt{changes: pastChanges()}
	s, err := New(Options{Schools: testSchools(), Timeline: (&fakeTimeline{}).timeline, LevelsAt: f.levelsAt,
		Limits: Limits{RateLimit: -1}})
	if err != nil {
		b.Fatal(err)
	}
	target := "/api/v1/map?at=" + url.QueryEscape("2025-06-08T12:00:00+08:00")
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code, rec.Body.String())
		}
	}
	b.ReportMetric(float64(len(f.asked)), "store-queries")
}
