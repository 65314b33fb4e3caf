package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
)

// reportDoc is one report of GET /api/v1/reports.
type reportDoc struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Scope struct {
		District   string `json:"district"`
		SchoolID   string `json:"school_id"`
		SchoolName string `json:"school_name"`
	} `json:"scope"`
	From    string   `json:"from"`
	To      string   `json:"to"`
	Title   string   `json:"title"`
	Formats []string `json:"formats"`
	Summary struct {
		Schools int `json:"schools"`
		Red     int `json:"red"`
		EverRed int `json:"ever_red"`
	} `json:"summary"`
}

// reportsShown is the 报告 tab as the page shows it (window.sanse.reports()).
type reportsShown struct {
	Query   *string `json:"query"`
	State   string  `json:"state"`
	Reports []struct {
		ID    string   `json:"id"`
		Title string   `json:"title"`
		Meta  string   `json:"meta"`
		Links []string `json:"links"`
	} `json:"reports"`
}

func (r reportsShown) ids() []string {
	var out []string
	for _, x := range r.Reports {
		out = append(out, x.ID)
	}
	return out
}

// reportLink is the page's link to a report's rendering in format f: HTML
// shown by the browser, the others saved.
func reportLink(id, f string) string {
	href := "/api/v1/reports/" + url.PathEscape(id) + "?format=" + f
	if f == "html" {
		href += "&inline=true"
	}
	return href
}

