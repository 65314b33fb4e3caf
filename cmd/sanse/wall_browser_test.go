package main

import (
	"bytes"
	"context"
	"image/png"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
)

// meanLuminance returns the mean relative luminance (0 black … 1 white) of
// a screenshot.
func meanLuminance(t *testing.T, shot []byte) float64 {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	require.NoError(t, err)
	b := img.Bounds()
	var sum float64
	var n int
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			r, g, bl, _ := img.At(x, y).RGBA()
			sum += (0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(bl)) / 65535
			n++
		}
	}
	return sum / float64(n)
}

// TestBrowserWall: the wall screen (大屏) at 1920×1080 — dark, the map and
// the six panels side by side without scrolling, large text, no filters or
// controls; a school turning red shows on the map and in the panels by
// itself; the 大屏 button enters it and puts it in the address, Escape
// leaves it.
func TestBrowserWall(t *testing.T) {
	chromiumPath(t)
	clickhouseDSN(t)
	artifacts := artifactsDir(t)
	in, broker := startDemoMap(t)
	base := "http://" + in.web
	require.Equal(t, http.StatusOK, in.getJSON("/api/v1/alerts", nil), "GET /api/v1/alerts")
	ctx0, cancel0 := context.WithTimeout(context.Background(), time.Minute)
	defer cancel0()
	require.NoError(t, produce(ctx0, []string{broker}, []kafka.Message{
		visitorEntry("wall-1", "JX-NH-0001", "blacklist"),
		visitorEntry("wall-2", "JX-JS-0002", "watch"),
	}, 0))
	waitFor(t, 15*time.Second, "the first incidents", func() bool {
		l := mapLevels(t, in)
		return l["JX-NH-0001"] == "red" && l["JX-JS-0002"] == "yellow"
	})

	ctx := newBrowser(t, 1920, 1080)
	in.signIn(t, ctx)
	watch := watchPage(t, ctx)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/?view=wall")))
	waitPage(t, ctx)
	waitDashboardAgrees(t, ctx, in, "the wall's panels", nil)

	type box struct{ X, Y, W, H float64 }
	layout := eval[struct {
		Wall       bool
		Background string
		ScrollW    float64
		ScrollH    float64
		InnerW     float64
		InnerH     float64
		Map        box
		Cards      []box
		Canvases   int
		Hidden     []bool // the side panel, the time travel, the zoom buttons, the dashboard's 7/30 switch
		CountFont  float64
		TitleFont  float64
		Clock      string
	}](t, ctx, `(() => {
		const r = (el) => { const b = el.getBoundingClientRect(); return {X: b.x, Y: b.y, W: b.width, H: b.height}; };
		const hidden = (sel) => getComputedStyle(document.querySelector(sel)).display === "none";
		return {
			Wall: document.body.classList.contains("wall"),
			Background: getComputedStyle(document.body).backgroundColor,
			ScrollW: document.documentElement.scrollWidth, ScrollH: document.documentElement.scrollHeight,
			InnerW: innerWidth, InnerH: innerHeight,
			Map: r(document.getElementById("map")),
			Cards: [...document.querySelectorAll("#dash .card")].map(r),
			Canvases: document.querySelectorAll("#dash canvas").length,
			Hidden: [hidden("#side"), hidden("#tt"), hidden(".mapctl"), hidden("#dash-days")],
			CountFont: parseFloat(getComputedStyle(document.querySelector(".count b")).fontSize),
			TitleFont: parseFloat(getComputedStyle(document.querySelector(".top h1")).fontSize),
			Clock: document.getElementById("clock").textContent,
		};
	})()`)
	require.True(t, layout.Wall)
	require.Equal(t, "rgb(11, 22, 34)", layout.Background, "a dark ground")
	require.LessOrEqual(t, layout.ScrollW, layout.InnerW, "no horizontal scrolling")
	require.LessOrEqual(t, layout.ScrollH, layout.InnerH, "no vertical scrolling: everything on the screen")
	require.Greater(t, layout.Map.W, 0.5*layout.InnerW, "the map takes more than half the width")
	require.Greater(t, layout.Map.H, 0.8*layout.InnerH)
	require.Len(t, layout.Cards, 6, "six panels")
	for i, c := range layout.Cards {
		require.Greater(t, c.W, 250.0, "panel %d", i)
		require.Greater(t, c.H, 200.0, "panel %d", i)
		require.GreaterOrEqual(t, c.X, layout.Map.X+layout.Map.W, "panel %d beside the map", i)
		require.LessOrEqual(t, c.X+c.W, layout.InnerW+0.5, "panel %d on the screen", i)
		require.LessOrEqual(t, c.Y+c.H, layout.InnerH+0.5, "panel %d on the screen", i)
	}
	require.GreaterOrEqual(t, layout.Canvases, 4, "the panels' charts are drawn: colours, sources, towns, ages")
	panels := eval[dashboardShown](t, ctx, `window.sanse.dashboard()`)
	require.True(t, panels.Compliance != nil || panels.ComplianceNote == "暂无数据", "the compliance panel has its chart or says 暂无数据")
	require.Equal(t, []bool{true, true, true, true}, layout.Hidden, "no filters, time travel, zoom buttons or switches")
	require.GreaterOrEqual(t, layout.CountFont, 28.0, "the counts read from a distance")
	require.GreaterOrEqual(t, layout.TitleFont, 28.0)
	require.NotEmpty(t, layout.Clock)
	shot := screenshot(t, ctx, filepath.Join(artifacts, "wall.png"))
	require.Less(t, meanLuminance(t, shot), 0.3, "the screen is dark")
	at := eval[point](t, ctx, `window.sanse.pixelOf("JX-NH-0001")`)
	require.True(t, isRed(t, shot, at.X, at.Y), "the red school is painted red on the dark map")

	// Live, by itself: a school turns red on the map and in the panels.
	before := eval[dashboardShown](t, ctx, `window.sanse.dashboard()`).Alerts.Count
	require.NoError(t, produce(ctx0, []string{broker}, []kafka.Message{visitorEntry("wall-3", "JX-XZ-0003", "blacklist")}, 0))
	waitJS(t, ctx, 10*time.Second, "JX-XZ-0003 red on the wall", `window.sanse.levelOf("JX-XZ-0003") === "red"`)
	require.Contains(t, eval[string](t, ctx, `document.getElementById("redbar").innerText`), "嘉兴市秀洲区")
	waitDashboardAgrees(t, ctx, in, "the wall's panels after the change", func(d dashboardShown) bool { return d.Alerts.Count > before })

	// The button enters it (and the address says so); Escape leaves it.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/")))
	waitPage(t, ctx)
	require.False(t, eval[bool](t, ctx, `document.body.classList.contains("wall")`))
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("wall-toggle"))))
	waitJS(t, ctx, 5*time.Second, "the wall screen", `document.body.classList.contains("wall") && new URLSearchParams(location.search).get("view") === "wall"`)
	require.NoError(t, chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.fullscreenElement && document.exitFullscreen()`)))
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, chromedp.Do(ctx, chromedp.KeyEvent("\x1b")))
	waitJS(t, ctx, 5*time.Second, "back to the map page", `!document.body.classList.contains("wall") && !location.search.includes("view=")`)
	require.NotEqual(t, "rgb(11, 22, 34)", eval[string](t, ctx, `getComputedStyle(document.body).backgroundColor`), "light again")

	watch.checkOnlyOwnHost(t, in.web)
	watch.checkNoErrors(t)
}
