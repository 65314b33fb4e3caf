package store

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestInsertsSurviveTheirContextsEnding is a regression test: the driver
// closed a connection already back in the pool when the context of the
// insert that had used it ended afterwards (Write's own parallel inserts,
// or a caller's context ended right after Write returned), failing the next
// insert that took it. Busy goroutines beside make the driver's watching
// goroutine run late, as on a loaded machine.
func TestInsertsSurviveTheirContextsEnding(t *testing.T) {
	s := openTest(t, nil)
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
			}
		})
	}
	defer wg.Wait()
	defer stop()
	b := benchBatch(10)
	for i := range 100 {
		ctx, cancel := context.WithCancel(t.Context())
		err := s.Write(ctx, b)
		cancel()
		require.NoError(t, err, "write %d", i)
	}
}
