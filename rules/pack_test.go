package rules_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/rules"
	"github.com/sanse-campus/sanse/rules/ruletest"
)

// TestDefaultPack runs every rule test of the default pack (pack/*_test.yaml).
func TestDefaultPack(t *testing.T) {
	set, errs := rules.Default()
	require.Empty(t, errs)
	results, err := ruletest.RunFS(rules.Pack(), set)
	require.NoError(t, err)
	require.NotEmpty(t, results)
	for _, r := range results {
		t.Run(r.File+"/"+r.Test, func(t *testing.T) {
			for _, f := range r.Failures {
				t.Error(f)
			}
		})
	}
}
