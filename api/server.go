package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

// Schools is the live state of the warning map. engine.Engine satisfies it.
// Both methods must be safe for concurrent use, must not block on I/O, and
// must return values that the caller may keep and read after the call.
type Schools interface {
	// View returns the school with the given id with its active risks,
	// most serious first, or false when no such school is in the registry.
	View(id string) (engine.SchoolView, bool)
	// Views returns every school that keep accepts (all if keep is nil),
	// without their risks, in school id order.
	Views(keep func(*engine.School) bool) []engine.SchoolSummary
}

// TimelineFunc returns the colour changes of one school with from <= At < to,
// oldest first. It is provided by the history store. It must honour ctx: the
// request's context is cancelled when the client goes away.
type TimelineFunc func(ctx context.Context, schoolID string, from, to time.Time) ([]engine.LevelChange, error)

// ReadyFunc reports whether a dependency is ready to serve: nil when it is,
// otherwise an error saying why not. It must return soon after ctx is done.
type ReadyFunc func(ctx context.Context) error

// ReadyCheck is one named check of /readyz, e.g. "kafka", "clickhouse" or
// "migrations".
type ReadyCheck struct {
	// Name is the check's key in the /readyz answer.
	Name string
	// Check is called once per /readyz request, concurrently with the
	// other checks.
	Check ReadyFunc
}

// Defaults of Options.
const (
	// DefaultListenAddress is where Run listens when Options.ListenAddress
	// is empty.
	DefaultListenAddress = ":8080"
	// DefaultReadyTimeout bounds the checks of one /readyz request when
	// Options.ReadyTimeout is zero.
	DefaultReadyTimeout = 2 * time.Second
	// DefaultShutdownTimeout bounds the graceful shutdown of Run when
	// Options.ShutdownTimeout is zero.
	DefaultShutdownTimeout = 10 * time.Second
)

