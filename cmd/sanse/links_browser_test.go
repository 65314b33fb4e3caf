package main

import (
	"context"
	"fmt"
	"net/http"
	neturl "net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
)

// waitJS waits until the expression is true in the page, failing with what
// after d. The page may navigate meanwhile (the sign-in loads the address
// again): an evaluation that fails on that is tried again.
func waitJS(t *testing.T, ctx context.Context, d time.Duration, what, js string) {
	t.Helper()
	deadline := time.Now().Add(d)
	var err error
	for time.Now().Before(deadline) {
		var ok bool
		if ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	detail, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("detail") || {}).innerText || document.body.innerText.slice(0, 500)`))
	t.Fatalf("%s (last error: %v)\nthe page shows: %s", what, err, detail)
}

// detailShows is a condition: the detail panel is open and its text has s.
func detailShows(s string) string {
	return fmt.Sprintf(`(() => { const d = document.getElementById("detail"); return !!d && !d.hidden && d.innerText.includes(%q); })()`, s)
}

// TestBrowserLinks opens the links that notifications carry: /?alert=<id>
// (before signing in: the sign-in keeps the address), /?hazard=<id> and
// /?school=<id> each open what they name; an unknown id says so; a link
// followed from another site, which arrives without the SameSite=Strict
// session cookie, still lands on its target in a browser that is signed in.
func TestBrowserLinks(t *testing.T) {
	chromiumPath(t)
	clickhouseDSN(t)
	artifacts := artifactsDir(t)
	in, broker := startDemoMap(t)
	require.Equal(t, http.StatusOK, in.getJSON("/api/v1/alerts", nil), "GET /api/v1/alerts")
	base := "http://" + in.web

	// An alert at one school, a hazard at another.
	const alertSchool, hazardSchool, plainSchool = "JX-PH-0002", "JX-HN-0003", "JX-JS-0004"
	ctx0, cancel0 := context.WithTimeout(context.Background(), time.Minute)
	defer cancel0()
	require.NoError(t, produce(ctx0, []string{broker}, []kafka.Message{visitorEntry("links-1", alertSchool, "blacklist")}, 0))
	type alertDoc struct {
		ID       string `json:"id"`
		SchoolID string `json:"school_id"`
		Title    string `json:"title"`
	}
	var firing alertDoc
	waitFor(t, 15*time.Second, "an alert for "+alertSchool, func() bool {
		var list struct {
			Alerts []alertDoc `json:"alerts"`
		}
		if in.getJSON("/api/v1/alerts?school="+alertSchool, &list) != http.StatusOK || len(list.Alerts) == 0 {
			return false
		}
		firing = list.Alerts[0]
		return true
	})
	var hz struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	require.Equal(t, http.StatusCreated, in.postAPI("/api/v1/hazards", map[string]any{
		"school_id": hazardSchool, "title": "二楼消防通道堵塞", "category": "消防", "level": "medium",
		"responsible": "后勤主任", "deadline": "72h", "by": "区安全科张科长",
	}, &hz))
	var schools struct {
		Features []struct {
			Properties struct {
				SchoolID string `json:"school_id"`
				Name     string `json:"name"`
			} `json:"properties"`
		} `json:"features"`
	}
	require.Equal(t, http.StatusOK, in.getJSON("/api/v1/map", &schools))
	names := map[string]string{}
	for _, f := range schools.Features {
		names[f.Properties.SchoolID] = f.Properties.Name
	}

	ctx := newBrowser(t, 1366, 768)
	watch := watchPage(t, ctx)

	// Not signed in: the link shows the sign-in, and signing in lands on
	// the alert.
	alertURL := base + "/?alert=" + neturl.QueryEscape(firing.ID)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(alertURL),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), in.token),
		chromedp.Click(chromedp.ID("submit")),
	))
	waitJS(t, ctx, 30*time.Second, "the alert's school open after signing in", `window.sanse !== undefined && window.sanse.ready() && `+detailShows(names[alertSchool]))
	waitJS(t, ctx, 10*time.Second, "the alert shown on top of the detail", fmt.Sprintf(
		`(() => { const f = document.querySelector("#detail #d-focus [data-alert=" + JSON.stringify(%q) + "]"); return f !== null && f.innerText.includes(%q); })()`, firing.ID, firing.Title))
	require.Equal(t, alertURL, eval[string](t, ctx, `location.href`), "the address is the link's")
	require.Equal(t, "true", eval[string](t, ctx, `document.getElementById("tab-alerts").getAttribute("aria-selected")`), "the alerts tab is shown")
	require.True(t, eval[bool](t, ctx, fmt.Sprintf(`document.querySelector(".side .alert-item.focused[data-alert=" + JSON.stringify(%q) + "]") !== null`, firing.ID)),
		"the alert is highlighted in the list")
	screenshot(t, ctx, filepath.Join(artifacts, "link-alert.png"))

	// A hazard, with its history.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/?hazard="+neturl.QueryEscape(hz.ID))))
	waitPage(t, ctx)
	waitJS(t, ctx, 10*time.Second, "the hazard's school open", detailShows(names[hazardSchool]))
	waitJS(t, ctx, 10*time.Second, "the hazard on top of the detail", fmt.Sprintf(
		`(() => { const f = document.querySelector("#detail #d-focus"); return f !== null && f.innerText.includes(%q) && f.innerText.includes("登记隐患"); })()`, hz.Title))
	screenshot(t, ctx, filepath.Join(artifacts, "link-hazard.png"))

	// A school: the same view as clicking it.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/?school="+plainSchool)))
	waitPage(t, ctx)
	waitJS(t, ctx, 10*time.Second, "the school open", detailShows(names[plainSchool]))
	require.True(t, eval[bool](t, ctx, `document.querySelector("#detail #d-chart canvas") !== null && document.getElementById("d-focus") === null`))
	require.Equal(t, "d-name", eval[string](t, ctx, `document.activeElement.id`), "the focus is on the detail")

	// Ids that do not exist: a sentence, not an empty page. (Seven pages
	// in one tab: a page left behind must not keep its stream open, or the
	// browser runs out of connections to the server.)
	watch.expectStatus(404, "/api/v1/alerts/alert:nope", "/api/v1/hazards/HZ-NOPE")
	for _, tc := range []struct{ query, want string }{
		{"school=JX-NOPE-9999", "找不到编号为“JX-NOPE-9999”的学校"},
		{"alert=alert:nope", "找不到编号为“alert:nope”的告警"},
		{"hazard=HZ-NOPE", "找不到编号为“HZ-NOPE”的隐患"},
	} {
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/?"+tc.query)))
		waitPage(t, ctx)
		waitJS(t, ctx, 10*time.Second, tc.query+" says it is not found", detailShows(tc.want))
		require.Equal(t, base+"/?"+strings.ReplaceAll(tc.query, ":", "%3A"), eval[string](t, ctx, `location.href`), "the address keeps what it asked for")
		require.Equal(t, 400, eval[int](t, ctx, `window.sanse.stats.schools`), "the map is drawn all the same")
	}
	screenshot(t, ctx, filepath.Join(artifacts, "link-unknown.png"))

	// From another site (a page of a mail client): the session cookie stays
	// behind, the sign-in page finds the session and loads the address again.
	target := base + "/?school=" + plainSchool
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`sessionStorage.clear()`),
		chromedp.Navigate("data:text/html;charset=utf-8,"+neturl.PathEscape(`<a id="go" href="`+target+`">告警通知</a>`)),
		chromedp.WaitVisible(chromedp.ID("go")),
		chromedp.Click(chromedp.ID("go")),
	))
	waitJS(t, ctx, 30*time.Second, "the school open after following the link from another site",
		`window.sanse !== undefined && window.sanse.ready() && `+detailShows(names[plainSchool]))
	require.Equal(t, target, eval[string](t, ctx, `location.href`))
	require.True(t, eval[bool](t, ctx, `sessionStorage.getItem("sanse.signin.again") !== null`),
		"the link arrived without the session cookie and the sign-in page found the session")

	watch.checkOnlyOwnHost(t, in.web)
	watch.checkNoErrors(t)
}
