package report

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/rules"
)

// Options configure a Builder.
type Options struct {
	// History is the store the reports read (*store.Store).
	History History
	// Registry returns the current school registry.
	Registry func() *engine.Registry
	// Rules returns the current rule set, whose absence checks give the
	// routines' compliance and whose contract names the sources; nil, or a
	// nil set, leaves compliance out.
	Rules func() *rules.Set
	// Location is the reports' time zone; nil is Asia/Shanghai.
	Location *time.Location
	// BaseURL is the map's external address (https://sanse.example.edu.cn),
	// for the links of a report; empty leaves links relative.
	BaseURL string
	// PDF renders HTML to PDF; nil makes reports without PDF.
	PDF PDFRenderer
	// Now is the clock; nil is time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Builder makes reports from the history: it implements Generator.
type Builder struct{ opts Options }

// New returns a Builder.
func New(opts Options) *Builder {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Builder{opts: opts}
}

// Generate implements Generator: it builds the report and renders it as
// HTML, CSV and, with a renderer, PDF. A failing PDF renderer is logged and
// leaves the PDF out rather than failing the report.
func (b *Builder) Generate(ctx context.Context, spec Spec) (*Output, error) {
	r, err := b.Build(ctx, spec)
	if err != nil {
		return nil, err
	}
	out := &Output{Spec: r.Spec, Title: r.Title, Generated: r.Generated, Summary: r.Summary}
	if out.HTML, err = RenderHTML(r, b.opts.BaseURL); err != nil {
		return nil, fmt.Errorf("render %s: %w", r.Title, err)
	}
	if out.CSV, err = RenderCSV(r); err != nil {
		return nil, fmt.Errorf("render %s as CSV: %w", r.Title, err)
	}
	if b.opts.PDF != nil {
		pdf, err := b.opts.PDF.PDF(ctx, out.HTML)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			b.opts.Logger.Warn("report made without PDF: the PDF renderer failed", "report", r.Title, "err", err)
		} else {
			out.PDF = pdf
		}
	}
	return out, nil
}

func (b *Builder) loc() *time.Location {
	if b.opts.Location != nil {
		return b.opts.Location
	}
	return engine.Shanghai
}

func (b *Builder) now() time.Time {
	if b.opts.Now != nil {
		return b.opts.Now()
	}
	return time.Now()
}

func (b *Builder) rules() *rules.Set {
	if b.opts.Rules == nil {
		return nil
	}
	return b.opts.Rules()
}

// kindNames name the reports of each kind.
var kindNames = map[Kind]string{KindDaily: "日报", KindWeekly: "周报", KindMonthly: "月报", KindCustom: "报告"}

// title is the report's title, e.g. 南湖区校园安全日报（2026年12月3日）.
func title(r *Report) string {
	return r.ScopeName + "校园安全" + kindNames[r.Spec.Kind] + "（" + periodText(r.Spec.From, r.Spec.To) + "）"
}

// periodText names [from, to) in Chinese: one day, or its first and last
// day.
func periodText(from, to time.Time) string {
	last := to.Add(-time.Nanosecond)
	const layout = "2006年1月2日"
	if from.Format(time.DateOnly) == last.Format(time.DateOnly) {
		return from.Format(layout)
	}
	return from.Format(layout) + "—" + last.Format(layout)
}

