package auth

import (
	"encoding/json"
	"time"
)

// Entry is one record of the audit log: who did what to which target, from
// where, and with which result.
type Entry struct {
	// ID identifies the act; the record of its outcome replaces the record
	// written before it (see Result).
	ID string    `json:"id"`
	At time.Time `json:"at"`
	// Actor is Identity.Actor of the caller ("" for a failed sign-in).
	Actor string `json:"actor"`
	Role  Role   `json:"role,omitempty"`
	// Scope is the caller's scope as ParseScope reads it.
	Scope  string `json:"scope,omitempty"`
	Action string `json:"action"`
	// Target is what the act was on: an alert, hazard or token id, a rule
	// file; School the school it concerns, if any.
	Target string `json:"target,omitempty"`
	School string `json:"school,omitempty"`
	// Detail is a JSON object with what else matters (comment, action…).
	Detail json.RawMessage `json:"detail,omitempty"`
	// Remote is the client's address.
	Remote string `json:"remote,omitempty"`
	// Result is ResultPending while the act runs, then how it ended.
	Result string `json:"result"`
}

// Results of an audited act.
const (
	// ResultPending is written before the act; a record left pending means
	// the act was begun but its outcome was not recorded (the process
	// ended, or the store failed).
	ResultPending = "pending"
	// ResultOK is an act that was done.
	ResultOK = "ok"
	// ResultDenied is an act refused for lack of rights (a role too low,
	// separation of duties) or a failed sign-in.
	ResultDenied = "denied"
	// ResultFailed is an act that was allowed but did not succeed
	// (conflict, invalid request, internal error).
	ResultFailed = "failed"
)

// Audit actions.
const (
	ActionSignIn       = "session.sign_in"
	ActionSignOut      = "session.sign_out"
	ActionAlertAck     = "alert.ack"
	ActionAlertResolve = "alert.resolve"
	ActionRiskResolve  = "risk.resolve"
	// ActionRiskDispose is a person's check of a risk pending one (待核实):
	// confirmed, false_alarm (误报) or handled, in the record's detail.
	ActionRiskDispose  = "risk.dispose"
	ActionHazardCreate = "hazard.create"
	ActionHazardPrefix = "hazard." // followed by the transition's action
	// ActionReportCreate is a report made on demand (target: its scope,
	// district:… or school:…).
	ActionReportCreate  = "report.create"
	ActionRulesReload   = "rules.reload"
	ActionRulesValidate = "rules.validate"
	ActionTokenCreate   = "token.create"
	ActionTokenRevoke   = "token.revoke"
	// ActionPrivacyExport and ActionPrivacyErase are `sanse privacy`'s; the
	// target is the visitor's keyed hash, never the identity number.
	ActionPrivacyExport = "privacy.export"
	ActionPrivacyErase  = "privacy.erase"
	// ActionRetentionDrop is the retention job dropping a partition (actor
	// "system", target table/partition).
	ActionRetentionDrop = "retention.drop"
)

// AuditFilter selects audit records; zero fields select everything.
type AuditFilter struct {
	Actor  string
	Action string
	School string
	// From and To bound At: From <= At < To.
	From, To time.Time
	// Limit is the most records returned, newest first; Offset skips
	// that many first.
	Limit  int
	Offset int
}
