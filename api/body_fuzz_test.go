package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/rules"
)

// fuzzBodySeeds are bodies every body target starts from, besides the
// endpoint's own well-formed one.
var fuzzBodySeeds = []string{
	``, `null`, `[]`, `{}`, `{"by": 1}`, `{"by": "a"} {"by": "b"}`, `{"evidence": [{"kind": "photo", "value": "x"}, 3]}`,
	`{"by": "\ud800", "comment": "\u0000"}`, "{\"by\": \"\xff\"}", `{"deadline": "-3d"}`, `{"deadline": "99999999h"}`,
	`{"action": "verify", "by": "` + string(make([]byte, 10)) + `"}`, `{"a":{"a":{"a":{"a":[[[[[[[[[[]]]]]]]]]]}}}}`,
}

// fuzzBody runs arbitrary bodies against the endpoint of bodyEndpoints with
// the given name. The oracle: never a 5xx; the answer is JSON, valid UTF-8, and an
// error answer is {"error": "..."} with a message.
func fuzzBody(f *testing.F, name string) {
	var path, contentType string
	for _, ep := range bodyEndpoints {
		if ep.name == name {
			path, contentType = ep.path, ep.contentType
			f.Add([]byte(ep.prefix + "换行\n与\"引号\"" + ep.suffix))
		}
	}
	if path == "" {
		f.Fatalf("no endpoint %q", name)
	}
	for _, s := range fuzzBodySeeds {
		f.Add([]byte(s))
	}
	// One server for every input, as in production; the fakes keep what
	// they are given, which is harmless for the length of a fuzzing run.
	schools := testSchools()
	s, err := New(Options{
		Schools: schools, Timeline: (&fakeTimeline{}).timeline, Alerts: testAlerts(), Hazards: testHazards(),
		Resolve: func(_ context.Context, schoolID, _, _, _, _ string) (engine.SchoolView, error) {
			v, _ := schools.View(schoolID)
			return v, nil
		},
		ValidateRules: func(name string, data []byte) []error {
			file, errs := rules.ParseFile(name, data)
			if len(errs) > 0 {
				return errs
			}
			_, errs = rules.Compile(file)
			return errs
		},
		Limits: Limits{RateLimit: -1},
	})
	if err != nil {
		f.Fatal(err)
	}
	s.now = func() time.Time { return testNow }
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)

		if rec.Code >= http.StatusInternalServerError {
			t.Fatalf("%d for %q: %s", rec.Code, body, rec.Body.String())
		}
		out := rec.Body.Bytes()
		if !json.Valid(out) || !utf8.Valid(out) {
			t.Fatalf("the answer is not JSON: %q", out)
		}
		if rec.Code >= http.StatusBadRequest && rec.Code != http.StatusUnprocessableEntity {
			var e map[string]any
			if err := json.Unmarshal(out, &e); err != nil || len(e) != 1 {
				t.Fatalf("an error answer that is not {\"error\": ...}: %s", out)
			}
			if msg, ok := e["error"].(string); !ok || msg == "" {
				t.Fatalf("an error answer without a message: %s", out)
			}
		}
	})
}

func FuzzResolveBody(f *testing.F)          { fuzzBody(f, "resolve a risk") }
func FuzzAlertActionBody(f *testing.F)      { fuzzBody(f, "acknowledge an alert") }
func FuzzHazardCreateBody(f *testing.F)     { fuzzBody(f, "create a hazard") }
func FuzzHazardTransitionBody(f *testing.F) { fuzzBody(f, "hazard transition") }
func FuzzValidateRulesBody(f *testing.F)    { fuzzBody(f, "validate rules") }
