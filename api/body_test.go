package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

// bodyEndpoints are every route that reads a request body, with the media
// type it takes, its cap, and the start of a well-formed body that a long
// string completes.
var bodyEndpoints = []struct {
	name, path, contentType string
	max                     int
	prefix, suffix          string
}{
	{name: "resolve a risk", path: "/api/v1/schools/JX-NH-0001/risks/resolve", contentType: "application/json", max: maxBody,
		prefix: `{"rule":"visitor.blacklist","by":"王老师","comment":"`, suffix: `"}`},
	{name: "acknowledge an alert", path: "/api/v1/alerts/alert:1/ack", contentType: "application/json", max: maxBody,
		prefix: `{"by":"王老师","comment":"`, suffix: `"}`},
	{name: "resolve an alert", path: "/api/v1/alerts/alert:1/resolve", contentType: "application/json", max: maxBody,
		prefix: `{"by":"王老师","comment":"`, suffix: `"}`},
	{name: "create a hazard", path: "/api/v1/hazards", contentType: "application/json", max: maxBody,
		prefix: `{"school_id":"JX-NH-0001","title":"护栏破损","category":"防溺水","responsible":"王副校长","deadline":"72h","by":"李督学","comment":"`, suffix: `"}`},
	{name: "hazard transition", path: "/api/v1/hazards/HZ-01/transition", contentType: "application/json", max: maxBody,
		prefix: `{"action":"start","by":"王副校长","comment":"`, suffix: `"}`},
	{name: "validate rules", path: "/api/v1/rules/validate", contentType: "application/yaml", max: maxRuleFile,
		prefix: "# ", suffix: "\n"},
}

// TestOversizedBodies sends every endpoint that reads a body one a byte over
// its cap, with a Content-Length and without one (chunked): each answers 413
// with a JSON error, and nothing behind it is called.
func TestOversizedBodies(t *testing.T) {
	for _, ep := range bodyEndpoints {
		for _, chunked := range []bool{false, true} {
			t.Run(ep.name+"/chunked="+strconv.FormatBool(chunked), func(t *testing.T) {
				var calls atomic.Int32
				fa, fh := testAlerts(), testHazards()
				s := newTestServer(t, Options{
					Alerts: fa, Hazards: fh,
					Resolve: func(context.Context, string, string, string, string, string) (engine.SchoolView, error) {
						calls.Add(1)
						return engine.SchoolView{}, nil
					},
					ValidateRules: func(string, []byte) []error { calls.Add(1); return nil },
				})
				fill := ep.max + 1 - len(ep.prefix) - len(ep.suffix)
				body := ep.prefix + strings.Repeat("x", fill) + ep.suffix
				require.Len(t, body, ep.max+1)

				var r io.Reader = strings.NewReader(body)
				if chunked {
					r = io.MultiReader(r) // no length known
				}
				req := httptest.NewRequest(http.MethodPost, ep.path, r)
				req.Header.Set("Content-Type", ep.contentType)
				if chunked {
					req.ContentLength = -1
				}
				rec := httptest.NewRecorder()
				s.Handler().ServeHTTP(rec, req)
				requireJSONError(t, rec, http.StatusRequestEntityTooLarge, "larger than "+strconv.Itoa(ep.max)+" bytes")
				require.Zero(t, calls.Load())
				require.Empty(t, fh.creates)
				require.Empty(t, fh.changes)
				require.Len(t, fa.alerts[0].History, 2, "the alert is unchanged")

				// The same body at the cap is read (and then judged on its
				// content, which is not a 413).
				atCap := ep.prefix + strings.Repeat("x", fill-1) + ep.suffix
				req = httptest.NewRequest(http.MethodPost, ep.path, bytes.NewBufferString(atCap))
				req.Header.Set("Content-Type", ep.contentType)
				rec = httptest.NewRecorder()
				s.Handler().ServeHTTP(rec, req)
				require.NotEqual(t, http.StatusRequestEntityTooLarge, rec.Code, rec.Body.String())
			})
		}
	}
}
