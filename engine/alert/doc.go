// Package alert turns stored colour changes and new high risks into alerts
// people act on (待处置 → 已确认 → 已解除), and decides who is told, when and
// how often: routing (route.go), grouping (group.go), quiet hours (quiet.go),
// inhibition (inhibit.go), repeats and escalation school → town → district →
// city (escalate.go) are pure functions of (alerts, now, configuration), table
// tested without storage; Manager is the small stateful shell that keeps the
// active alerts, applies people's acts and hands messages to notify's outbox.
//
// It leaves out delivery (engine/notify: channels and the durable outbox),
// storage (it declares Store; engine/store satisfies it) and the engine: when
// a person resolves an alert whose risk is still active it asks Risks, which
// the composition root (engine/app) implements.
package alert
