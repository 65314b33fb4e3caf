package report

import (
	"fmt"
	"html"
	"html/template"
	"strings"
)

// The charts are SVG drawn here, inline in the HTML: they need no browser
// to be made, no script and nothing from the network, and print sharply.

// Colours of the three levels and of the chart's lines, as the map draws
// them.
const (
	colourRed    = "#d9363e"
	colourYellow = "#f5a623"
	colourGreen  = "#2e9d4f"
	colourAxis   = "#888"
	colourText   = "#333"
	fontFamily   = `"Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif`
)

// stackedSegment is one part of a stacked bar.
type stackedSegment struct {
	Value  int
	Colour string
	Label  string
}

// dayChart draws the colours at the end of each day as stacked columns,
// with each column's date below it.
func dayChart(days []Day) template.HTML {
	if len(days) == 0 {
		return ""
	}
	const (
		width, height = 760.0, 240.0
		left, right   = 44.0, 12.0
		top, bottom   = 16.0, 40.0
	)
	max := 0
	for _, d := range days {
		max = maxInt(max, d.Red+d.Yellow+d.Green)
	}
	if max == 0 {
		max = 1
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %g %g" role="img" aria-label="每日三色分布" font-family='%s' font-size="11">`, width, height, fontFamily)
	plotH, plotW := height-top-bottom, width-left-right
	// The axis with a few ticks.
	for _, f := range []float64{0, 0.5, 1} {
		y := top + plotH*(1-f)
		fmt.Fprintf(&b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#ddd"/>`, left, y, width-right, y)
		fmt.Fprintf(&b, `<text x="%g" y="%.1f" text-anchor="end" fill="%s">%d</text>`, left-6, y+4, colourAxis, int(float64(max)*f+0.5))
	}
	step := plotW / float64(len(days))
	barW := step * 0.7
	labelEvery := 1 + len(days)/16
	for i, d := range days {
		x := left + step*float64(i) + (step-barW)/2
		y := top + plotH
		for _, seg := range []stackedSegment{{d.Green, colourGreen, "绿"}, {d.Yellow, colourYellow, "黄"}, {d.Red, colourRed, "红"}} {
			h := plotH * float64(seg.Value) / float64(max)
			y -= h
			if seg.Value > 0 {
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s %d 所</title></rect>`,
					x, y, barW, h, seg.Colour, d.Date.Format("1月2日"), seg.Label, seg.Value)
			}
		}
		if d.Red > 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s">%d</text>`, x+barW/2, y-3, colourRed, d.Red)
		}
		if i%labelEvery == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%g" text-anchor="middle" fill="%s">%s</text>`, x+barW/2, height-bottom+16, colourText, d.Date.Format("1/2"))
		}
	}
	legend(&b, width-right-190, height-10, []stackedSegment{{0, colourRed, "红色"}, {0, colourYellow, "黄色"}, {0, colourGreen, "绿色"}})
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // built from numbers and escaped text only
}

// barRow is one row of a horizontal bar chart.
type barRow struct {
	Label    string
	Segments []stackedSegment
	Note     string // written after the bar
}

// barChart draws rows of horizontal stacked bars scaled to max.
func barChart(name string, rows []barRow, max int) template.HTML {
	if len(rows) == 0 {
		return ""
	}
	const (
		width       = 760.0
		labelW      = 200.0
		rowH, top   = 24.0, 8.0
		noteW       = 90.0
		barMaxWidth = width - labelW - noteW - 16
	)
	if max <= 0 {
		max = 1
	}
	height := top*2 + rowH*float64(len(rows))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %g %g" role="img" aria-label="%s" font-family='%s' font-size="12">`,
		width, height, html.EscapeString(name), fontFamily)
	for i, row := range rows {
		y := top + rowH*float64(i)
		fmt.Fprintf(&b, `<text x="%g" y="%.1f" text-anchor="end" fill="%s">%s</text>`, labelW-8, y+rowH/2+4, colourText, html.EscapeString(clip(row.Label, 16)))
		x := labelW
		for _, seg := range row.Segments {
			w := barMaxWidth * float64(seg.Value) / float64(max)
			if seg.Value > 0 {
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %d</title></rect>`,
					x, y+4, w, rowH-8, seg.Colour, html.EscapeString(seg.Label), seg.Value)
			}
			x += w
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="%s">%s</text>`, x+6, y+rowH/2+4, colourText, html.EscapeString(row.Note))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // built from numbers and escaped text only
}

func legend(b *strings.Builder, x, y float64, items []stackedSegment) {
	for _, it := range items {
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="10" height="10" fill="%s"/><text x="%.1f" y="%.1f" fill="%s">%s</text>`,
			x, y-9, it.Colour, x+14, y, colourText, html.EscapeString(it.Label))
		x += 62
	}
}

// clip shortens s to at most n characters with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
