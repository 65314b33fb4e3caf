// Package notify delivers alert notifications: it renders a Message (one
// burst of alerts at one school, for one receiver) and sends it through the
// receiver's channels — a signed JSON webhook, an Alertmanager-compatible
// webhook, DingTalk and WeCom group robots, and e-mail.
//
// All people-facing text is Chinese and comes from one renderer: a subject
// such as 【红色预警】嘉兴市南湖区某某小学, then per alert the colour word, the
// title, the cause, the time in China Standard Time (+08:00), the details
// and a 查看地图 link. The colour is always written as a word (红色, 黄色,
// 绿色), never shown by colour alone.
//
// Redaction is per receiver and applied to a copy before any channel sees
// the message. A detail with no sensitivity is shown. A visitor detail
// (masked upstream) is shown unless the receiver lists visitor in redact.
// Student and reporter details are hidden from every receiver unless it
// lists the class in reveal. A detail of any other class is always hidden.
// A hidden value is replaced by （已隐去）; the label stays. Titles and
// causes are never redacted, so they must not name people.
//
// Channel errors are transient (worth retrying) unless wrapped by
// Permanent. Messages carry an ID that every channel passes on (the
// X-Sanse-Notification-Id header, the mail's Message-ID) so that receivers
// can drop duplicates of a retried delivery.
//
// The Outbox delivers stored messages: one queue and one sender per
// receiver, each message saved (OutboxStore) before it is queued, retried
// with backoff until every channel took it or the retry limit passed, every
// attempt recorded, and what was not finished with resumed after a restart.
// It owns the sanse_notify_* metrics.
//
// The package deliberately leaves out routing, grouping, repetition and
// escalation: deciding who gets what and when belongs to engine/alert,
// which makes the Notifications and hands them to the Outbox. It does not
// know the storage either: engine/store implements OutboxStore. The wire
// formats, signatures and configuration keys are documented in
// docs/notify.md.
package notify
