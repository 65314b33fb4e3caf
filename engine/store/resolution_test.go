package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

// transition returns a risk transition of rule and key at school, at at(ms),
// of a risk first seen at at(firstMS) that lasts until at(untilMS), or until
// cleared or resolved when untilMS is 0.
func transition(id, school, rule, key string, state engine.RiskState, ms, firstMS, untilMS int) engine.RiskTransition {
	r := engine.Risk{
		Rule: rule, Key: key, Source: engine.SourceDrowning, Severity: engine.SeverityHigh, Title: "防溺水巡查缺失",
		FirstSeen: at(firstMS), LastSeen: at(ms), Count: 1, Evidence: []string{},
	}
	if untilMS != 0 {
		r.Until = at(untilMS)
	}
	return engine.RiskTransition{ID: id, SchoolID: school, At: at(ms), State: state, Risk: r}
}

// resolved returns the transition of a person resolving the risk, as
// engine.Resolve records it.
func resolved(id, school, rule, key string, ms, firstMS int, actor, comment string) engine.RiskTransition {
	t := transition(id, school, rule, key, engine.RiskResolved, ms, firstMS, 0)
	t.Actor, t.Comment = actor, comment
	return t
}

func TestResolutions(t *testing.T) {
	s := openTest(t, nil)
	// Keep the repeats apart until FINAL folds them.
	require.NoError(t, s.conn.Exec(t.Context(), "SYSTEM STOP MERGES "+quoteIdent(s.Database())+"."+tableRiskTransitions))

	opened := transition("ev-1:drowning.patrol/七星湖", "s1", "drowning.patrol", "七星湖", engine.RiskOpened, 1_000, 1_000, 0)
	first := resolved("resolved:drowning.patrol/七星湖:1747035060000", "s1", "drowning.patrol", "七星湖", 60_000, 1_000,
		"王老师", "已到现场核实，巡查已补做")
	// Two resolutions in the same millisecond at two schools, ordered by id,
	// and one in the next month (another partition).
	tieB := resolved("resolved:visitor.blacklist:1747035120000", "s2", "visitor.blacklist", "", 120_000, 2_000,
		"李主任", "人员已离校")
	tieA := resolved("resolved:canteen.no_hat/后厨:1747035120000", "s1", "canteen.no_hat", "后厨", 120_000, 3_000,
		"张师傅", "已整改")
	later := resolved("resolved:bullying.repeated/S-1024:1749713400000", "s3", "bullying.repeated", "S-1024",
		31*24*3600_000, 4_000, "赵校长", "家校已沟通，持续关注")
	cleared := transition("cleared:ev-9:canteen.no_hat/后厨", "s1", "canteen.no_hat", "后厨", engine.RiskCleared, 200_000, 3_000, 0)

	b := &engine.Batch{Output: engine.Output{Transitions: []engine.RiskTransition{opened, later, tieB, first, tieA, cleared}}}
	require.NoError(t, s.Write(t.Context(), b))
	// A redelivery of part of the batch.
	require.NoError(t, s.Write(t.Context(), &engine.Batch{Output: engine.Output{Transitions: []engine.RiskTransition{tieB, first}}}))

	for _, tc := range []struct {
		name  string
		since time.Time
		want  []engine.RiskTransition
	}{
		{name: "all, each once, in time then id order", since: t0, want: []engine.RiskTransition{first, tieA, tieB, later}},
		{name: "since is inclusive to the millisecond", since: at(60_000), want: []engine.RiskTransition{first, tieA, tieB, later}},
		{name: "one millisecond later", since: at(60_001), want: []engine.RiskTransition{tieA, tieB, later}},
		{name: "next month", since: at(120_001), want: []engine.RiskTransition{later}},
		{name: "none", since: at(31*24*3600_000 + 1), want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Resolutions(t.Context(), tc.since)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}

	t.Run("the history holds who and why", func(t *testing.T) {
		got, err := s.RiskTransitions(t.Context(), "s1", t0, t0.Add(time.Hour))
		require.NoError(t, err)
		require.Equal(t, []engine.RiskTransition{opened, first, tieA, cleared}, got)
		require.Equal(t, "王老师", got[1].Actor)
		require.Equal(t, "已到现场核实，巡查已补做", got[1].Comment)
		require.Empty(t, got[0].Actor+got[0].Comment, "only a resolution has an actor and a comment")
	})
}

func TestOpenRisksSince(t *testing.T) {
	const rule = "drowning.patrol"
	for _, tc := range []struct {
		name        string
		transitions []engine.RiskTransition
		want        time.Time
		wantOK      bool
	}{
		{name: "no transitions"},
		{
			name: "open until cleared",
			transitions: []engine.RiskTransition{
				transition("ev-1:r", "s1", rule, "k", engine.RiskOpened, 5_000, 5_000, 0),
			},
			want: at(5_000), wantOK: true,
		},
		{
			name: "updated after it opened",
			transitions: []engine.RiskTransition{
				transition("ev-1:r", "s1", rule, "k", engine.RiskOpened, 5_000, 5_000, 0),
				transition("ev-2:r", "s1", rule, "k", engine.RiskUpdated, 9_000, 5_000, 0),
			},
			want: at(5_000), wantOK: true,
		},
		{
			name: "open with an until runs out by itself",
			transitions: []engine.RiskTransition{
				transition("ev-1:r", "s1", rule, "k", engine.RiskOpened, 5_000, 5_000, 3_600_000),
			},
		},
		{
			name: "updated to an until",
			transitions: []engine.RiskTransition{
				transition("ev-1:r", "s1", rule, "k", engine.RiskOpened, 5_000, 5_000, 0),
				transition("ev-2:r", "s1", rule, "k", engine.RiskUpdated, 9_000, 5_000, 3_600_000),
			},
		},
		{
			name: "resolved",
			transitions: []engine.RiskTransition{
				transition("ev-1:r", "s1", rule, "k", engine.RiskOpened, 5_000, 5_000, 0),
				resolved("resolved:r:9000", "s1", rule, "k", 9_000, 5_000, "王老师", "已处置"),
			},
		},
		{
			name: "cleared, expired or removed",
			transitions: []engine.RiskTransition{
				transition("ev-1:a", "s1", rule, "a", engine.RiskOpened, 1_000, 1_000, 0),
				transition("cleared:ev-2:a", "s1", rule, "a", engine.RiskCleared, 2_000, 1_000, 0),
				transition("ev-1:b", "s1", rule, "b", engine.RiskOpened, 1_000, 1_000, 1_500),
				transition("expired:b:1500", "s1", rule, "b", engine.RiskExpired, 1_500, 1_000, 1_500),
				transition("ev-1:c", "s1", rule, "c", engine.RiskOpened, 1_000, 1_000, 0),
				transition("removed:c:3000", "s1", rule, "c", engine.RiskRemoved, 3_000, 1_000, 0),
			},
		},
		{
			name: "opened again after it was cleared",
			transitions: []engine.RiskTransition{
				transition("ev-1:r", "s1", rule, "k", engine.RiskOpened, 1_000, 1_000, 0),
				transition("cleared:ev-2:r", "s1", rule, "k", engine.RiskCleared, 2_000, 1_000, 0),
				transition("ev-3:r", "s1", rule, "k", engine.RiskOpened, 7_000, 7_000, 0),
			},
			want: at(7_000), wantOK: true,
		},
		{
			name: "same millisecond, the later id is the latest: resolved",
			transitions: []engine.RiskTransition{
				transition("a:r", "s1", rule, "k", engine.RiskOpened, 5_000, 5_000, 0),
				resolved("b:r", "s1", rule, "k", 5_000, 5_000, "王老师", "误报"),
			},
		},
		{
			name: "same millisecond, the later id is the latest: opened",
			transitions: []engine.RiskTransition{
				resolved("a:r", "s1", rule, "k", 5_000, 1_000, "王老师", "已处置"),
				transition("b:r", "s1", rule, "k", engine.RiskOpened, 5_000, 5_000, 0),
			},
			want: at(5_000), wantOK: true,
		},
		{
			name: "the earliest of the open risks, by school, rule and key",
			transitions: []engine.RiskTransition{
				// The earliest risk, closed: not counted.
				transition("ev-0:k1", "s1", rule, "k1", engine.RiskOpened, 500, 500, 0),
				resolved("resolved:k1", "s1", rule, "k1", 9_000, 500, "王老师", "已处置"),
				// The same rule and key at another school, and another key at
				// the same school, both still open.
				transition("ev-1:k1", "s2", rule, "k1", engine.RiskOpened, 3_000, 3_000, 0),
				transition("ev-2:k2", "s1", rule, "k2", engine.RiskOpened, 2_000, 2_000, 0),
				// Another rule with the same key, open but with an until.
				transition("ev-3:k1", "s1", "visitor.blacklist", "k1", engine.RiskOpened, 1_000, 1_000, 60_000),
				// Another month.
				transition("ev-4:k3", "s3", rule, "k3", engine.RiskOpened, 40*24*3600_000, 40*24*3600_000, 0),
			},
			want: at(2_000), wantOK: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, nil)
			if len(tc.transitions) > 0 {
				require.NoError(t, s.Write(t.Context(), &engine.Batch{Output: engine.Output{Transitions: tc.transitions}}))
			}
			got, ok, err := s.OpenRisksSince(t.Context())
			require.NoError(t, err)
			require.Equal(t, tc.wantOK, ok)
			require.Equal(t, tc.want, got)
		})
	}
}
