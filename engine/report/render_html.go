package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net/url"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

//go:embed report.html.tmpl
var htmlTemplate string

// HTML shows at most this many rows of a long table; the CSV has them all.
const (
	maxFlaggedRows = 50
	maxChangeRows  = 100
	maxSchoolRows  = 30
)

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"duration": func(d time.Duration) string {
		if d == 0 {
			return "—"
		}
		return DurationText(d)
	},
	"durations": func(d Durations) string {
		if d.N == 0 {
			return "—"
		}
		return DurationText(d.Median) + " / " + DurationText(d.Worst)
	},
	"level":    levelName,
	"severity": severityName,
	"step":     StepText,
	"hazardStatus": func(s any) string {
		return hazardStatusName(fmt.Sprint(s))
	},
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.Format("2006-01-02 15:04")
	},
	"date":    func(t time.Time) string { return t.Format("1月2日") },
	"percent": percentText,
	"pct":     func(r RoutineRow) string { return fmt.Sprintf("%.1f%%", r.Percent()) },
	"falseRate": func(c CheckRow) string {
		if v := c.FalseRate(); v >= 0 {
			return fmt.Sprintf("%.1f%%", v)
		}
		return "—"
	},
	"levelClass": func(l engine.Level) string { return string(l) },
	"schoolURL":  SchoolURL,
	"hazardURL":  HazardURL,
	"first": func(n int, xs any) any {
		switch v := xs.(type) {
		case []SchoolPeriod:
			return v[:min(n, len(v))]
		case []Change:
			return v[:min(n, len(v))]
		case []AlertGroup:
			return v[:min(n, len(v))]
		}
		return xs
	},
}).Parse(htmlTemplate))

// htmlView is what the template reads: the report and what is drawn from
// it.
type htmlView struct {
	*Report
	Base                                  string
	DayChart, SourceChart, RoutineChart   template.HTML
	Trend                                 []trendRow
	MaxFlagged, MaxChanges, MaxSchoolRows int
}

// trendRow is one figure of this period and the previous one.
type trendRow struct {
	Name, Now, Before, Arrow string
}

// RenderHTML writes the report as one HTML page that needs nothing else:
// styles inline, charts as inline SVG, printable on A4. base is the map's
// external address for the links to schools and hazards ("" keeps them
// relative).
func RenderHTML(r *Report, base string) ([]byte, error) {
	v := htmlView{Report: r, Base: base, DayChart: dayChart(r.Days),
		MaxFlagged: maxFlaggedRows, MaxChanges: maxChangeRows, MaxSchoolRows: maxSchoolRows}
	maxSource := 0
	var rows []barRow
	for _, s := range r.Sources {
		maxSource = maxInt(maxSource, s.Total)
		rows = append(rows, barRow{Label: s.Name, Note: fmt.Sprintf("%d", s.Total), Segments: []stackedSegment{
			{s.High, colourRed, "高"}, {s.Medium, colourYellow, "中"}, {s.Low, "#7fb3d5", "低"}}})
	}
	v.SourceChart = barChart("风险（按来源）", rows, maxSource)
	// Each routine's bar is its own 100 %, in tenths of a percent.
	rows = nil
	for _, x := range r.Routines {
		done := int(x.Percent()*10 + 0.5)
		rows = append(rows, barRow{Label: x.Title, Note: fmt.Sprintf("%.1f%%", x.Percent()), Segments: []stackedSegment{
			{done, colourGreen, "按时完成（‰）"}, {1000 - done, "#f2c4c6", "未按时（‰）"}}})
	}
	v.RoutineChart = barChart("日常检查按时完成", rows, 1000)
	if r.Totals != nil {
		for _, m := range trendMeasures {
			row := trendRow{Name: m.name, Now: m.value(r.Totals)}
			if r.Previous != nil {
				row.Before = m.value(r.Previous)
				row.Arrow = arrow(row.Now, row.Before)
			}
			v.Trend = append(v.Trend, row)
		}
	}
	var buf bytes.Buffer
	if err := reportTemplate.Execute(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// arrow compares two figures written by trendMeasures.
func arrow(now, before string) string {
	var a, b float64
	if _, err := fmt.Sscan(now, &a); err != nil {
		return ""
	}
	if _, err := fmt.Sscan(before, &b); err != nil {
		return ""
	}
	switch {
	case a > b:
		return "↑"
	case a < b:
		return "↓"
	}
	return "→"
}

// SchoolURL is the link to a school on the map.
func SchoolURL(base, id string) string { return base + "/?school=" + url.QueryEscape(id) }

// HazardURL is the link to a hazard on the map.
func HazardURL(base, id string) string { return base + "/?hazard=" + url.QueryEscape(id) }
