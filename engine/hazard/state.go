package hazard

import (
	"errors"
	"fmt"
	"strings"
)

// Status is where a hazard's rectification stands.
type Status string

// Hazard statuses, in workflow order.
const (
	StatusOpen       Status = "open"       // 待整改: registered, nobody has started
	StatusRectifying Status = "rectifying" // 整改中
	StatusSubmitted  Status = "submitted"  // 待验收: the school says it is fixed
	StatusVerified   Status = "verified"   // 已销号: checked and closed
)

// Statuses lists every status in workflow order.
var Statuses = []Status{StatusOpen, StatusRectifying, StatusSubmitted, StatusVerified}

// ParseStatus returns the status named s, or an error naming the accepted values.
func ParseStatus(s string) (Status, error) {
	for _, st := range Statuses {
		if string(st) == s {
			return st, nil
		}
	}
	return "", fmt.Errorf("unknown status %q, expected open, rectifying, submitted or verified", s)
}

// Closed reports whether a hazard in status s is closed: checked and
// closed (已销号), with nothing to follow.
func (s Status) Closed() bool { return s == StatusVerified }

// Chinese returns the people-facing name of the status.
func (s Status) Chinese() string {
	switch s {
	case StatusOpen:
		return "待整改"
	case StatusRectifying:
		return "整改中"
	case StatusSubmitted:
		return "待验收"
	case StatusVerified:
		return "已销号"
	}
	return string(s)
}

// Action is what a transition does.
type Action string

// Transition actions. People take Start, Submit, Verify, Reject and Comment;
// Create and Supervise are recorded by the Manager.
const (
	ActionCreate    Action = "create"    // 登记隐患: "" → open
	ActionStart     Action = "start"     // 开始整改: open → rectifying
	ActionSubmit    Action = "submit"    // 提交验收: rectifying → submitted
	ActionVerify    Action = "verify"    // 验收销号: submitted → verified
	ActionReject    Action = "reject"    // 验收驳回: submitted → rectifying
	ActionComment   Action = "comment"   // 备注: any status but verified, unchanged
	ActionSupervise Action = "supervise" // 挂牌督办: overdue, by the system, status unchanged
)

// Actions lists every action in workflow order: the system's (Create,
// Supervise) and the people's.
var Actions = []Action{ActionCreate, ActionStart, ActionSubmit, ActionVerify, ActionReject, ActionComment, ActionSupervise}

// PersonActions are the actions people may take through the API.
var PersonActions = []Action{ActionStart, ActionSubmit, ActionVerify, ActionReject, ActionComment}

// ParseAction returns the person's action named s, or an error naming the
// accepted values.
func ParseAction(s string) (Action, error) {
	for _, a := range PersonActions {
		if string(a) == s {
			return a, nil
		}
	}
	return "", fmt.Errorf("unknown action %q, expected start, submit, verify, reject or comment", s)
}

// Chinese returns the people-facing name of the action.
func (a Action) Chinese() string {
	switch a {
	case ActionCreate:
		return "登记隐患"
	case ActionStart:
		return "开始整改"
	case ActionSubmit:
		return "提交验收"
	case ActionVerify:
		return "验收销号"
	case ActionReject:
		return "验收驳回"
	case ActionComment:
		return "备注"
	case ActionSupervise:
		return "挂牌督办"
	}
	return string(a)
}

// step is one allowed transition: action takes a hazard from from to to.
type step struct {
	from   Status
	action Action
	to     Status
}

// steps is the whole workflow. Anything not listed is refused with a
// *TransitionError. A verified hazard is closed: nothing follows it.
var steps = []step{
	{"", ActionCreate, StatusOpen},

	{StatusOpen, ActionStart, StatusRectifying},
	{StatusRectifying, ActionSubmit, StatusSubmitted},
	{StatusSubmitted, ActionVerify, StatusVerified},
	{StatusSubmitted, ActionReject, StatusRectifying},

	{StatusOpen, ActionComment, StatusOpen},
	{StatusRectifying, ActionComment, StatusRectifying},
	{StatusSubmitted, ActionComment, StatusSubmitted},

	{StatusOpen, ActionSupervise, StatusOpen},
	{StatusRectifying, ActionSupervise, StatusRectifying},
	{StatusSubmitted, ActionSupervise, StatusSubmitted},
}

// Next returns the status that action takes a hazard in status from to, or a
// *TransitionError when the workflow does not allow it.
func Next(from Status, action Action) (Status, error) {
	for _, s := range steps {
		if s.from == from && s.action == action {
			return s.to, nil
		}
	}
	return "", &TransitionError{From: from, Action: action}
}

// Allowed returns the actions the workflow allows from status, in the order
// of steps.
func Allowed(from Status) []Action {
	var out []Action
	for _, s := range steps {
		if s.from == from {
			out = append(out, s.action)
		}
	}
	return out
}

// ErrInvalidTransition is wrapped by *TransitionError: the workflow does not
// allow the action from the hazard's status.
var ErrInvalidTransition = errors.New("invalid hazard transition")

// TransitionError is returned for an action that the hazard's status does
// not allow. Its message is in Chinese and English and names what is allowed.
type TransitionError struct {
	// ID is the hazard's id, "" when the error comes from Next.
	ID     string
	From   Status
	Action Action
}

func (e *TransitionError) Error() string {
	var zh, en []string
	for _, a := range Allowed(e.From) {
		if a == ActionCreate || a == ActionSupervise {
			continue // not the caller's to take
		}
		zh, en = append(zh, a.Chinese()), append(en, string(a))
	}
	zhID, enID := "", ""
	if e.ID != "" {
		zhID, enID = " "+e.ID+" ", " "+e.ID
	}
	if len(en) == 0 {
		return fmt.Sprintf("隐患%s状态为“%s”，不能再%s（已销号的隐患不能变更）; cannot %s hazard%s: it is %s and closed",
			zhID, e.From.Chinese(), e.Action.Chinese(), e.Action, enID, e.From)
	}
	return fmt.Sprintf("隐患%s状态为“%s”，不能%s（可以：%s）; cannot %s hazard%s: it is %s (allowed: %s)",
		zhID, e.From.Chinese(), e.Action.Chinese(), strings.Join(zh, "、"), e.Action, enID, e.From, strings.Join(en, ", "))
}

// Unwrap makes errors.Is(err, ErrInvalidTransition) true.
func (e *TransitionError) Unwrap() error { return ErrInvalidTransition }
