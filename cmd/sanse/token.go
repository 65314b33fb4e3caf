package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/auth"
	"github.com/sanse-campus/sanse/engine/store"
)

const tokenUsage = `Usage:
  sanse token create --name NAME --scope SCOPE --role ROLE [--expires DURATION] [flags]
                     print a new token's secret (and nothing else) on stdout
  sanse token list   [flags]   list the tokens (never their secrets)
  sanse token revoke [flags] NAME
                     revoke a token; every instance refuses it within web.token_cache_ttl

SCOPE is all, or district:<name> and school:<id>, comma-separated (district:南湖区,school:JX-XZ-0001).
ROLE is viewer, operator or admin. DURATION is like 720h or 90d, or never.
The tokens are kept in ClickHouse: the flags and configuration are those of serve
(--config.file, --clickhouse.dsn, SANSE_CLICKHOUSE_DSN).
`

// cmdToken runs `sanse token create|list|revoke`.
func cmdToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, tokenUsage)
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	sub := args[0]
	fs := newFlagSet("token "+sub, "token "+sub+" [flags]", stderr)
	cf := newConfigFlags(fs)
	name := fs.String("name", "", "the token's name: who or what uses it, e.g. nanhu-duty-office (create)")
	scope := fs.String("scope", "", "all, or district:<name> and school:<id>, comma-separated (create)")
	role := fs.String("role", "", "viewer, operator or admin (create)")
	expires := fs.String("expires", "90d", "how long the token works, e.g. 720h or 90d, or never (create)")
	switch sub {
	case "create", "list", "revoke":
	default:
		fmt.Fprintf(stderr, "sanse token: unknown subcommand %q\n\n%s", sub, tokenUsage)
		return errUsage
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	// Flags may also follow the name: sanse token revoke NAME --clickhouse.dsn ...
	var positional []string
	for fs.NArg() > 0 {
		positional = append(positional, fs.Arg(0))
		if err := parseFlags(fs, fs.Args()[1:]); err != nil {
			return err
		}
	}
	cfg, err := cf.load()
	if err != nil && !onlyRegistryMissing(err) {
		return err
	}
	logger := newLogger("warn", cfg.Log.Format, stderr)
	st, err := openTokenStore(ctx, cfg.ClickHouse.DSN, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	actor := cliActor()

	switch sub {
	case "create":
		if len(positional) > 0 {
			return fmt.Errorf("unexpected arguments %q: give the name with --name", positional)
		}
		secret, tok, err := createToken(ctx, st, *name, *scope, *role, *expires, actor, time.Now())
		if err != nil {
			return err
		}
		auditCLI(ctx, st, logger, auth.Entry{Actor: actor, Action: auth.ActionTokenCreate, Target: tok.Name,
			Detail: []byte(fmt.Sprintf(`{"role":%q,"scope":%q}`, tok.Role, tok.Scope.String()))})
		fmt.Fprintln(stdout, secret)
		fmt.Fprintf(stderr, "token %s created: role %s, scope %s, %s; the secret above is shown only now\n",
			tok.Name, tok.Role, tok.Scope, expiryText(tok.ExpiresAt))
		return nil
	case "list":
		tokens, err := st.Tokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tSCOPE\tCREATED (+08:00)\tBY\tEXPIRES (+08:00)\tSTATUS")
		now := time.Now()
		for _, t := range tokens {
			status := "active"
			switch {
			case !t.RevokedAt.IsZero():
				status = "revoked " + t.RevokedAt.In(engine.Shanghai).Format(time.DateTime)
			case !t.Active(now):
				status = "expired"
			}
			exp := "never"
			if !t.ExpiresAt.IsZero() {
				exp = t.ExpiresAt.In(engine.Shanghai).Format(time.DateTime)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.Role, t.Scope, t.CreatedAt.In(engine.Shanghai).Format(time.DateTime),
				t.CreatedBy, exp, status)
		}
		return tw.Flush()
	default: // revoke
		if len(positional) != 1 {
			return errors.New("give the name of the token to revoke: sanse token revoke NAME")
		}
		t, err := st.RevokeToken(ctx, positional[0], time.Now())
		if err != nil {
			return err
		}
		auditCLI(ctx, st, logger, auth.Entry{Actor: actor, Action: auth.ActionTokenRevoke, Target: t.Name})
		fmt.Fprintf(stdout, "token %s revoked; every instance refuses it within %s\n", t.Name, cfg.Web.TokenCacheTTL)
		return nil
	}
}

// createToken checks the request, makes a secret and stores its hash.
func createToken(ctx context.Context, st *store.Store, name, scope, role, expires, by string, now time.Time) (string, auth.Token, error) {
	var errs []error
	if name == "" {
		errs = append(errs, errors.New("--name is required: who or what uses the token"))
	} else if err := auth.CheckName(name); err != nil {
		errs = append(errs, err)
	}
	sc, err := auth.ParseScope(scope)
	if err != nil {
		errs = append(errs, fmt.Errorf("--scope: %w", err))
	}
	r, err := auth.ParseRole(role)
	if err != nil {
		errs = append(errs, fmt.Errorf("--role: %w", err))
	}
	var exp time.Time
	if d, err := parseExpiry(expires); err != nil {
		errs = append(errs, fmt.Errorf("--expires: %w", err))
	} else if d > 0 {
		exp = now.Add(d)
	}
	if len(errs) > 0 {
		return "", auth.Token{}, errors.Join(errs...)
	}
	secret := auth.NewSecret()
	tok := auth.Token{Name: name, Hash: auth.HashSecret(secret), Scope: sc, Role: r, CreatedAt: now.UTC().Truncate(time.Millisecond),
		CreatedBy: by, ExpiresAt: exp.UTC().Truncate(time.Millisecond)}
	if exp.IsZero() {
		tok.ExpiresAt = time.Time{}
	}
	if err := st.CreateToken(ctx, tok); err != nil {
		return "", auth.Token{}, err
	}
	return secret, tok, nil
}

// parseExpiry reads a token's lifetime: a Go duration, whole days ("90d"),
// or "never" (0).
func parseExpiry(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "never" {
		return 0, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return 0, fmt.Errorf("%q: expected a duration such as 720h or 90d, or never", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q: expected a duration such as 720h or 90d, or never", s)
	}
	return d, nil
}

func expiryText(t time.Time) string {
	if t.IsZero() {
		return "never expires"
	}
	return "expires " + t.In(engine.Shanghai).Format(time.DateTime)
}

// openTokenStore opens and migrates the store that keeps the tokens.
func openTokenStore(ctx context.Context, dsn string, logger *slog.Logger) (*store.Store, error) {
	st, err := store.Open(ctx, dsn, logger, nil)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: %w", err)
	}
	if err := st.Migrate(ctx); err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("clickhouse: %w", err)
	}
	return st, nil
}

// auditCLI records an act of the command line, done (ResultOK) unless
// e.Result says otherwise; a failure to record is reported but does not undo
// the act, which is already stored.
func auditCLI(ctx context.Context, st *store.Store, logger *slog.Logger, e auth.Entry) {
	if e.Result == "" {
		e.Result = auth.ResultOK
	}
	e.ID, e.At, e.Role = auth.NewSecret()[len(auth.SecretPrefix):][:24], time.Now(), auth.RoleAdmin
	e.Scope, e.Remote = auth.ScopeAll.String(), "cli"
	if err := st.WriteAudit(ctx, e); err != nil {
		logger.Error("could not record the act in the audit log", "action", e.Action, "target", e.Target, "err", err)
	}
}

// cliActor names who runs the command: the operating system's user.
func cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	if h, err := os.Hostname(); err == nil {
		return "cli@" + h
	}
	return "cli"
}
