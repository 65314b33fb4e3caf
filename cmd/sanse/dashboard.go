package main

import (
	"context"
	"time"

	"github.com/sanse-campus/sanse/api"
	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/app"
	"github.com/sanse-campus/sanse/engine/report"
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

// compliance serves the dashboard's inspection-routine compliance of today
// from the history, computed as the reports compute it (engine/report):
// the absence checks of the rules in force, at the schools asked for. The
// day is the dashboard's, in Asia/Shanghai.
func compliance(a *app.App) api.ComplianceFunc {
	b := report.New(report.Options{History: a.Store(), Registry: a.Registry, Rules: a.Rules().Current, Location: engine.Shanghai})
	return func(ctx context.Context, schools []*engine.School, now time.Time) ([]api.RoutineCompliance, error) {
		rows, err := b.Compliance(ctx, schools, now)
		if err != nil {
			return nil, err
		}
		out := make([]api.RoutineCompliance, len(rows))
		for i, r := range rows {
			out[i] = api.RoutineCompliance{Rule: r.Rule, Title: r.Title, Due: r.Due, Done: r.Done, Percent: r.Percent()}
		}
		return out, nil
	}
}
