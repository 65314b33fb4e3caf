package app_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/app"
	"github.com/sanse-campus/sanse/engine/hazard"
)

// TestRestoreGivesSameState: an App is stopped and a new one built on the
// same database and broker data; once Run has restored the state, every
// school has the same colour and the same risks as before — risks of
// events, one a person resolved, a rule's hazard and an inspector's — with
// the same hazards and alerts. The readiness check "state" fails until the
// state is restored.
func TestRestoreGivesSameState(t *testing.T) {
	e := newEnv(t)
	a := start(t, e)
	at := time.Now().Add(-time.Minute)
	produce(t, a.Brokers(),
		blacklisted("rs-1", schoolA, at),
		blacklisted("rs-2", schoolB, at),
		patrol("rs-3", schoolD, true, at),
		waterLevel("rs-4", schoolB, true, at.Add(time.Second)),
	)
	waitFor(t, 30*time.Second, "every event stored", func() bool { return storedEvents(t, a.App) == 4 })
	waitFor(t, 30*time.Second, "the rule's hazard registered", func() bool { return len(a.Hazards().List(hazard.Filter{})) == 1 })
	_, err := a.Resolve(t.Context(), schoolA, "visitor.watchlist_entry", "", "王科长", "已由保卫处带离并报警")
	require.NoError(t, err)
	h, err := a.Hazards().Create(t.Context(), hazard.NewHazard{
		SchoolID: schoolC, Title: "消防通道堵塞", Category: hazard.CategoryFire, Level: engine.SeverityMedium,
		Responsible: "后勤主任", Deadline: time.Now().Add(time.Hour), By: "区安全科张科长",
	})
	require.NoError(t, err)

	before := snapshot(a.App)
	require.Equal(t, map[string]engine.Level{schoolA: engine.LevelGreen, schoolB: engine.LevelRed,
		schoolC: engine.LevelYellow, schoolD: engine.LevelYellow}, levels(a.App, schoolA, schoolB, schoolC, schoolD))
	hazardsBefore := hazardIDs(a.Hazards())
	alertsBefore := alertStates(t, a.App)
	require.Len(t, hazardsBefore, 2)
	require.NotEmpty(t, alertsBefore)
	a.stop()

	b := build(t, e)
	require.ErrorContains(t, check(b.App, "state"), "not restored", "ready before the state is restored")
	require.Equal(t, engine.LevelGreen, b.Engine().Level(schoolB), "nothing restored before Run")
	b.run(t)
	require.NoError(t, check(b.App, "state"))
	require.Equal(t, before, snapshot(b.App))
	require.Equal(t, hazardsBefore, hazardIDs(b.Hazards()))
	require.Equal(t, alertsBefore, alertStates(t, b.App))

	// The restored state goes on: the inspector's hazard, verified, ends
	// its risk.
	for _, act := range []hazard.Action{hazard.ActionStart, hazard.ActionSubmit, hazard.ActionVerify} {
		_, err := b.Hazards().Transition(t.Context(), h.ID, act, "李校长", "已清理", nil)
		require.NoError(t, err)
	}
	require.Equal(t, engine.LevelGreen, b.Engine().Level(schoolC))
}

// snapshot renders every school as the map and its detail show it, with
// times to the millisecond (what the history keeps).
func snapshot(a *app.App) string {
	var sb strings.Builder
	for _, sum := range a.Engine().Views(nil) {
		v, _ := a.Engine().View(sum.School.ID)
		fmt.Fprintf(&sb, "%s %s since=%d risks=%d cause=%+v\n", sum.School.ID, v.Level, v.Since.UnixMilli(), sum.ActiveRisks, v.Cause)
		for _, r := range v.Risks {
			fmt.Fprintf(&sb, "  %s/%s %s %s %q first=%d last=%d until=%d count=%d evidence=%v manual=%t\n",
				r.Rule, r.Key, r.Source, r.Severity, r.Title, r.FirstSeen.UnixMilli(), r.LastSeen.UnixMilli(),
				r.Until.UnixMilli(), r.Count, r.Evidence, r.Manual)
		}
	}
	return sb.String()
}

func levels(a *app.App, schools ...string) map[string]engine.Level {
	out := map[string]engine.Level{}
	for _, s := range schools {
		out[s] = a.Engine().Level(s)
	}
	return out
}

func hazardIDs(m *hazard.Manager) []string {
	var out []string
	for _, h := range m.List(hazard.Filter{}) {
		out = append(out, fmt.Sprintf("%s %s %s v%d", h.ID, h.SchoolID, h.Status, h.Version))
	}
	slices.Sort(out)
	return out
}

func alertStates(t *testing.T, a *app.App) []string {
	t.Helper()
	list, err := a.Alerts().List(t.Context(), alert.Filter{})
	require.NoError(t, err)
	var out []string
	for _, al := range list {
		out = append(out, fmt.Sprintf("%s %s %s %s", al.ID, al.SchoolID, al.Level, al.Status))
	}
	slices.Sort(out)
	return out
}
