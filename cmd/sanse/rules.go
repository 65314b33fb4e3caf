package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/rules"
	"github.com/sanse-campus/sanse/rules/ruletest"
)

func cmdRules(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, `Usage:
  sanse rules check [DIR ...]     check every rule file (*.yaml) of each directory, or the
                                  embedded default pack; every error with file, rule, line, column
  sanse rules test [FILE ...]     run rule tests (*_test.yaml) against the rules of their
                                  directory, or the default pack's own tests

Both take --sources.dir DIR: the event sources declared in DIR, beside the built-in ones.
`)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	switch args[0] {
	case "check":
		return rulesCheck(args[1:], stdout, stderr)
	case "test":
		return rulesTest(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "sanse rules: unknown command %q, expected check or test\n", args[0])
	return errUsage
}

// rulesArgs parses the arguments of a rules subcommand, whose one flag,
// --sources.dir (or SANSE_SOURCES_DIR), adds the sources declared in a
// directory to the built-in ones that rules may name: -h prints its help
// (exit status 0) and another flag is a usage error.
func rulesArgs(synopsis, help string, args []string, stderr io.Writer) ([]string, *event.Contract, error) {
	fs := flag.NewFlagSet("sanse rules", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("sources.dir", os.Getenv(envName("sources.dir")), "directory of event source declarations (*.yaml) added to the built-in sources")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: sanse %s\n\n%s\nFlags:\n", synopsis, help)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return nil, nil, err
	}
	contract, err := event.LoadContract(*dir)
	if err != nil {
		return nil, nil, fmt.Errorf("sources.dir %s: %w", *dir, err)
	}
	return fs.Args(), contract, nil
}

func rulesCheck(args []string, stdout, stderr io.Writer) error {
	dirs, contract, err := rulesArgs("rules check [--sources.dir DIR] [DIR ...]", `Check every rule file (*.yaml) of each directory, or the embedded default pack when
no directory is given, and print every error with file, rule, line and column.
The exit status is 1 when a rule file has an error.
`, args, stderr)
	if err != nil {
		return err
	}
	type result struct {
		name string
		set  *rules.Set
		errs []error
	}
	var results []result
	if len(dirs) == 0 {
		set, errs := rules.Default()
		results = append(results, result{"the default pack", set, errs})
	}
	for _, d := range dirs {
		set, errs := rules.LoadDirContract(contract, d)
		results = append(results, result{d, set, errs})
	}
	failed := 0
	for _, r := range results {
		if len(r.errs) > 0 {
			for _, e := range r.errs {
				fmt.Fprintln(stderr, e)
			}
			failed += len(r.errs)
			continue
		}
		fmt.Fprintf(stdout, "%s: %d rules in %d files OK\n", r.name, len(r.set.Rules()), len(r.set.Files()))
	}
	if failed > 0 {
		return fmt.Errorf("%d errors", failed)
	}
	return nil
}

// rulesTest runs rule test files; with none, the default pack's own tests.
func rulesTest(args []string, stdout, stderr io.Writer) error {
	files, contract, err := rulesArgs("rules test [--sources.dir DIR] [FILE ...]", `Run rule tests (*_test.yaml) against the rules of their directory, or the default
pack's own tests when no file is given (see docs/rules.md). Every failed test is
printed with what was expected and what the rules gave. The exit status is 1
when a test fails or a test file is refused (a test that expects nothing).
`, args, stderr)
	if err != nil {
		return err
	}
	var results []ruletest.Result
	if len(files) == 0 {
		set, errs := rules.Default()
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		if results, err = ruletest.RunFS(rules.Pack(), set); err != nil {
			return err
		}
	}
	for _, f := range files {
		res, err := ruletest.RunPathContract(contract, f)
		if err != nil {
			return err
		}
		results = append(results, res...)
	}
	failed := 0
	for _, r := range results {
		if r.Passed() {
			continue
		}
		failed++
		fmt.Fprintf(stderr, "FAIL %s: %s\n", r.File, r.Test)
		for _, f := range r.Failures {
			fmt.Fprintf(stderr, "    %s\n", f)
		}
	}
	fmt.Fprintf(stdout, "%d tests, %d passed, %d failed\n", len(results), len(results)-failed, failed)
	if failed > 0 {
		return fmt.Errorf("%d rule tests failed", failed)
	}
	return nil
}
