package app_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/hazard"
	"github.com/sanse-campus/sanse/rules"
)

// TestRuleReloadEndsRemovedRisks: a reload that removes a rule ends the
// risks it held, records that in the history and hands the colour change to
// the stream; the risks of the rules that stay, and a hazard's, stay.
func TestRuleReloadEndsRemovedRisks(t *testing.T) {
	e := newEnv(t)
	e.rulesDir = filepath.Join(t.TempDir(), "rules")
	copyPack(t, e.rulesDir)
	a := start(t, e)
	at := time.Now().Add(-time.Minute)
	produce(t, a.Brokers(), blacklisted("rl-1", schoolA, at), waterLevel("rl-2", schoolB, true, at))
	waitFor(t, 30*time.Second, "every event stored", func() bool { return storedEvents(t, a.App) == 2 })
	_, err := a.Hazards().Create(t.Context(), hazard.NewHazard{
		SchoolID: schoolA, Title: "门禁损坏", Category: hazard.CategoryGate, Level: engine.SeverityMedium,
		Responsible: "保卫处", Deadline: time.Now().Add(time.Hour), By: "区安全科张科长",
	})
	require.NoError(t, err)
	require.Equal(t, engine.LevelRed, a.Engine().Level(schoolA))
	require.NotEqual(t, engine.LevelGreen, a.Engine().Level(schoolB))
	levelB := a.Engine().Level(schoolB)

	// visitor.watchlist_entry goes; the file's other rules stay.
	file := filepath.Join(e.rulesDir, "visitor.yaml")
	src, err := os.ReadFile(file)
	require.NoError(t, err)
	from := strings.Index(string(src), "  - id: visitor.watchlist_entry")
	to := strings.Index(string(src), "  - id: visitor.prohibited_items")
	require.True(t, from > 0 && to > from, "visitor.yaml changed; the test cuts the rule out by its id")
	require.NoError(t, os.WriteFile(file, append(src[:from:from], src[to:]...), 0o644))
	require.NoError(t, a.Rules().Reload())
	require.Nil(t, a.Rules().Current().Rule("visitor.watchlist_entry"))

	v, _ := a.Engine().View(schoolA)
	require.Len(t, v.Risks, 1, "the hazard's risk stays")
	require.Equal(t, hazard.RiskRule, v.Risks[0].Rule)
	require.Equal(t, engine.LevelYellow, v.Level)
	require.Equal(t, levelB, a.Engine().Level(schoolB), "the risks of rules that stay, stay")

	trs, err := a.Store().RiskTransitions(t.Context(), schoolA, time.Now().Add(-time.Hour), time.Now().Add(time.Minute))
	require.NoError(t, err)
	require.NotEmpty(t, trs)
	tr := trs[len(trs)-1]
	require.Equal(t, engine.RiskRemoved, tr.State, "the ended risk is recorded")
	require.Equal(t, "visitor.watchlist_entry", tr.Risk.Rule)
	c := lastStored(t, a.App, schoolA)
	require.Equal(t, engine.LevelRed, c.From)
	require.Equal(t, engine.LevelYellow, c.To)
	require.Equal(t, engine.RiskRemoved, c.Cause.How)
	p, _ := a.stream.last(schoolA)
	require.Equal(t, c.To, p.change.To)
	require.Equal(t, engine.RiskRemoved, p.change.Cause.How)
}

// copyPack copies the default rule pack, without its rule tests, to dir.
func copyPack(t *testing.T, dir string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, fs.WalkDir(rules.Pack(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.yaml") {
			return err
		}
		b, err := fs.ReadFile(rules.Pack(), p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, p), b, 0o644)
	}))
}
