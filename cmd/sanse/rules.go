package main

import (
	"fmt"
	"io"

	"github.com/sanse-campus/sanse/rules"
)

func cmdRules(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, "Usage: sanse rules check [DIR ...]\n\nChecks every rule file (*.yaml) of each directory, or the embedded default pack\nwhen no directory is given, and reports every error with file, rule, line and column.\n")
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	switch args[0] {
	case "check":
		return rulesCheck(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "sanse rules: unknown command %q, expected check\n", args[0])
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
