package hazard

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

// TestWorkflowTable spells out, for every status and every action, where
// the workflow goes or that it refuses. A change to the workflow must change
// this table.
func TestWorkflowTable(t *testing.T) {
	const refused = Status("refused")
	actions := []Action{ActionCreate, ActionStart, ActionSubmit, ActionVerify, ActionReject, ActionComment, ActionSupervise}
	want := map[Status]map[Action]Status{
		"": {ActionCreate: StatusOpen},
		StatusOpen: {
			ActionStart: StatusRectifying, ActionComment: StatusOpen, ActionSupervise: StatusOpen,
		},
		StatusRectifying: {
			ActionSubmit: StatusSubmitted, ActionComment: StatusRectifying, ActionSupervise: StatusRectifying,
		},
		StatusSubmitted: {
			ActionVerify: StatusVerified, ActionReject: StatusRectifying,
			ActionComment: StatusSubmitted, ActionSupervise: StatusSubmitted,
		},
		StatusVerified: {},
	}
	for _, from := range append([]Status{""}, Statuses...) {
		for _, action := range actions {
			expect, ok := want[from][action]
			if !ok {
				expect = refused
			}
			t.Run(string(from)+"/"+string(action), func(t *testing.T) {
				got, err := Next(from, action)
				if expect == refused {
					require.Error(t, err)
					require.ErrorIs(t, err, ErrInvalidTransition)
					var te *TransitionError
					require.ErrorAs(t, err, &te)
					require.Equal(t, from, te.From)
					require.Equal(t, action, te.Action)
					return
				}
				require.NoError(t, err)
				require.Equal(t, expect, got)
			})
		}
	}
}

func TestAllowed(t *testing.T) {
	for _, tc := range []struct {
		name string
		from Status
		want []Action
	}{
		{name: "open", from: StatusOpen, want: []Action{ActionStart, ActionComment, ActionSupervise}},
		{name: "rectifying", from: StatusRectifying, want: []Action{ActionSubmit, ActionComment, ActionSupervise}},
		{name: "submitted", from: StatusSubmitted, want: []Action{ActionVerify, ActionReject, ActionComment, ActionSupervise}},
		{name: "verified is closed", from: StatusVerified, want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Allowed(tc.from))
		})
	}
}

func TestTransitionErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  *TransitionError
		want string
	}{
		{
			name: "submitted cannot start",
			err:  &TransitionError{ID: "HZ-1", From: StatusSubmitted, Action: ActionStart},
			want: "隐患 HZ-1 状态为“待验收”，不能开始整改（可以：验收销号、验收驳回、备注）; " +
				"cannot start hazard HZ-1: it is submitted (allowed: verify, reject, comment)",
		},
		{
			name: "open cannot be verified",
			err:  &TransitionError{From: StatusOpen, Action: ActionVerify},
			want: "隐患状态为“待整改”，不能验收销号（可以：开始整改、备注）; cannot verify hazard: it is open (allowed: start, comment)",
		},
		{
			name: "verified is closed",
			err:  &TransitionError{ID: "HZ-2", From: StatusVerified, Action: ActionComment},
			want: "隐患 HZ-2 状态为“已销号”，不能再备注（已销号的隐患不能变更）; cannot comment hazard HZ-2: it is verified and closed",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.err.Error())
			require.ErrorIs(t, tc.err, ErrInvalidTransition)
		})
	}
}

func TestParse(t *testing.T) {
	for _, s := range Statuses {
		got, err := ParseStatus(string(s))
		require.NoError(t, err)
		require.Equal(t, s, got)
	}
	_, err := ParseStatus("closed")
	require.ErrorContains(t, err, `unknown status "closed", expected open, rectifying, submitted or verified`)

	for _, a := range PersonActions {
		got, err := ParseAction(string(a))
		require.NoError(t, err)
		require.Equal(t, a, got)
	}
	for _, s := range []string{"supervise", "create", "close", ""} {
		_, err := ParseAction(s)
		require.ErrorContains(t, err, "expected start, submit, verify, reject or comment", s)
	}
}

func TestChineseNames(t *testing.T) {
	require.Equal(t, []string{"待整改", "整改中", "待验收", "已销号"},
		[]string{StatusOpen.Chinese(), StatusRectifying.Chinese(), StatusSubmitted.Chinese(), StatusVerified.Chinese()})
	require.Equal(t, "挂牌督办", ActionSupervise.Chinese())
}

func TestRaise(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to engine.Severity
	}{
		{name: "low to medium", from: engine.SeverityLow, to: engine.SeverityMedium},
		{name: "medium to high", from: engine.SeverityMedium, to: engine.SeverityHigh},
		{name: "high stays high", from: engine.SeverityHigh, to: engine.SeverityHigh},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.to, raise(tc.from))
		})
	}
}

func TestSourceFor(t *testing.T) {
	for category, want := range map[string]engine.Source{
		CategoryFood: engine.SourceCanteen, CategoryDrowning: engine.SourceDrowning,
		CategoryBullying: engine.SourceBullying, CategoryGate: engine.SourceVisitor,
		CategoryFire: "", CategoryOther: "", "交通安全": "",
	} {
		require.Equal(t, want, SourceFor(category), category)
	}
}

func TestRuleID(t *testing.T) {
	first := time.Date(2026, 11, 20, 8, 0, 0, 0, engine.Shanghai)
	id := RuleID("JX-NH-0001", "canteen.rodent", "后厨", first)
	require.Regexp(t, `^HZR-[0-9a-f]{20}$`, id)
	require.Equal(t, id, RuleID("JX-NH-0001", "canteen.rodent", "后厨", first.UTC()), "the same instant in another zone")
	for _, other := range []string{
		RuleID("JX-NH-0002", "canteen.rodent", "后厨", first),
		RuleID("JX-NH-0001", "canteen.rodent", "", first),
		RuleID("JX-NH-0001", "canteen.rodent", "后厨", first.Add(time.Millisecond)),
		// The separator keeps "a"+"bc" apart from "ab"+"c".
		RuleID("JX-NH-0001", "canteen.roden", "t后厨", first),
	} {
		require.NotEqual(t, id, other)
	}
}

func TestNewID(t *testing.T) {
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, engine.Shanghai)
	a, b := NewID(at), NewID(at)
	require.Regexp(t, `^HZ-[0-9A-HJKMNP-TV-Z]{26}$`, a)
	require.NotEqual(t, a, b)
	require.Equal(t, a[:13], b[:13], "the first ten characters hold the time")
	later := NewID(at.Add(time.Millisecond))
	require.Less(t, a[:13], later[:13], "ids sort by time")
	require.True(t, strings.HasPrefix(NewID(time.UnixMilli(0)), "HZ-0000000000"))
}
