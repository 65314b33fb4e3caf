package api

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHTTPServerTimeouts(t *testing.T) {
	tests := []struct {
		name   string
		limits Limits
		want   Limits
	}{
		{name: "defaults", want: DefaultLimits()},
		{
			name: "configured",
			limits: Limits{ReadHeaderTimeout: time.Second, ReadTimeout: 2 * time.Second,
				WriteTimeout: 3 * time.Second, IdleTimeout: 4 * time.Second},
			want: Limits{ReadHeaderTimeout: time.Second, ReadTimeout: 2 * time.Second,
				WriteTimeout: 3 * time.Second, IdleTimeout: 4 * time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(t, Options{Limits: tt.limits}).httpServer()
			require.Equal(t, tt.want.ReadHeaderTimeout, srv.ReadHeaderTimeout)
			require.Equal(t, tt.want.ReadTimeout, srv.ReadTimeout)
			require.Equal(t, tt.want.WriteTimeout, srv.WriteTimeout)
			require.Equal(t, tt.want.IdleTimeout, srv.IdleTimeout)
			require.NotNil(t, srv.Handler)
		})
	}
}

// TestWriteTimeoutSparesTheStream serves a live stream through Run with a
// write timeout far shorter than the stream's life: the stream keeps
// sending its heartbeats past it.
func TestWriteTimeoutSparesTheStream(t *testing.T) {
	const writeTimeout = 150 * time.Millisecond
	s := newTestServer(t, Options{
		Stream: NewHub(0, nil), StreamHeartbeat: 10 * time.Millisecond,
		Limits: Limits{WriteTimeout: writeTimeout},
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done := startRun(t, ctx, s)

	resp, err := http.Get(base + "/api/v1/stream")
	require.NoError(t, err)
	defer resp.Body.Close()
	c := newSSEClient(resp)
	c.block(t)
	start := time.Now()
	for time.Since(start) < 4*writeTimeout {
		b := c.block(t)
		require.Equal(t, []string{"ping"}, b.comments)
	}

	// An ordinary response is still bounded: the map answers in time.
	rec, err := http.Get(base + "/api/v1/map")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, rec.StatusCode)
	require.NoError(t, rec.Body.Close())

	cancel()
	require.NoError(t, <-done)
}
