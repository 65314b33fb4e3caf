package main

import (
	"bytes"
	"context"
	"testing"
)

// serveInProcess runs `sanse serve` with args in the test's own process —
// the same flags, configuration and wiring as the binary, without building
// it — and returns once it answers /readyz. It stops when the test ends.
func serveInProcess(t *testing.T, args ...string) *instance {
	t.Helper()
	web := freeAddr(t)
	lw := &lockedWriter{w: &bytes.Buffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{t: t, quit: cancel, web: web, log: lw, done: make(chan struct{}), token: testToken(t, args)}
	go func() {
		defer close(in.done)
		if err := cmdServe(ctx, append([]string{"--web.listen-address", web}, args...), lw, lw, false); err != nil {
			t.Errorf("sanse serve: %v\n%s", err, lw.String())
		}
	}()
	t.Cleanup(in.stop)
	in.waitReady()
	return in
}
