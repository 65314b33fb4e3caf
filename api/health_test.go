package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHealthz(t *testing.T) {
	failing := ReadyCheck{Name: "kafka", Check: func(context.Context) error { return errors.New("down") }}
	s := newTestServer(t, Options{Ready: []ReadyCheck{failing}})
	rec := serve(t, s.Handler(), http.MethodGet, "/healthz")
	require.Equal(t, http.StatusOK, rec.Code)
	require.JSONEq(t, `{"status":"ok"}`, rec.Body.String(), "health does not depend on readiness")
}

func TestReadyz(t *testing.T) {
	ok := func(context.Context) error { return nil }
	// block never returns before the test ends, whatever its context says.
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })

	tests := []struct {
		name       string
		checks     []ReadyCheck
		wantCode   int
		wantStatus string
		wantChecks map[string]string
	}{
		{
			name:       "no checks",
			wantCode:   http.StatusOK,
			wantStatus: "ok",
		},
		{
			name:       "all ready",
			checks:     []ReadyCheck{{"kafka", ok}, {"clickhouse", ok}, {"migrations", ok}},
			wantCode:   http.StatusOK,
			wantStatus: "ok",
			wantChecks: map[string]string{"kafka": "ok", "clickhouse": "ok", "migrations": "ok"},
		},
		{
			name: "one failing check is named",
			checks: []ReadyCheck{
				{"kafka", ok},
				{"clickhouse", func(context.Context) error { return errors.New("dial tcp 127.0.0.1:9000: connection refused") }},
				{"migrations", ok},
			},
			wantCode:   http.StatusServiceUnavailable,
			wantStatus: "not ready",
			wantChecks: map[string]string{
				"kafka": "ok", "clickhouse": "dial tcp 127.0.0.1:9000: connection refused", "migrations": "ok",
			},
		},
		{
			name: "a check that honours the deadline",
			checks: []ReadyCheck{{"clickhouse", func(ctx context.Context) error {
				<-ctx.Done()
				return fmt.Errorf("ping: %w", ctx.Err())
			}}},
			wantCode:   http.StatusServiceUnavailable,
			wantStatus: "not ready",
			wantChecks: map[string]string{"clickhouse": "ping: context deadline exceeded"},
		},
		{
			name: "a check that ignores the deadline",
			checks: []ReadyCheck{{"kafka", ok}, {"migrations", func(context.Context) error {
				<-block
				return nil
			}}},
			wantCode:   http.StatusServiceUnavailable,
			wantStatus: "not ready",
			wantChecks: map[string]string{"kafka": "ok", "migrations": "no answer within 20ms"},
		},
		{
			name:       "a check that panics",
			checks:     []ReadyCheck{{"kafka", func(context.Context) error { panic("broker list is nil") }}},
			wantCode:   http.StatusServiceUnavailable,
			wantStatus: "not ready",
			wantChecks: map[string]string{"kafka": "check panicked: broker list is nil"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, Options{Ready: tt.checks, ReadyTimeout: 20 * time.Millisecond})
			rec := serve(t, s.Handler(), http.MethodGet, "/readyz")
			require.Equal(t, tt.wantCode, rec.Code, rec.Body.String())
			require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			body := decodeJSON[struct {
				Status string            `json:"status"`
				Checks map[string]string `json:"checks"`
			}](t, rec)
			require.Equal(t, tt.wantStatus, body.Status)
			require.Equal(t, tt.wantChecks, body.Checks)
		})
	}
}
