package main

import (
	"fmt"
	"io"
)

// cmdSources runs `sanse sources check|doc`: the event sources declared as
// data, the built-in ones and those of --sources.dir.
func cmdSources(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, "Usage: sanse sources check|doc [--sources.dir DIR]\n")
		return errUsage
	}
	switch args[0] {
	case "check":
		return sourcesCheck(args[1:], stdout, stderr)
	case "doc":
		return sourcesDoc(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "sanse sources: unknown command %q, expected check or doc\n", args[0])
	return errUsage
}

// sourcesCheck loads the declarations and lists every source with its
// default topic, its types and where it is declared; a declaration with
// errors is reported with its file and line (exit status 1).
func sourcesCheck(args []string, stdout, stderr io.Writer) error {
	rest, contract, err := rulesArgs("sources check [--sources.dir DIR]",
		"Check the event source declarations: the built-in ones and those of --sources.dir.\n", args, stderr)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "sanse sources check: unexpected arguments %q (the directory is --sources.dir)\n", rest)
		return errUsage
	}
	for _, s := range contract.Sources() {
		where := "built-in"
		if !s.Builtin {
			where = s.File
		}
		fmt.Fprintf(stdout, "source %s (%s): topic %s, types %v, %s\n", s.Name, s.Title[0], s.Topic, s.TypeNames(), where)
	}
	fmt.Fprintln(stdout, "sources OK")
	return nil
}

// sourcesDoc prints the tables of docs/events.md for the declarations, so
// that a district documents its own sources the way Sanse documents the
// built-in ones.
func sourcesDoc(args []string, stdout, stderr io.Writer) error {
	rest, contract, err := rulesArgs("sources doc [--sources.dir DIR]",
		"Print the sources, types and fields of the declarations as Markdown tables (those of docs/events.md).\n", args, stderr)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "sanse sources doc: unexpected arguments %q (the directory is --sources.dir)\n", rest)
		return errUsage
	}
	_, err = io.WriteString(stdout, contract.Markdown())
	return err
}
