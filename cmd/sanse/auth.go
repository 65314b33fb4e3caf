package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/sanse-campus/sanse/api"
	"github.com/sanse-campus/sanse/engine/app"
	"github.com/sanse-campus/sanse/engine/auth"
	"github.com/sanse-campus/sanse/engine/store"
)

// errNoToken refuses `sanse serve` when authentication is on and no token
// could sign anyone in.
var errNoToken = errors.New(`authentication is on and there is no active API token, so nobody could sign in.
Create one, then start again:
    sanse token create --name admin --scope all --role admin --expires 90d
(with the same --clickhouse.dsn or --config.file). To serve without authentication on a closed
test network, start with --web.insecure-no-auth: anyone who reaches the port may then read every
school and act on it`)

// authOptions decides how the API authenticates: nil, with a warning, when
// --web.insecure-no-auth is given; otherwise tokens from the store, checked
// by a verifier with the configured cache, every act audited in the store.
// Without any active token it refuses to start (errNoToken).
func (c *Config) authOptions(ctx context.Context, a *app.App, logger *slog.Logger) (*api.AuthOptions, error) {
	if c.Web.InsecureNoAuth {
		logger.Warn("authentication is OFF (--web.insecure-no-auth): anyone who reaches " + c.Web.ListenAddress +
			" reads every school and may acknowledge, resolve, register hazards and reload rules; use it on a closed test network only")
		return nil, nil
	}
	st := a.Store()
	tokens, err := st.Tokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the API tokens: %w", err)
	}
	active := 0
	now := time.Now()
	for _, t := range tokens {
		if t.Active(now) {
			active++
		}
	}
	if active == 0 {
		return nil, errNoToken
	}
	opts := &api.AuthOptions{
		Verifier: auth.NewVerifier(st, c.Web.TokenCacheTTL), Audit: st.WriteAudit, AuditLog: st.Audit,
		MetricsAuth: c.Web.MetricsAuth, HighRiskAboveSchool: c.Hazards.HighRiskResolveAboveSchool,
	}
	if c.Web.ExternalURL != "" {
		u, err := url.Parse(c.Web.ExternalURL)
		if err != nil {
			return nil, fmt.Errorf("web.external_url: %w", err)
		}
		opts.ExternalURL = u
	}
	logger.Info("authentication on", "active_tokens", active, "token_cache_ttl", c.Web.TokenCacheTTL,
		"external_url", c.Web.ExternalURL, "metrics_auth", c.Web.MetricsAuth)
	return opts, nil
}

// demoTokenName names the admin token `sanse demo` creates at each start.
const demoTokenName = "demo-admin"

// demoTokenLifetime is how long the demo's token works if the demo is not
// stopped cleanly (it is revoked when the demo stops).
const demoTokenLifetime = 7 * 24 * time.Hour

// demoToken revokes the previous demo token and creates a new admin token
// for this run of the demo; it returns the secret and a function that
// revokes the token when the demo stops.
func demoToken(ctx context.Context, st *store.Store, logger *slog.Logger) (string, func(), error) {
	if _, err := st.RevokeToken(ctx, demoTokenName, time.Now()); err != nil && !errors.Is(err, auth.ErrNotFound) {
		return "", nil, err
	}
	secret, _, err := createToken(ctx, st, demoTokenName, "all", string(auth.RoleAdmin), demoTokenLifetime.String(), "sanse demo", time.Now())
	if err != nil {
		return "", nil, fmt.Errorf("create the demo's token: %w", err)
	}
	revoke := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := st.RevokeToken(ctx, demoTokenName, time.Now()); err != nil {
			logger.Warn("could not revoke the demo's token; it expires by itself", "err", err)
		}
	}
	return secret, revoke, nil
}