// Options configures a Server. Schools and Timeline are required.
type Options struct {
	// ListenAddress is the TCP address Run listens on; DefaultListenAddress
	// when empty.
	ListenAddress string
	// TLSCertFile and TLSKeyFile, when set (both), make Run serve HTTPS
	// (TLS 1.2 or later) with this PEM certificate chain and key, read
	// again by ReloadCertificate.
	TLSCertFile, TLSKeyFile string
	// Logger receives request logs at Debug and server errors; nothing is
	// logged when nil.
	Logger *slog.Logger
	// Registerer registers the server's metrics; they are not registered
	// when nil.
	Registerer prometheus.Registerer
	// Gatherer is what /metrics exposes; /metrics is not served when nil.
	Gatherer prometheus.Gatherer

	// Schools is the live state of the map.
	Schools Schools
	// Timeline reads a school's colour changes from the history.
	Timeline TimelineFunc
	// Ready lists the checks of /readyz; names must be unique and non-empty.
	Ready []ReadyCheck
	// Scope decides which schools the caller of a request may see; every
	// caller sees every school (ScopeAll) when nil. It is not used when
	// Auth is set: the caller's token decides.
	Scope ScopeFunc
	// Auth turns authentication on (tokens, roles, sessions, audit); when
	// nil, nothing is authenticated and every caller may do everything.
	Auth *AuthOptions

	// RulesStatus lists the running rules for GET /api/v1/rules, which is
	// not served when nil.
	RulesStatus RulesStatusFunc
	// ValidateRules checks a rule file for POST /api/v1/rules/validate,
	// which is not served when nil.
	ValidateRules ValidateRulesFunc
	// Reload reloads the rules for POST /-/reload, which is not served
	// when nil.
	Reload ReloadFunc
	// Resolve lets a person end a risk for POST
	// /api/v1/schools/:id/risks/resolve, which is not served when nil.
	Resolve ResolveFunc
	// Dispose lets a person record the check of a risk pending one
	// (confirmed, false alarm, handled) for POST
	// /api/v1/schools/:id/risks/dispose, which is not served when nil.
	Dispose DisposeFunc
	// CheckCounts reads what the human checks found from the history, for
	// GET /api/v1/checks, which is not served when nil.
	CheckCounts CheckCountsFunc

	// MapRefresh is how often, at most, an answer of the live map (GET
	// /api/v1/map) is built again while the state keeps changing;
	// DefaultMapRefresh when zero. No answer sent is older than twice it.
	// Answers are kept only when Schools is a VersionedSchools.
	MapRefresh time.Duration

	// LevelsAt reads every school's colour at a past moment from the
	// history, for GET /api/v1/map?at=, which answers 400 when nil.
	LevelsAt LevelsAtFunc
	// ColourCounts counts the colours of schools at past moments from the
	// history, for GET /api/v1/dashboard, which is not served when nil;
	// the dashboard's alerts and hazards are those of Alerts and Hazards.
	ColourCounts ColourCountsFunc
	// Compliance gives the dashboard today's routine compliance; without
	// it the dashboard's compliance is null.
	Compliance ComplianceFunc
	// Boundaries is the GeoJSON of the district and town outlines the map
	// page draws (GET /api/v1/boundaries; see web.ParseBoundaries); the
	// embedded demo outlines of 嘉兴市 when nil. Server.ReloadBoundaries
	// replaces them.
	Boundaries []byte

	// Alerts serves GET /api/v1/alerts, GET /api/v1/alerts/:id and POST
	// /api/v1/alerts/:id/ack and /resolve, which are not served when nil.
	Alerts AlertService
	// Hazards serves /api/v1/hazards (list, create, get, transition),
	// which is not served when nil.
	Hazards HazardService
	// Reports serves /api/v1/reports (list, download, make on demand),
	// which is not served when nil. ReportZone is the zone of the reports'
	// dates (engine.Shanghai when nil).
	Reports    ReportService
	ReportZone *time.Location

	// Stream is the Hub of live colour changes for GET /api/v1/stream,
	// which is not served when nil.
	Stream *Hub
	// School looks up a school's registry entry, to decide whether a
	// change on the stream or a line of the check counts is in the
	// caller's scope. When nil, Schools.View is used, which also copies the
	// school's risks.
	School SchoolFunc
	// StreamHeartbeat is how often an idle stream sends a comment;
	// DefaultStreamHeartbeat when zero.
	StreamHeartbeat time.Duration

	// ReadyTimeout bounds all checks of one /readyz request together;
	// DefaultReadyTimeout when zero.
	ReadyTimeout time.Duration
	// ShutdownTimeout bounds the graceful shutdown of Run, after which open
	// connections are closed; DefaultShutdownTimeout when zero.
	ShutdownTimeout time.Duration

	// Limits bounds what callers may ask: history reach, timeouts, rate
	// limits, live streams (see Limits; the defaults when zero).
	Limits Limits
	// CallerKey names the caller of a request for the rate limits and the
	// streams per caller; the peer's IP address when nil.
	CallerKey func(echo.Context) string

	// Contract is the declared event sources, which GET /api/v1/meta lists
	// with their names and the map names a school's risks by;
	// event.Builtin() when nil.
	Contract *event.Contract
}

// Server is Sanse's HTTP server.
type Server struct {
	addr            string
	logger          *slog.Logger
	metrics         *metrics
	schools         Schools
	timeline        TimelineFunc
	ready           []ReadyCheck
	readyTimeout    time.Duration
	shutdownTimeout time.Duration
	echo            *echo.Echo
	stream          *streamer // nil when Options.Stream is
	levelsAt        LevelsAtFunc
	cert            *certificate // nil without TLS
	auth            *AuthOptions // nil without authentication
	limits          Limits
	callerKey       func(echo.Context) string
	rate            *rateLimiter // nil when off
	streams         *streamLimiter
	limitMetrics    *limitMetrics
	atCache         *atCache              // nil without LevelsAt
	mapCache        *mapCache             // nil when Schools has no version
	sources         []engine.Source       // the contract's, in its order
	schoolOf        SchoolFunc            // nil: Schools.View
	meta            metaBody              // built once: facts of the program, not of its state
	outlines        atomic.Pointer[asset] // GET /api/v1/boundaries; ReloadBoundaries swaps it

	// now and listen are replaced by tests.
	now    func() time.Time
	listen func(network, address string) (net.Listener, error)
}

