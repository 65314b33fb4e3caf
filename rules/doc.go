// Package rules owns the rule language: the YAML rule file format, its
// validation with file, rule, line and column, the compilation of every
// condition and template into expr programs against a typed environment,
// and the compiled rule Set that the engine evaluates. The default rule pack
// for the four sources is embedded (Default).
//
// It does not keep risks or colours (package engine does) and does not watch
// files or reload (the caller swaps Sets atomically).
package rules
