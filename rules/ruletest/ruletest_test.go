package ruletest

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/rules"
)

func TestRunRefusesTestsThatCannotFail(t *testing.T) {
	set, errs := rules.Default()
	require.Empty(t, errs)
	const event = `      - {at: 2026-11-02T09:00:00+08:00, event: {source: visitor, type: entry, visitor_id: "330402198001011234", id_verified: true, watchlist: blacklist}}
`
	tests := []struct {
		name string
		src  string
		want []string // in the error; none: the file runs
		// noExpect: the error is ErrNoExpectations.
		noExpect bool
	}{
		{
			name: "a test with expectations runs",
			src:  "tests:\n  - name: red\n    events:\n" + event + "    expect:\n      - {at: 2026-11-02T09:00:01+08:00, level: red}\n",
		},
		{
			name:     "a test without expectations",
			src:      "tests:\n  - name: no expect\n    events:\n" + event,
			want:     []string{`x_test.yaml: test "no expect": nothing is expected`},
			noExpect: true,
		},
		{
			name: "an expectation that checks nothing, beside a test without any",
			src: "tests:\n  - name: only a time\n    events:\n" + event + "    expect:\n      - {at: 2026-11-02T09:00:01+08:00}\n" +
				"  - name: empty\n    events:\n" + event + "    expect: []\n",
			want: []string{
				`x_test.yaml: test "only a time": expectation at 2026-11-02T09:00:01+08:00: nothing is expected`,
				`x_test.yaml: test "empty": nothing is expected`,
			},
			noExpect: true,
		},
		{
			name: "a file without tests",
			src:  "rules: [\"visitor.*\"]\n",
			want: []string{"x_test.yaml: no tests"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Run("x_test.yaml", []byte(tt.src), set)
			if len(tt.want) == 0 {
				require.NoError(t, err)
				require.Len(t, res, 1)
				require.True(t, res[0].Passed(), "%v", res[0].Failures)
				return
			}
			require.Error(t, err)
			require.Nil(t, res)
			for _, w := range tt.want {
				require.ErrorContains(t, err, w)
			}
			require.Equal(t, tt.noExpect, errors.Is(err, ErrNoExpectations))
		})
	}
}

// TestRunPathContract runs the rule tests of a source the built-in contract
// does not declare: the rules are compiled, and the test's events decoded,
// against the contract given.
func TestRunPathContract(t *testing.T) {
	path := filepath.Join("..", "..", "testdata", "contract", "rules", "bus_test.yaml")
	_, err := RunPath(path)
	require.ErrorContains(t, err, `unknown source "shuttle"`)

	c, err := event.LoadContract(filepath.Join("..", "..", "testdata", "contract", "sources"))
	require.NoError(t, err)
	res, err := RunPathContract(c, path)
	require.NoError(t, err)
	require.Len(t, res, 1)
	require.True(t, res[0].Passed(), "%v", res[0].Failures)
}
