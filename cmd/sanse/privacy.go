package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sanse-campus/sanse/engine/auth"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/store"
)

const privacyUsage = `Usage: sanse privacy export|erase --visitor-id ID|- [flags]

Finds one visitor's stored events by the keyed hash of their identity number
(the same key as serve: privacy.visitor_key_file) and
  export   prints them, one JSON object a line (the identity number hashed and
           masked as stored, names masked), to stdout or --out FILE;
  erase    deletes them from ClickHouse (needs --yes) and prints how many.
--visitor-id - reads the number from stdin, so that it stays out of the shell
history and the process list. The number itself is never printed or logged.
`

// cmdPrivacy runs `sanse privacy export|erase`.
func cmdPrivacy(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "export" && args[0] != "erase") {
		fmt.Fprint(stderr, privacyUsage)
		return errUsage
	}
	verb := args[0]
	fs := newFlagSet("privacy "+verb, "privacy "+verb+" --visitor-id ID|- [flags]", stderr)
	cf := newConfigFlags(fs)
	visitorID := fs.String("visitor-id", "", "the visitor's identity number, or - to read it from stdin")
	out := fs.String("out", "", "export: write to this file (mode 0600) instead of stdout")
	yes := fs.Bool("yes", false, "erase: really delete")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	id := *visitorID
	if id == "-" {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read the identity number from stdin: %w", err)
		}
		id = line
	}
	if id = strings.TrimSpace(id); id == "" {
		return errors.New("--visitor-id is required (the identity number, or - to read it from stdin)")
	}
	if verb == "erase" && !*yes {
		return errors.New("erase deletes the visitor's events for good: add --yes")
	}
	cfg, err := cf.load()
	if err != nil && !onlyRegistryMissing(err) {
		return err
	}
	identity, err := event.LoadIdentityKey(cfg.Privacy.VisitorKeyFile)
	if err != nil {
		return err
	}
	hash := identity.Hash(id)
	logger := newLogger(cfg.Log.Level, cfg.Log.Format, stderr)
	st, err := store.Open(ctx, cfg.ClickHouse.DSN, logger, nil)
	if err != nil {
		return fmt.Errorf("clickhouse: %w", err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return fmt.Errorf("clickhouse: %w", err)
	}
	audit := func(action string, n int, err error) {
		e := auth.Entry{Actor: cliActor(), Action: action, Target: "visitor:" + hash,
			Detail: json.RawMessage(fmt.Sprintf(`{"events":%d}`, n))}
		if err != nil {
			e.Result = auth.ResultFailed
		}
		auditCLI(ctx, st, logger, e)
	}
	if verb == "erase" {
		n, err := st.ErasePerson(ctx, hash)
		audit(auth.ActionPrivacyErase, n, err)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "erased %d events of visitor %s\n", n, event.MaskID(id))
		return nil
	}
	events, err := st.PersonEvents(ctx, hash)
	audit(auth.ActionPrivacyExport, len(events), err)
	if err != nil {
		return err
	}
	w := stdout
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	enc := json.NewEncoder(w)
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "exported %d events of visitor %s\n", len(events), event.MaskID(id))
	return nil
}
