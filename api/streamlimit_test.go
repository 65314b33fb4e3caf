package api

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

func TestStreamLimiter(t *testing.T) {
	tests := []struct {
		name       string
		max, per   int
		acquire    []string
		wantRefuse []string // per acquire, "" for accepted
	}{
		{name: "per caller", max: 10, per: 2, acquire: []string{"a", "a", "a", "b"}, wantRefuse: []string{"", "", streamsCaller, ""}},
		{name: "in total", max: 2, per: 2, acquire: []string{"a", "b", "c"}, wantRefuse: []string{"", "", streamsTotal}},
		{name: "no caps", max: -1, per: -1, acquire: []string{"a", "a", "a"}, wantRefuse: []string{"", "", ""}},
		{name: "zero per caller refuses all", max: 5, per: 0, acquire: []string{"a"}, wantRefuse: []string{streamsCaller}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newStreamLimiter(tt.max, tt.per)
			for i, k := range tt.acquire {
				require.Equal(t, tt.wantRefuse[i], l.acquire(k), "acquire %d", i)
			}
		})
	}

	l := newStreamLimiter(1, 1)
	require.Empty(t, l.acquire("a"))
	l.release("a")
	require.Empty(t, l.byCaller, "a caller with no stream is forgotten")
	require.Empty(t, l.acquire("b"), "a released stream frees its place")
}

func TestStreamCaps(t *testing.T) {
	reg := prometheus.NewRegistry()
	hub := NewHub(0, reg)
	ts := newStreamServer(t, hub, Options{
		Registerer: reg,
		Limits:     Limits{MaxStreams: 3, MaxStreamsPerCaller: 2},
		CallerKey:  func(c echo.Context) string { return c.Request().Header.Get(testDistrictHeader) },
	})
	refused := func(district, wantMsg string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, ts.URL+"/api/v1/stream", nil)
		require.NoError(t, err)
		req.Header.Set(testDistrictHeader, district)
		resp, err := ts.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		require.Equal(t, "30", resp.Header.Get("Retry-After"))
		require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		var body errorBody
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		require.Contains(t, body.Error, wantMsg)
	}

	first := openStream(t, ts, "/api/v1/stream", "", "南湖区")
	first.block(t)
	openStream(t, ts, "/api/v1/stream", "", "南湖区").block(t)
	refused("南湖区", "too many live streams of yours")
	openStream(t, ts, "/api/v1/stream", "", "秀洲区").block(t)
	refused("嘉善县", "too many live streams are open (3)")

	m := streamRefused(t, reg)
	require.Equal(t, 1.0, m[streamsCaller])
	require.Equal(t, 1.0, m[streamsTotal])
	require.Equal(t, 3.0, testutil.ToFloat64(hub.metrics.clients))

	// A stream that ends frees its place.
	require.NoError(t, first.resp.Body.Close())
	require.Eventually(t, func() bool { return testutil.ToFloat64(hub.metrics.clients) == 2 }, streamWait, 5*time.Millisecond)
	require.Eventually(t, func() bool {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/v1/stream", nil)
		req.Header.Set(testDistrictHeader, "嘉善县")
		resp, err := ts.Client().Do(req)
		if err != nil {
			return false
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp.StatusCode == http.StatusOK
	}, streamWait, 5*time.Millisecond)
}

// streamRefused returns sanse_api_stream_refused_total by reason from reg.
func streamRefused(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "sanse_api_stream_refused_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			out[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	return out
}
