package main

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/api/web"
	"github.com/sanse-campus/sanse/engine/registry"
)

// TestBrowserOutlinesOfTheRegistrysCities loads the map of a registry of
// schools in 杭州市临平区 and 丽水市龙泉市, with no map.boundaries_file: the page
// draws the county outlines of 杭州市 and 丽水市 and no other, each school
// inside the outline that holds its district (余杭区 for 临平区, which the
// embedded outlines predate), and the server warns of no school outside its
// outline.
func TestBrowserOutlinesOfTheRegistrysCities(t *testing.T) {
	chromiumPath(t)
	clickhouseDSN(t)
	artifacts := artifactsDir(t)
	path, err := filepath.Abs("../../testdata/registry/linping-longquan.csv")
	require.NoError(t, err)
	reg, err := registry.Load(path)
	require.NoError(t, err)
	in, _ := startMapServer(t, "", path)

	ctx := newBrowser(t, 1366, 768)
	in.signIn(t, ctx)
	watch := watchPage(t, ctx)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("http://"+in.web+"/")))
	waitPage(t, ctx)
	screenshot(t, ctx, filepath.Join(artifacts, "outlines-linping-longquan.png"))

	// The regions ECharts drew: the counties of the two cities.
	const geo = `echarts.getInstanceByDom(document.getElementById("map")).getModel().getComponent("geo", 0).coordinateSystem`
	var want []string
	for _, c := range web.Cities() {
		if c.Name == "杭州市" || c.Name == "丽水市" {
			want = append(want, c.Counties...)
		}
	}
	require.ElementsMatch(t, want, eval[[]string](t, ctx, geo+`.regions.map((r) => r.name)`))

	// Every school is drawn, on the map's canvas, inside the region that
	// holds its district, both at its coordinates and at the pixel its
	// point is painted on.
	drawn := eval[map[string]drawnPoint](t, ctx, `window.sanse.drawn()`)
	require.Len(t, drawn, reg.Len())
	holds := map[string][]string{"临平区": {"余杭区"}, "龙泉市": {"龙泉市"}}
	for _, s := range reg.Schools() {
		require.Contains(t, drawn, s.ID)
		at := eval[map[string]string](t, ctx, fmt.Sprintf(`(() => {
			const chart = echarts.getInstanceByDom(document.getElementById("map"));
			const geo = chart.getModel().getComponent("geo", 0).coordinateSystem;
			const name = (coord) => { const r = geo.getRegionByCoord(coord); return r ? r.name : ""; };
			const p = window.sanse.pixelOf(%q);
			const box = document.getElementById("map").getBoundingClientRect();
			const inside = p.x >= box.left && p.x <= box.right && p.y >= box.top && p.y <= box.bottom;
			return {
				coord: name([%g, %g]),
				pixel: name(chart.convertFromPixel({ geoIndex: 0 }, [p.x - box.left, p.y - box.top])),
				canvas: String(inside),
			};
		})()`, s.ID, s.Longitude, s.Latitude))
		require.Equal(t, "true", at["canvas"], "%s is painted on the map's canvas", s.ID)
		require.Contains(t, holds[s.District], at["coord"], "%s (%s) at [%g, %g]", s.ID, s.District, s.Longitude, s.Latitude)
		require.Equal(t, at["coord"], at["pixel"], "%s: its point is painted in its region", s.ID)
	}

	require.NotContains(t, in.log.String(), "outside their district's outline")
	require.NotContains(t, in.log.String(), "no embedded county outline")
	watch.checkOnlyOwnHost(t, in.web)
	watch.checkNoErrors(t)
}
