package main

import (
	"context"
	"fmt"
	neturl "net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
)

// pageView is what the page shows, as the address should restore it.
type pageView struct {
	District string   `json:"district"`
	Town     string   `json:"town"`
	Stage    string   `json:"stage"`
	Source   string   `json:"source"`
	Query    string   `json:"q"`
	Levels   []bool   `json:"levels"`
	Tab      string   `json:"tab"`
	Detail   string   `json:"detail"` // the detail's heading, "" when closed
	Past     bool     `json:"past"`
	Drawn    []string `json:"drawn"` // the schools on the map
}

const readView = `(() => {
	const v = (id) => document.getElementById(id).value;
	const d = document.getElementById("detail");
	const h = d.hidden ? null : d.querySelector("#d-name");
	return {
		district: v("f-district"), town: v("f-town"), stage: v("f-stage"), source: v("f-source"), q: v("f-q"),
		levels: [...document.querySelectorAll(".count")].map((b) => b.getAttribute("aria-pressed") === "true"),
		tab: document.querySelector('.tabs [aria-selected="true"]').id,
		detail: h ? h.textContent : "",
		past: !document.getElementById("pastbar").hidden,
		drawn: Object.keys(window.sanse.drawn()).sort(),
	};
})()`

// choose picks a value of a filter as a person does, firing its change.
func choose(t *testing.T, ctx context.Context, id, value string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`(() => { const s = document.getElementById(%q); s.value = %q; s.dispatchEvent(new Event("change")); })()`, id, value))))
}

