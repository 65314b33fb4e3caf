package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

func TestNewRejectsIncompleteOptions(t *testing.T) {
	schools := testSchools()
	timeline := (&fakeTimeline{}).timeline
	ok := func(context.Context) error { return nil }
	tests := []struct {
		name    string
		opts    Options
		wantErr []string
	}{
		{name: "no schools", opts: Options{Timeline: timeline}, wantErr: []string{"Schools"}},
		{name: "no timeline", opts: Options{Schools: schools}, wantErr: []string{"Timeline"}},
		{
			name: "bad ready checks are all reported",
			opts: Options{Schools: schools, Timeline: timeline, Ready: []ReadyCheck{
				{"kafka", ok}, {"", ok}, {"kafka", ok}, {"clickhouse", nil},
			}},
			wantErr: []string{"check 1 has no name", `"kafka" is listed twice`, `"clickhouse" has no function`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.opts)
			require.Error(t, err)
			require.Nil(t, s)
			for _, w := range tt.wantErr {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

func TestPanicIsJSON(t *testing.T) {
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	s := newTestServer(t, Options{
		Schools:    &fakeSchools{panics: true},
		Registerer: reg,
		Gatherer:   reg,
		Logger:     slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/map")
	requireJSONError(t, rec, http.StatusInternalServerError, "internal server error")
	require.NotContains(t, rec.Body.String(), "exploded", "the panic stays in the log")
	require.Contains(t, logs.String(), "views exploded")

	rec = serve(t, s.Handler(), http.MethodGet, "/metrics")
	require.Contains(t, rec.Body.String(), `sanse_api_requests_total{code="500",handler="/api/v1/map"} 1`)
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := newTestServer(t, Options{Registerer: reg, Gatherer: reg})
	h := s.Handler()
	for _, r := range []struct{ method, target string }{
		{http.MethodGet, "/api/v1/schools/JX-NH-0001"},
		{http.MethodGet, "/api/v1/schools/JX-NONE"},
		{http.MethodGet, "/nope"},
		{http.MethodGet, "/api/v1/nope"},
		{http.MethodPost, "/api/v1/map"},
		{http.MethodGet, "/api/v1/map?level=blue"},
	} {
		serve(t, h, r.method, r.target)
	}

	rec := serve(t, h, http.MethodGet, "/metrics")
	require.Equal(t, http.StatusOK, rec.Code)
	body := rec.Body.String()
	for _, line := range []string{
		`sanse_api_requests_total{code="200",handler="/api/v1/schools/:id"} 1`,
		`sanse_api_requests_total{code="404",handler="/api/v1/schools/:id"} 1`,
		`sanse_api_requests_total{code="404",handler="not_found"} 2`,
		`sanse_api_requests_total{code="405",handler="/api/v1/map"} 1`,
		`sanse_api_requests_total{code="400",handler="/api/v1/map"} 1`,
		`sanse_api_request_duration_seconds_count{handler="/api/v1/schools/:id"} 2`,
	} {
		require.Contains(t, body, line+"\n")
	}
	require.NotContains(t, body, "JX-NONE", "labels never hold the URL")
	require.NotContains(t, body, `handler="/nope"`)
}

func TestMetricsNotServedWithoutGatherer(t *testing.T) {
	s := newTestServer(t, Options{Registerer: prometheus.NewRegistry()})
	requireJSONError(t, serve(t, s.Handler(), http.MethodGet, "/metrics"), http.StatusNotFound, "/metrics")
}

func TestRequestLog(t *testing.T) {
	tests := []struct {
		name    string
		level   slog.Level
		wantLog bool
	}{
		{name: "debug logs requests", level: slog.LevelDebug, wantLog: true},
		{name: "info does not", level: slog.LevelInfo, wantLog: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: tt.level}))
			s := newTestServer(t, Options{Logger: logger})
			serve(t, s.Handler(), http.MethodGet, "/api/v1/schools/JX-NH-0002?pretty")

			var found []map[string]any
			dec := json.NewDecoder(&logs)
			for {
				var rec map[string]any
				if err := dec.Decode(&rec); errors.Is(err, io.EOF) {
					break
				} else {
					require.NoError(t, err)
				}
				if rec["msg"] == "request" {
					found = append(found, rec)
				}
			}
			if !tt.wantLog {
				require.Empty(t, found)
				return
			}
			require.Len(t, found, 1)
			require.Equal(t, "DEBUG", found[0]["level"])
			require.Equal(t, "api", found[0]["component"])
			require.Equal(t, "GET", found[0]["method"])
			require.Equal(t, "/api/v1/schools/:id", found[0]["route"])
			require.Equal(t, "/api/v1/schools/JX-NH-0002?pretty", found[0]["uri"])
			require.Equal(t, float64(http.StatusOK), found[0]["code"])
		})
	}
}

func TestIndexPage(t *testing.T) {
	s := newTestServer(t, Options{})
	rec := serve(t, s.Handler(), http.MethodGet, "/")
	require.Equal(t, http.StatusOK, rec.Code)
	require.True(t, strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html"))
	require.Contains(t, rec.Body.String(), `<a href="/api/v1/map">`)
	require.Contains(t, rec.Body.String(), `lang="zh-CN"`)
}

// blockingSchools holds every Views call until release is closed, after
// telling entered.
type blockingSchools struct {
	fakeSchools
	entered chan struct{}
	release chan struct{}
}

func (b *blockingSchools) Views(keep func(*engine.School) bool) []engine.SchoolSummary {
	b.entered <- struct{}{}
	<-b.release
	return b.fakeSchools.Views(keep)
}

// startRun runs s.Run(ctx) on a free port of the loopback interface and
// returns the base URL and the channel that receives Run's result.
func startRun(t *testing.T, ctx context.Context, s *Server) (string, <-chan error) {
	t.Helper()
	s.addr = "127.0.0.1:0"
	addrs := make(chan string, 1)
	s.listen = func(network, address string) (net.Listener, error) {
		ln, err := net.Listen(network, address)
		if err == nil {
			addrs <- ln.Addr().String()
		}
		return ln, err
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case addr := <-addrs:
		return "http://" + addr, done
	case err := <-done:
		t.Fatalf("Run returned before listening: %v", err)
		return "", nil
	}
}

func TestRunServesUntilCancelled(t *testing.T) {
	schools := &blockingSchools{fakeSchools: *testSchools(), entered: make(chan struct{}), release: make(chan struct{})}
	s := newTestServer(t, Options{Schools: schools})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done := startRun(t, ctx, s)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

	resp, err := client.Get(base + "/healthz")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// A request in flight when ctx is cancelled is still answered.
	inFlight := make(chan *http.Response, 1)
	go func() {
		resp, err := client.Get(base + "/api/v1/map")
		if err != nil {
			inFlight <- nil
			return
		}
		inFlight <- resp
	}()
	<-schools.entered
	cancel()
	close(schools.release)
	resp = <-inFlight
	require.NotNil(t, resp, "the request in flight failed")
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, <-done)

	_, err = client.Get(base + "/healthz")
	require.Error(t, err, "nothing listens after Run returned")
}

func TestRunShutdownIsBounded(t *testing.T) {
	schools := &blockingSchools{fakeSchools: *testSchools(), entered: make(chan struct{}), release: make(chan struct{})}
	defer close(schools.release)
	s := newTestServer(t, Options{Schools: schools, ShutdownTimeout: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	base, done := startRun(t, ctx, s)

	go func() {
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		if resp, err := client.Get(base + "/api/v1/map"); err == nil {
			resp.Body.Close()
		}
	}()
	<-schools.entered
	cancel()
	err := <-done
	require.ErrorContains(t, err, "graceful shutdown")
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestRunCannotListen(t *testing.T) {
	s := newTestServer(t, Options{ListenAddress: "127.0.0.1:notaport"})
	err := s.Run(context.Background())
	require.ErrorContains(t, err, "listen on 127.0.0.1:notaport")
}
