// Package hazard owns the hazard rectification workflow (隐患排查治理): a
// hazard found at a school — registered by an inspector through the API, or
// opened by a rule whose risk calls for one — is assigned to a responsible
// person with a deadline, rectified, submitted with evidence, and verified
// and closed (销号) or rejected back to rectification. Every step is a
// Transition with who, when, why and what evidence.
//
// A hazard holds the school's colour until it is verified: the Manager opens
// a manual risk in the engine for a hazard an inspector registered (rule
// "hazard", key the hazard's id), and resolves it — or, for a hazard a rule
// opened, the rule's own risk — when the hazard is verified. A hazard past its
// deadline is put under supervision (挂牌督办) once, which raises its risk one
// level.
//
// The package leaves out storage (engine/store implements Store), HTTP
// (package api) and the rule file format (package rules produces a Spec per
// rule); it reaches the engine only through the Engine interface.
package hazard