// New returns a server for opts, with every route registered. It does not
// listen; Run does.
func New(opts Options) (*Server, error) {
	if opts.Schools == nil {
		return nil, errors.New("api: Options.Schools is nil")
	}
	if opts.Timeline == nil {
		return nil, errors.New("api: Options.Timeline is nil")
	}
	if opts.Auth != nil && opts.Auth.Verifier == nil {
		return nil, errors.New("api: Options.Auth.Verifier is nil")
	}
	var errs []error
	names := make(map[string]bool, len(opts.Ready))
	for i, rc := range opts.Ready {
		switch {
		case rc.Name == "":
			errs = append(errs, fmt.Errorf("api: ready check %d has no name", i))
		case names[rc.Name]:
			errs = append(errs, fmt.Errorf("api: ready check %q is listed twice", rc.Name))
		case rc.Check == nil:
			errs = append(errs, fmt.Errorf("api: ready check %q has no function", rc.Name))
		}
		names[rc.Name] = true
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	s := &Server{
		addr:            opts.ListenAddress,
		logger:          opts.Logger,
		metrics:         newMetrics(opts.Registerer),
		schools:         opts.Schools,
		timeline:        opts.Timeline,
		levelsAt:        opts.LevelsAt,
		schoolOf:        opts.School,
		auth:            opts.Auth,
		limits:          opts.Limits.withDefaults(),
		ready:           opts.Ready,
		readyTimeout:    opts.ReadyTimeout,
		shutdownTimeout: opts.ShutdownTimeout,
		now:             time.Now,
		listen:          net.Listen,
	}
	contract := opts.Contract
	if contract == nil {
		contract = event.Builtin()
	}
	s.sources, s.meta = contract.Names(), newMeta(contract)
	if s.addr == "" {
		s.addr = DefaultListenAddress
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.logger = s.logger.With("component", "api")
	if s.readyTimeout <= 0 {
		s.readyTimeout = DefaultReadyTimeout
	}
	if s.shutdownTimeout <= 0 {
		s.shutdownTimeout = DefaultShutdownTimeout
	}
	if opts.TLSCertFile != "" || opts.TLSKeyFile != "" {
		cert, err := newCertificate(opts.TLSCertFile, opts.TLSKeyFile, s.logger, opts.Registerer)
		if err != nil {
			return nil, err
		}
		s.cert = cert
	}
	s.initLimits(opts)
	if vs, ok := opts.Schools.(VersionedSchools); ok {
		s.mapCache = newMapCache(vs.Version, s.streamPosition, func(req mapRequest) (*mapAnswer, error) {
			return s.buildMap(context.Background(), req)
		}, func() time.Time { return s.now() }, opts.MapRefresh, s.logger, opts.Registerer)
	}
	scope := opts.Scope
	if scope == nil {
		scope = func(*http.Request) (Scope, error) { return ScopeAll, nil }
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	// No proxy is assumed in front of the server; the logged client address
	// is the peer's, not a header the client could forge.
	e.IPExtractor = echo.ExtractIPDirect()
	e.Use(s.instrument, s.recoverPanics)

	// The scope is set per route rather than on an echo.Group: a group's
	// middleware makes echo answer 404 instead of 405 for a wrong method.
	// With authentication, it is the token's (authMiddleware). The rate
	// limit runs after it, keyed by the caller it names, on every route but
	// health and metrics.
	base := scopeMiddleware(scope)
	if s.auth != nil {
		base = s.authMiddleware
	}
	scoped := s.limitedBy(base)
	var metricsAuth []echo.MiddlewareFunc
	if s.auth != nil {
		if s.auth.MetricsAuth {
			metricsAuth = append(metricsAuth, s.authMiddleware)
		}
		s.routeSession(e)
		if s.auth.AuditLog != nil {
			e.GET("/api/v1/audit", s.handleAudit(s.auth.AuditLog), scoped)
		}
	}
	e.GET("/healthz", s.handleHealth)
	e.GET("/readyz", s.handleReady)
	if opts.Gatherer != nil {
		e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{
			ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelError),
		})), metricsAuth...)
	}
	s.routeOpenAPI(e)
	e.GET("/api/v1/meta", s.handleMeta, scoped)
	e.GET("/api/v1/map", s.handleMap, scoped)
	e.GET("/api/v1/schools/:id", s.handleSchool, scoped)
	e.GET("/api/v1/schools/:id/timeline", s.handleTimeline, scoped)
	if opts.Resolve != nil {
		e.POST("/api/v1/schools/:id/risks/resolve", s.handleResolve(opts.Resolve), scoped)
	}
	if opts.Dispose != nil {
		e.POST("/api/v1/schools/:id/risks/dispose", s.handleDispose(opts.Dispose), scoped)
	}
	if opts.CheckCounts != nil {
		e.GET("/api/v1/checks", s.handleChecks(opts.CheckCounts), scoped)
	}
	s.routeRules(e, opts, scoped)
	s.routeAlerts(e, opts, scoped)
	s.routeDashboard(e, opts, scoped)
	if opts.Hazards != nil {
		s.routeHazards(e, opts.Hazards, scoped)
	}
	if opts.Reports != nil {
		s.routeReports(e, opts.Reports, opts.ReportZone, scoped)
	}
	if err := s.routeWeb(e, opts, scoped); err != nil {
		return nil, err
	}
	if opts.Stream != nil {
		s.stream = newStreamer(opts.Stream, opts.School, opts.Schools, opts.StreamHeartbeat, s.logger)
		e.GET("/api/v1/stream", s.limitStreams(s.stream.handle), scoped)
	}
	s.echo = e
	return s, nil
}

