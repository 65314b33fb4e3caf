package main

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// reportsShown is the 报告 tab as the page shows it (window.sanse.reports()).
type reportsShown struct {
	Query   *string `json:"query"`
	State   string  `json:"state"`
	Reports []struct {
		ID    string   `json:"id"`
		Title string   `json:"title"`
		Links []string `json:"links"`
	} `json:"reports"`
}

// waitReportsAgree waits until the tab lists what GET /api/v1/reports
// answers for its query, with a link for each format.
func waitReportsAgree(t *testing.T, ctx context.Context, src *apiSource, query string) reportsShown {
	t.Helper()
	var got reportsShown
	var diff string
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		got = eval[reportsShown](t, ctx, `window.sanse.reports()`)
		if got.Query != nil && *got.Query == query {
			var want struct {
				Reports []reportDoc `json:"reports"`
			}
			path := "/api/v1/reports"
			if query != "" {
				path += "?" + query
			}
			src.getJSON(t, path, &want)
			var a, b []string
			for _, r := range got.Reports {
				a = append(a, r.ID+" "+r.Title+" "+strings.Join(r.Links, " "))
			}
			for _, r := range want.Reports {
				var links []string
				for _, f := range []string{"html", "csv", "pdf"} {
					for _, have := range r.Formats {
						if have == f {
							links = append(links, "/api/v1/reports/"+url.PathEscape(r.ID)+"?format="+f)
						}
					}
				}
				b = append(b, r.ID+" "+r.Title+" "+strings.Join(links, " "))
			}
			if diff = fmt.Sprintf("page %q\nAPI  %q", a, b); fmt.Sprint(a) == fmt.Sprint(b) {
				return got
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the 报告 tab does not list what GET /api/v1/reports?%s answers:\n%s", query, diff)
	return got
}

// TestBrowserReports: the 报告 tab lists the archived reports that GET
// /api/v1/reports answers for the district filter and the kind chosen, each
// with a link per format that downloads it.
//
// It needs GET /api/v1/reports; while the server answers 404 the page is
// checked against the stand-in of standin_browser_test.go (logged). Against
// a server whose archive is empty it checks the empty list only.
func TestBrowserReports(t *testing.T) {
	chromiumPath(t)
	clickhouseDSN(t)
	artifacts := artifactsDir(t)
	registry, err := filepath.Abs("../../testdata/registry/demo.csv")
	require.NoError(t, err)
	in, _ := startMapServer(t, "", registry)
	base := "http://" + in.web

	src := newAPISource(t, in, "/api/v1/reports", reportsStandIn())
	ctx := newBrowser(t, 1366, 768)
	in.signIn(t, ctx)
	serveStandIns(t, ctx, src)
	watch := watchPage(t, ctx)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/?tab=reports")))
	waitPage(t, ctx)
	require.False(t, eval[bool](t, ctx, `document.getElementById("panel-reports").hidden`), "the tab from the address")
	all := waitReportsAgree(t, ctx, src, "")

	// The district filter and the kind.
	choose(t, ctx, "f-district", "南湖区")
	waitReportsAgree(t, ctx, src, "district=%E5%8D%97%E6%B9%96%E5%8C%BA")
	choose(t, ctx, "r-kind", "daily")
	daily := waitReportsAgree(t, ctx, src, "district=%E5%8D%97%E6%B9%96%E5%8C%BA&kind=daily")
	require.Equal(t, "daily", eval[string](t, ctx, `new URLSearchParams(location.search).get("kind")`))
	screenshot(t, ctx, filepath.Join(artifacts, "reports.png"))

	// Each link downloads its rendering.
	if len(all.Reports) == 0 {
		t.Log("the archive is empty: no download to check")
	}
	for _, r := range daily.Reports {
		for _, href := range r.Links {
			format := href[strings.LastIndex(href, "=")+1:]
			got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](fmt.Sprintf(
				`fetch(%q).then((res) => [String(res.status), res.headers.get("content-type") || ""])`, href), chromedp.EvalAwaitPromise))
			require.NoError(t, err, href)
			require.Equal(t, "200", got[0], href)
			require.Contains(t, got[1], map[string]string{"html": "text/html", "csv": "text/csv", "pdf": "application/pdf"}[format], href)
			if format != "html" {
				require.True(t, eval[bool](t, ctx, fmt.Sprintf(`document.querySelector('a.dl[href=%q]').hasAttribute("download")`, href)), "%s is saved", href)
			}
		}
	}

	watch.checkOnlyOwnHost(t, in.web)
	watch.checkNoErrors(t)
}
