// Command sanse is the campus safety three-colour warning engine (校园安防三色预警):
// it reads school safety reports from Kafka, evaluates the rules, keeps every
// school red, yellow or green, stores the history in ClickHouse and serves the
// warning map.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `sanse — campus safety three-colour warning engine (校园安防三色预警)

Usage:
  sanse serve     [flags]        run the engine, the map and the API
  sanse demo      [flags]        run the engine with the embedded test broker and the simulator
  sanse simulate  [flags]        produce a realistic stream of school safety events to Kafka
  sanse rules check [DIR ...]    check rule files (default: the embedded default pack)
  sanse config check [flags]     check a configuration, its registry and its rules without starting
  sanse sources check|doc        check the event source declarations, or print them as Markdown tables
  sanse report    [flags]        make one inspection report (排查报告) from ClickHouse, without a server
  sanse privacy export|erase     export or erase one visitor's stored events (--visitor-id)
  sanse token create|list|revoke API tokens: create (prints the secret), list, revoke
  sanse version                  print the version

Run 'sanse <command> -h' for the flags of a command.
Without --kafka.brokers, serve and demo start an embedded test broker (franz-go's kfake) for
the demo, tests and trying Sanse on one machine; an installation sets --kafka.brokers to its
Kafka cluster.
Every flag can also be set in the environment: --clickhouse.dsn is SANSE_CLICKHOUSE_DSN.
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(ctx, args[1:], stdout, stderr, false)
	case "demo":
		err = cmdServe(ctx, args[1:], stdout, stderr, true)
	case "simulate":
		err = cmdSimulate(ctx, args[1:], stdout, stderr)
	case "rules":
		err = cmdRules(args[1:], stdout, stderr)
	case "config":
		err = cmdConfig(args[1:], stdout, stderr)
	case "sources":
		err = cmdSources(args[1:], stdout, stderr)
	case "report":
		err = cmdReport(ctx, args[1:], stdout, stderr)
	case "privacy":
		err = cmdPrivacy(ctx, args[1:], os.Stdin, stdout, stderr)
	case "token":
		err = cmdToken(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "sanse", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "sanse: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "sanse %s: %v\n", args[0], err)
		return 1
	}
}

// errUsage reports a command line that could not be parsed; the flag
// package has already printed why.
var errUsage = errors.New("usage")

// newFlagSet returns a flag set whose help lists every flag of the command.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: sanse %s\n\nFlags (each also settable as SANSE_<NAME>, e.g. SANSE_CLICKHOUSE_DSN):\n", synopsis)
		fs.VisitAll(func(f *flag.Flag) {
			name, usage := flag.UnquoteUsage(f)
			line := "  --" + f.Name
			if name != "" {
				line += " " + name
			}
			fmt.Fprintf(stderr, "%s\n    \t%s", line, strings.ReplaceAll(usage, "\n", "\n    \t"))
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
				fmt.Fprintf(stderr, " (default %s)", f.DefValue)
			}
			fmt.Fprintln(stderr)
		})
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

func newLogger(level, format string, w io.Writer) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
