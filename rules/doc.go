// Package rules owns the rule language: the YAML rule file format, its
// validation with file, rule, line and column, the compilation of every
// condition and template into expr programs against a typed environment —
// `event` typed from the declaration of the rule's source in the event
// contract (engine/event), which the package reads but does not own — and
// the compiled rule Set that the engine evaluates. The default rule pack for
// the four built-in sources is embedded (Default).
//
// Manager holds the current Set and reloads it (SIGHUP, POST /-/reload, a
// changed file), compiling the whole new set first and keeping the old one
// on any error. The package owns the rules' memory of a school (windows and
// when things were last seen, memory.go), which the engine holds per school
// as an opaque engine.RuleState. It does not keep risks or colours: package
// engine does, with rule tests run by rules/ruletest.
package rules
