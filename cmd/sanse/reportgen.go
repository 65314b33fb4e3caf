package main

import (
	"errors"
	"log/slog"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/report"
	"github.com/sanse-campus/sanse/engine/store"
	"github.com/sanse-campus/sanse/rules"
)

// newReportGenerator returns the generator of the inspection reports, for
// `sanse serve` (scheduled and on-demand reports) and `sanse report`: it
// reads the history in st, names the schools of the registry in force
// (registry), judges school days and absence checks by the rules in force
// (rules: the calendar), cuts the periods in loc, links to externalURL (""
// for relative links) and prints PDF with pdf (nil: no PDF).
func newReportGenerator(st *store.Store, registry func() *engine.Registry, rules func() *rules.Set,
	loc *time.Location, externalURL string, pdf report.PDFRenderer, logger *slog.Logger) (*report.Builder, error) {
	if st == nil {
		return nil, errors.New("report generator: no history to read")
	}
	return report.New(report.Options{
		History: st, Registry: registry, Rules: rules, Location: loc, BaseURL: externalURL, PDF: pdf, Logger: logger,
	}), nil
}