// TestBrowserAddress: the page keeps its view in the address. An address
// copied after choosing filters, a colour, a tab, a school and a moment of
// the past shows the same view in a new tab; Back undoes one choice at a
// time; what the address names and the page does not know is said, not
// ignored in silence.
func TestBrowserAddress(t *testing.T) {
	chromiumPath(t)
	clickhouseDSN(t)
	artifacts := artifactsDir(t)
	in, broker := startDemoMap(t)
	base := "http://" + in.web

	ctx0, cancel0 := context.WithTimeout(context.Background(), time.Minute)
	defer cancel0()
	require.NoError(t, produce(ctx0, []string{broker}, []kafka.Message{
		visitorEntry("address-1", "JX-NH-0001", "blacklist"),
		visitorEntry("address-2", "JX-NH-0002", "watch"),
		visitorEntry("address-3", "JX-XZ-0001", "blacklist"),
	}, 0))
	waitFor(t, 15*time.Second, "the incidents on the map", func() bool {
		l := mapLevels(t, in)
		return l["JX-NH-0001"] == "red" && l["JX-NH-0002"] == "yellow" && l["JX-XZ-0001"] == "red"
	})
	time.Sleep(1100 * time.Millisecond) // the moment of the past below lies after them, in another minute

	ctx := newBrowser(t, 1366, 768)
	in.signIn(t, ctx)
	watch := watchPage(t, ctx)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/")))
	waitPage(t, ctx)
	start := eval[string](t, ctx, `location.href`)
	require.Equal(t, base+"/", start, "nothing chosen, nothing in the address")

	// Choose, one step at a time: a district, a source, hide green, the
	// alerts tab, a school.
	choose(t, ctx, "f-district", "南湖区")
	choose(t, ctx, "f-source", "visitor")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.count.green`))))
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("tab-alerts"))))
	require.NoError(t, chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.sanse.open("JX-NH-0001")`)))
	waitJS(t, ctx, 10*time.Second, "the school open", detailShows("JX-NH-0001"))
	chosen := eval[pageView](t, ctx, readView)
	require.Equal(t, []string{"JX-NH-0001", "JX-NH-0002"}, chosen.Drawn, "南湖区's schools with a visitor risk, green hidden")
	copied := eval[string](t, ctx, `location.href`)
	u, err := neturl.Parse(copied)
	require.NoError(t, err)
	require.Equal(t, neturl.Values{"school": {"JX-NH-0001"}, "district": {"南湖区"}, "source": {"visitor"},
		"levels": {"red,yellow"}, "tab": {"alerts"}}, u.Query())

	// The copied address in a new tab: the same view.
	tab2, cancelTab := chromedp.NewContext(ctx)
	defer cancelTab()
	watch2 := watchPage(t, tab2)
	require.NoError(t, chromedp.Do(tab2, chromedp.Navigate(copied)))
	waitPage(t, tab2)
	waitJS(t, tab2, 10*time.Second, "the school open in the new tab", detailShows("JX-NH-0001"))
	require.Equal(t, chosen, eval[pageView](t, tab2, readView))
	require.Equal(t, copied, eval[string](t, tab2, `location.href`), "the address stays as it was copied")
	screenshot(t, tab2, filepath.Join(artifacts, "address-restored.png"))
	cancelTab()

	// Back: the school closes; back again: the tab; again: green shown.
	back := func(what string, check func(v pageView) bool) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, chromedp.NavigateBack()))
		var v pageView
		waitFor(t, 10*time.Second, what, func() bool {
			v = eval[pageView](t, ctx, readView)
			return check(v)
		})
	}
	back("Back closes the school", func(v pageView) bool { return v.Detail == "" && v.Tab == "tab-alerts" && v.Source == "visitor" })
	require.Equal(t, 1, eval[int](t, ctx, `performance.getEntriesByType("navigation").length`), "Back does not reload the page")
	back("Back shows green again", func(v pageView) bool { return v.Levels[2] && v.Source == "visitor" && v.Detail == "" })
	back("Back drops the source filter", func(v pageView) bool { return v.Source == "" && v.District == "南湖区" })
	require.NoError(t, chromedp.Do(ctx, chromedp.NavigateForward()))
	waitFor(t, 10*time.Second, "Forward brings the source filter back", func() bool {
		return eval[pageView](t, ctx, readView).Source == "visitor"
	})

	// A moment of the past and a search, restored from the address.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/")))
	waitPage(t, ctx)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("tt-at"), time.Now().In(shanghaiZone(t)).Format("2006-01-02T15:04")),
		chromedp.Click(chromedp.CSS(`#tt button[type="submit"]`)),
	))
	waitJS(t, ctx, 10*time.Second, "the past shown", `!document.getElementById("pastbar").hidden`)
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("f-q"), "秀洲区")))
	waitJS(t, ctx, 10*time.Second, "the search in the address", `new URLSearchParams(location.search).get("q") === "秀洲区"`)
	past := eval[pageView](t, ctx, readView)
	require.True(t, past.Past)
	require.Contains(t, past.Drawn, "JX-XZ-0001")
	copied = eval[string](t, ctx, `location.href`)
	require.Contains(t, copied, "at=")
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/")))
	waitPage(t, ctx)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(copied)))
	waitPage(t, ctx)
	require.Equal(t, past, eval[pageView](t, ctx, readView))

	// What the page does not know is said.
	watch.expectStatus(400, "/api/v1/map")
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/?district="+neturl.QueryEscape("火星区")+"&source=ufo&at=yesterday")))
	waitPage(t, ctx)
	note := eval[string](t, ctx, `document.getElementById("addrnote").hidden ? "" : document.getElementById("addrnote").innerText`)
	require.Contains(t, note, "地址中的区县“火星区”不存在，已忽略。")
	require.Contains(t, note, "地址中的风险来源“ufo”不存在，已忽略。")
	require.Contains(t, note, "地址中的时间“yesterday”无法查看")
	require.Len(t, eval[map[string]drawnPoint](t, ctx, `window.sanse.drawn()`), 400, "the whole live map")
	require.False(t, eval[bool](t, ctx, `document.body.classList.contains("past")`))
	screenshot(t, ctx, filepath.Join(artifacts, "address-unknown.png"))

	watch.checkOnlyOwnHost(t, in.web)
	watch.checkNoErrors(t)
	watch2.checkNoErrors(t)
}

func shanghaiZone(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	return loc
}
