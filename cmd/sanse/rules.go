package main

import (
	"errors"
	"fmt"
	"io"

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

func rulesCheck(dirs []string, stdout, stderr io.Writer) error {
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
		set, errs := rules.LoadDir(d)
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
func rulesTest(files []string, stdout, stderr io.Writer) error {
	var (
		results []ruletest.Result
		err     error
	)
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
		res, err := ruletest.RunPath(f)
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
