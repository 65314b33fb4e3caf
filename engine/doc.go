// Package engine owns Sanse's domain: the event contract (Event, Decoder),
// the school registry (School, Registry), risk severities and school colours
// (Severity, Level), and the per-school state machine (Engine) that turns rule
// matches into active risks and colour changes.
//
// It deliberately knows nothing about Kafka, ClickHouse or HTTP: the packages
// under engine/ and api/ adapt those to the types declared here, and the rule
// language lives in package rules, which the engine reaches only through the
// Evaluator interface.
package engine