// summary is the few figures a chat message carries.
func (r *Report) summary() Summary {
	s := Summary{Schools: len(r.Schools), Alerts: r.Alerts.Total.Alerts, HazardsOpened: r.Hazards.Opened,
		HazardsOverdue: r.Hazards.OverdueAtEnd, EverRed: r.Totals.EverRed, EverYellow: r.Totals.EverYellow,
		Risks: r.Totals.Risks}
	if n := len(r.Days); n > 0 {
		last := r.Days[n-1]
		s.Red, s.Yellow, s.Green = last.Red, last.Yellow, last.Green
	}
	s.Lines = append(s.Lines, fmt.Sprintf("学校 %d 所：期末红色 %d 所、黄色 %d 所、绿色 %d 所；期间曾为红色 %d 所、黄色 %d 所。",
		s.Schools, s.Red, s.Yellow, s.Green, s.EverRed, s.EverYellow))
	if len(r.Flagged) > 0 && r.Flagged[0].Red > 0 {
		f := r.Flagged[0]
		line := fmt.Sprintf("红色时间最长：%s（%s）", f.School.Name, DurationText(f.Red))
		if len(f.Causes) > 0 {
			line += "，主要原因：" + f.Causes[0].Title
		}
		s.Lines = append(s.Lines, line+"。")
	}
	a := r.Alerts.Total
	if a.Alerts > 0 {
		line := fmt.Sprintf("预警 %d 条", a.Alerts)
		if a.Ack.N > 0 {
			line += fmt.Sprintf("，确认用时中位 %s、最长 %s", DurationText(a.Ack.Median), DurationText(a.Ack.Worst))
		}
		if a.Unack > 0 {
			line += fmt.Sprintf("，%d 条尚未确认", a.Unack)
		}
		s.Lines = append(s.Lines, line+"。")
	}
	hz := r.Hazards
	if hz.Opened+hz.OpenAtEnd > 0 {
		line := fmt.Sprintf("隐患新增 %d 项、销号 %d 项，期末未销号 %d 项（逾期 %d 项、挂牌督办 %d 项）",
			hz.Opened, hz.Verified, hz.OpenAtEnd, hz.OverdueAtEnd, hz.SupervisedAtEnd)
		if len(hz.Oldest) > 0 {
			o := hz.Oldest[0]
			line += fmt.Sprintf("；最久未销号：%s「%s」（%s登记）", o.School.Name, o.Title, o.Created.Format("1月2日"))
		}
		s.Lines = append(s.Lines, line+"。")
	}
	if r.Totals.RoutineDue > 0 {
		s.Lines = append(s.Lines, fmt.Sprintf("日常检查按时完成率 %s。", percentText(r.Totals.RoutineOK, r.Totals.RoutineDue)))
	}
	return s
}

// DurationText writes d for people: 3天4小时, 5小时20分, 12分钟, 40秒.
func DurationText(d time.Duration) string {
	d = d.Round(time.Second)
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	var b strings.Builder
	switch {
	case days > 0:
		fmt.Fprintf(&b, "%d天", days)
		if hours > 0 {
			fmt.Fprintf(&b, "%d小时", hours)
		}
	case hours > 0:
		fmt.Fprintf(&b, "%d小时", hours)
		if mins > 0 {
			fmt.Fprintf(&b, "%d分", mins)
		}
	case mins > 0:
		fmt.Fprintf(&b, "%d分钟", mins)
	default:
		fmt.Fprintf(&b, "%d秒", int(d/time.Second))
	}
	return b.String()
}

// percentText writes n of total as a percentage with one decimal.
func percentText(n, total int) string {
	if total == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(total))
}

// Compliance returns the compliance of the inspection routines at the
// schools on the local day that holds now, counting the deadlines passed by
// now: what the dashboard shows as today's. It is empty without rules.
func (b *Builder) Compliance(ctx context.Context, schools []*engine.School, now time.Time) ([]RoutineRow, error) {
	set := b.rules()
	if set == nil || len(schools) == 0 {
		return nil, nil
	}
	loc := b.loc()
	from, _ := Period(KindDaily, now, loc)
	r := &Report{Loc: loc, Schools: schools, Until: now.In(loc)}
	r.Spec.From, r.Spec.To = from, nextDay(from, loc)
	ids := make([]string, len(schools))
	byID := make(map[string]*engine.School, len(schools))
	for i, s := range schools {
		ids[i], byID[s.ID] = s.ID, s
	}
	if err := r.routines(ctx, b.opts.History, ids, byID, set); err != nil {
		return nil, err
	}
	return r.Routines, nil
}