// waitReportsAgree waits until the tab lists what GET /api/v1/reports
// answers for its query, with a link for each format, and returns it.
func waitReportsAgree(t *testing.T, ctx context.Context, in *instance, query string) reportsShown {
	t.Helper()
	var got reportsShown
	diff := "nothing listed"
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		got = eval[reportsShown](t, ctx, `window.sanse.reports()`)
		if got.Query != nil && *got.Query == query && got.State == "ok" {
			var want struct {
				Reports []reportDoc `json:"reports"`
			}
			path := "/api/v1/reports"
			if query != "" {
				path += "?" + query
			}
			serverJSON(t, in, path, &want)
			var a, b []string
			for _, r := range got.Reports {
				a = append(a, r.ID+" "+r.Title+" "+strings.Join(r.Links, " "))
			}
			for _, r := range want.Reports {
				var links []string
				for _, f := range []string{"html", "csv", "pdf"} {
					if slices.Contains(r.Formats, f) {
						links = append(links, reportLink(r.ID, f))
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

// TestBrowserReports: reports the server made and archived (POST
// /api/v1/reports) are listed in the 报告 tab as GET /api/v1/reports
// answers for the district filter and the kind chosen, with their scope and
// period; each link of a report answers its rendering, and the browser
// saves a CSV under the name the server gives it.
func TestBrowserReports(t *testing.T) {
	chromiumPath(t)
	clickhouseDSN(t)
	artifacts := artifactsDir(t)
	in, broker := startDemoMap(t)
	base := "http://" + in.web

	// Something to report: a red school in 南湖区.
	ctx0, cancel0 := context.WithTimeout(context.Background(), time.Minute)
	defer cancel0()
	require.NoError(t, produce(ctx0, []string{broker}, []kafka.Message{visitorEntry("rpt-1", "JX-NH-0001", "blacklist")}, 0))
	waitFor(t, 15*time.Second, "JX-NH-0001 red", func() bool { return mapLevels(t, in)["JX-NH-0001"] == "red" })
	// Reports read the history: the change is stored a batch interval after
	// the map shows it.
	waitFor(t, 15*time.Second, "JX-NH-0001's change stored", func() bool {
		var tl struct {
			Changes []map[string]any `json:"changes"`
		}
		in.getJSON("/api/v1/schools/JX-NH-0001/timeline?from="+queryTime(time.Now().Add(-time.Hour))+"&to="+queryTime(time.Now().Add(time.Hour)), &tl)
		return len(tl.Changes) > 0
	})

	// Three reports made on demand: a daily one of 南湖区, a custom one of
	// 秀洲区 and a custom one of a school of 南湖区.
	now := time.Now().In(shanghaiZone(t))
	today, yesterday := now.Format(time.DateOnly), now.AddDate(0, 0, -1).Format(time.DateOnly)
	makeReport := func(body map[string]any) reportDoc {
		var r reportDoc
		require.Equal(t, http.StatusCreated, in.postAPI("/api/v1/reports", body, &r), "POST /api/v1/reports %v", body)
		require.NotEmpty(t, r.ID)
		return r
	}
	nhDaily := makeReport(map[string]any{"kind": "daily", "district": "南湖区", "from": today, "to": today})
	xz := makeReport(map[string]any{"kind": "custom", "district": "秀洲区", "from": yesterday, "to": today})
	school := makeReport(map[string]any{"kind": "custom", "school_id": "JX-NH-0001", "from": yesterday, "to": today})
	require.Contains(t, nhDaily.Formats, "csv")
	require.Equal(t, 1, nhDaily.Summary.Red, "JX-NH-0001 red at the end of today so far: %+v", nhDaily.Summary)
	require.Equal(t, 1, nhDaily.Summary.EverRed)
	require.Equal(t, 1, school.Summary.Schools)
	require.Equal(t, 1, school.Summary.Red)
	require.NotEmpty(t, school.Scope.SchoolName)

	ctx := newBrowser(t, 1366, 768)
	in.signIn(t, ctx)
	watch := watchPage(t, ctx)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/?tab=reports")))
	waitPage(t, ctx)
	require.False(t, eval[bool](t, ctx, `document.getElementById("panel-reports").hidden`), "the tab from the address")
	all := waitReportsAgree(t, ctx, in, "")
	require.Equal(t, []string{school.ID, xz.ID, nhDaily.ID}, all.ids(), "the archived reports, newest first")
	for _, r := range all.Reports {
		switch r.ID {
		case nhDaily.ID:
			require.Contains(t, r.Meta, "南湖区 · "+today+" · ", "a district's report of one day")
		case school.ID:
			require.Contains(t, r.Meta, school.Scope.SchoolName+" · "+yesterday+" – "+today+" · ", "a school's report of two days")
		}
	}

	// The district filter and the kind.
	choose(t, ctx, "f-district", "南湖区")
	nh := waitReportsAgree(t, ctx, in, "district=%E5%8D%97%E6%B9%96%E5%8C%BA")
	require.Equal(t, []string{school.ID, nhDaily.ID}, nh.ids(), "南湖区's reports and its school's")
	choose(t, ctx, "r-kind", "daily")
	daily := waitReportsAgree(t, ctx, in, "district=%E5%8D%97%E6%B9%96%E5%8C%BA&kind=daily")
	require.Equal(t, []string{nhDaily.ID}, daily.ids())
	require.Equal(t, "daily", eval[string](t, ctx, `new URLSearchParams(location.search).get("kind")`))
	screenshot(t, ctx, filepath.Join(artifacts, "reports.png"))

	// Each link answers its rendering: HTML shown, CSV and PDF saved.
	require.Len(t, daily.Reports[0].Links, len(nhDaily.Formats))
	for _, href := range daily.Reports[0].Links {
		u, err := url.Parse(href)
		require.NoError(t, err)
		format := u.Query().Get("format")
		// Fetched by the page, with its session.
		res, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](fmt.Sprintf(`fetch(%q).then(async (res) => [String(res.status),
			res.headers.get("content-type") || "", res.headers.get("content-disposition") || "", (await res.text()).slice(0, 4000)])`, href),
			chromedp.EvalAwaitPromise))
		require.NoError(t, err, href)
		require.Equal(t, "200", res[0], href)
		switch format {
		case "html":
			require.Contains(t, res[1], "text/html", href)
			require.True(t, strings.HasPrefix(res[2], "inline;"), "%s is shown: %s", href, res[2])
			require.Contains(t, res[3], nhDaily.Title, href)
		case "csv":
			require.Contains(t, res[1], "text/csv", href)
			require.True(t, strings.HasPrefix(res[2], "attachment;"), "%s is saved: %s", href, res[2])
			require.NotEmpty(t, strings.TrimSpace(res[3]), href)
		case "pdf":
			require.Contains(t, res[1], "application/pdf", href)
			require.True(t, strings.HasPrefix(res[3], "%PDF"), href)
		default:
			t.Fatalf("a link of unknown format: %s", href)
		}
		if format != "html" {
			require.True(t, eval[bool](t, ctx, fmt.Sprintf(`document.querySelector('a.dl[href=%q]').hasAttribute("download")`, href)), "%s is saved", href)
		} else {
			require.Equal(t, "_blank", eval[string](t, ctx, fmt.Sprintf(`document.querySelector('a.dl[href=%q]').target`, href)), "%s opens beside the map", href)
		}
	}

	// A click on the CSV link saves the file, named by the server.
	downloads := t.TempDir()
	_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`a.dl[data-format="csv"]`))))
	want := filepath.Join(downloads, "sanse-report-daily-南湖区-"+today+".csv")
	waitFor(t, 15*time.Second, "the CSV saved as "+want, func() bool {
		st, err := os.Stat(want)
		return err == nil && st.Size() > 0
	})

	watch.checkOnlyOwnHost(t, in.web)
	watch.checkNoErrors(t)
}
