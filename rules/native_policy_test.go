package rules

import (
	"fmt"
	"testing"

	"github.com/expr-lang/expr/vm"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/sanse-campus/sanse/engine"
)

// TestPolicyNativeMatchesVM evaluates the default pack's level policy, and
// a few more shapes, natively and on the VM over every set of up to five
// risks drawn from a pool of levels and sources.
func TestPolicyNativeMatchesVM(t *testing.T) {
	set, errs := Default()
	require.Empty(t, errs)
	extra := []string{
		`any(risks, .level == "high" and .source != "visitor")`,
		`all(risks, .level != "low") or none(risks, .grade == "I")`,
		`one(risks, not (.rule == "canteen.rodent"))`,
		`len(filter(risks, .source == "canteen")) >= 2 and len(risks) < 5`,
		`len(uniq(map(risks, .source))) == 3`,
	}
	var policies []*Policy
	for _, p := range set.Policy() {
		require.NotNil(t, p.fast, "%s has no native form", p.ID)
		policies = append(policies, p)
	}
	for i, src := range extra {
		f := &File{Name: "extra.yaml"}
		p, perrs := (&compiler{params: set.params, calendar: set.calendar}).policy(f, &RuleNode{Fields: map[string]*yaml.Node{
			"id": {Kind: yaml.ScalarNode, Value: fmt.Sprint("extra-", i)}, "level": {Kind: yaml.ScalarNode, Value: "red"},
			"reason": {Kind: yaml.ScalarNode, Value: "r"}, "when": {Kind: yaml.ScalarNode, Value: src},
		}})
		require.Empty(t, perrs, src)
		p.fast = compilePolicy(p.when)
		require.NotNil(t, p.fast, "%s has no native form", src)
		policies = append(policies, p)
	}
	pool := []PolicyRisk{
		{Rule: "canteen.rodent", Level: "high", Grade: "I", Source: "canteen"},
		{Rule: "canteen.sample_insufficient", Level: "medium", Source: "canteen"},
		{Rule: "canteen.hygiene_violation", Level: "low", Source: "canteen"},
		{Rule: "visitor.watch_entry", Level: "medium", Source: "visitor"},
		{Rule: "drowning.patrol_hazard", Level: "medium", Source: "drowning"},
		{Rule: "bullying.screening", Level: "medium", Source: "bullying", Key: "S-1"},
		{Rule: "bullying.screening", Level: "medium", Source: "bullying", Key: "S-2"},
	}
	var sets [][]PolicyRisk
	var grow func(from int, cur []PolicyRisk)
	grow = func(from int, cur []PolicyRisk) {
		sets = append(sets, append([]PolicyRisk(nil), cur...))
		if len(cur) == 5 {
			return
		}
		for i := from; i < len(pool); i++ {
			grow(i+1, append(cur, pool[i]))
		}
	}
	grow(0, nil)
	for _, p := range policies {
		for _, risks := range sets {
			env := &PolicyEnv{Risks: risks, School: &engine.School{ID: "S"}}
			want, err := vm.Run(p.when, env)
			require.NoError(t, err)
			require.Equal(t, want, p.fast(env), "%s on %v", p.When, risks)
		}
	}
}