// Handler returns the server's routes as an http.Handler, for tests and for
// mounting the API in another server.
func (s *Server) Handler() http.Handler { return s.echo }

// Run listens on the configured address and serves, over TLS when a
// certificate is configured, until ctx is cancelled, then stops accepting
// connections and waits up to the shutdown timeout for the requests in
// flight before closing what is left. It returns nil after a
// shutdown caused by ctx, and an error if it could not listen or serving
// failed.
func (s *Server) Run(ctx context.Context) error {
	ln, err := s.listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("api: listen on %s: %w", s.addr, err)
	}
	srv := s.httpServer()
	if s.stream != nil {
		// Shutdown waits for handlers, and a live stream never ends by
		// itself: end them all when shutdown begins.
		srv.RegisterOnShutdown(s.stream.close)
	}
	served := make(chan error, 1)
	if s.cert != nil {
		srv.TLSConfig = s.cert.config()
		// The certificate comes from TLSConfig.GetCertificate.
		go func() { served <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { served <- srv.Serve(ln) }()
	}
	s.logger.Info("listening", "address", ln.Addr().String(), "tls", s.cert != nil)

	select {
	case err := <-served:
		return fmt.Errorf("api: serve on %s: %w", s.addr, err)
	case <-ctx.Done():
	}

	s.logger.Info("shutting down", "timeout", s.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		closeErr := srv.Close()
		<-served
		return fmt.Errorf("api: graceful shutdown: %w", errors.Join(err, closeErr))
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("api: serve on %s: %w", s.addr, err)
	}
	return nil
}
