package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine/report"
)

// The 报告 tab lists the report kinds, which GET /api/v1/meta does not name:
// its copy (reports.js) and their names (i18n.js) must be the report
// package's kinds, all of them.
func TestReportKindsAgree(t *testing.T) {
	js, err := fs.ReadFile(Static(), "reports.js")
	require.NoError(t, err)
	m := regexp.MustCompile(`const KINDS = \[([^\]]*)\];`).FindSubmatch(js)
	require.NotNil(t, m, "reports.js declares KINDS")
	var page []string
	for _, k := range strings.Split(string(m[1]), ",") {
		page = append(page, strings.Trim(strings.TrimSpace(k), `"`))
	}
	var want []string
	for _, k := range report.Kinds {
		want = append(want, string(k))
	}
	require.Equal(t, want, page)

	i18n, err := fs.ReadFile(Static(), "i18n.js")
	require.NoError(t, err)
	for _, k := range want {
		require.Equal(t, 2, strings.Count(string(i18n), "reportKind_"+k+":"), "a Chinese and an English name of %s in i18n.js", k)
	}
}
