// Package event is the contract with the producers: which sources and types
// exist and which fields each carries (Contract, Fields), the single-pass
// validating decoder that turns a Kafka message into an engine.Event or a
// DecodeError with a fixed Reason for the dead-letter topic, and the
// protection of visitors' identity numbers — a keyed hash (Identity, with its
// key file) and a masked form — applied before anything is stored or logged.
//
// It leaves out what events mean (package engine and the rules), where they
// come from (engine/ingest) and where they are kept (engine/store).
package event
