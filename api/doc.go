// Package api serves Sanse over HTTP with echo: the warning map as GeoJSON,
// each school's detail with its active risks and evidence, the colour
// timeline from the history store, a person resolving a risk, live colour
// changes over Server-Sent Events (Hub), the rules and their reload, and the
// operational endpoints /healthz, /readyz and /metrics.
//
// It reads the live state through the small Schools interface and the
// history through TimelineFunc, both declared here, so it depends on the
// engine's domain types only and never on the engine's state machine, Kafka
// or ClickHouse. Every /api/v1 handler sees only the schools of the caller's
// Scope, which one middleware puts in the request context; deciding a
// caller's scope (tokens) is left to the ScopeFunc the server is given.
// Errors are always JSON objects {"error": "..."}, never HTML.
//
// It also serves the map page at "/" with its assets (embedded by package
// api/web), the outlines the page draws (GET /api/v1/boundaries), the map
// of a past moment (GET /api/v1/map?at=, from LevelsAtFunc), the
// enumerations the page shows, with their names (GET /api/v1/meta), and the
// dashboard panels beside the map (GET /api/v1/dashboard, whose colours per
// day come from ColourCountsFunc).
package api
