package main

import (
	"context"
	"time"

	"github.com/sanse-campus/sanse/api"
	"github.com/sanse-campus/sanse/engine/store"
)

// colourCounts serves the dashboard's colours per day from the history. The
// conversion api.ColourCount(c) compiles only while the two types have the
// same fields, so they cannot drift apart.
func colourCounts(s *store.Store) api.ColourCountsFunc {
	return func(ctx context.Context, schoolIDs []string, at []time.Time) ([]api.ColourCount, error) {
		list, err := s.ColourCountsAt(ctx, schoolIDs, at)
		if err != nil {
			return nil, err
		}
		out := make([]api.ColourCount, len(list))
		for i, c := range list {
			out[i] = api.ColourCount(c)
		}
		return out, nil
	}
}
