package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strconv"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

// RenderCSV writes every table of the report as CSV, one after another,
// each under a row naming it and separated by an empty row, in UTF-8 with a
// byte-order mark so that Excel opens it as UTF-8. Durations are in
// minutes and percentages plain numbers, so that they can be computed with.
func RenderCSV(r *Report) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	table := func(name string, header []string, rows [][]string) {
		if buf.Len() > 3 {
			_ = w.Write(nil)
		}
		_ = w.Write([]string{"# " + name})
		_ = w.Write(header)
		for _, row := range rows {
			_ = w.Write(row)
		}
	}
	itoa := strconv.Itoa
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(r.Loc).Format(time.DateTime)
	}
	table("报告", []string{"标题", "范围", "开始", "结束", "生成时间", "学校数"}, [][]string{{
		r.Title, r.ScopeName, ts(r.Spec.From), ts(r.Spec.To), ts(r.Generated), itoa(len(r.Schools)),
	}})

	var rows [][]string
	for _, d := range r.Days {
		rows = append(rows, []string{d.Date.Format(time.DateOnly), itoa(d.Red), itoa(d.Yellow), itoa(d.Green), itoa(d.EverRed), itoa(d.EverYellowish)})
	}
	table("每日三色分布", []string{"日期", "日终红色", "日终黄色", "日终绿色", "当日曾为红色", "当日曾为黄色"}, rows)

	rows = nil
	for _, f := range r.Flagged {
		causes := ""
		for i, c := range f.Causes {
			if i > 0 {
				causes += "；"
			}
			causes += fmt.Sprintf("%s（%d次）", c.Title, c.Count)
		}
		rows = append(rows, []string{f.School.ID, f.School.Name, f.School.Town, minutes(f.Red), minutes(f.Yellow), levelName(f.End), causes})
	}
	table("红黄色学校", []string{"学校编号", "学校", "乡镇街道", "红色时长（分钟）", "黄色时长（分钟）", "期末颜色", "主要原因"}, rows)

	rows = nil
	for _, c := range r.Changes {
		rows = append(rows, []string{ts(c.At), c.School.ID, c.School.Name, levelName(c.From), levelName(c.To), c.Cause})
	}
	table("颜色变化", []string{"时间", "学校编号", "学校", "原颜色", "新颜色", "原因"}, rows)

	rows = nil
	for _, s := range r.Sources {
		rows = append(rows, []string{string(s.Source), s.Name, itoa(s.High), itoa(s.Medium), itoa(s.Low), itoa(s.Total)})
	}
	table("风险（按来源）", []string{"来源", "名称", "高", "中", "低", "合计"}, rows)

	rows = nil
	for _, x := range r.Risks {
		rows = append(rows, []string{string(x.Source), x.SourceName, x.Rule, severityName(x.Level), yesNo(x.Pending), x.Title, itoa(x.Opened), itoa(x.Schools)})
	}
	table("风险（按规则）", []string{"来源", "来源名称", "规则", "等级", "待核实", "示例标题", "新增", "涉及学校"}, rows)

	alertRow := func(name string, g AlertGroup) []string {
		return []string{name, itoa(g.Alerts), itoa(g.Red), itoa(g.Ack.N), minutes(g.Ack.Median), minutes(g.Ack.Worst),
			itoa(g.Solve.N), minutes(g.Solve.Median), minutes(g.Solve.Worst), itoa(g.Unack)}
	}
	alertHeader := []string{"", "预警", "红色预警", "已确认", "确认用时中位（分钟）", "确认用时最长（分钟）", "已解除", "解除用时中位（分钟）", "解除用时最长（分钟）", "未确认"}
	rows = [][]string{alertRow("合计", r.Alerts.Total)}
	for _, g := range r.Alerts.ByStep {
		rows = append(rows, alertRow(StepText(g.Step), g))
	}
	h := append([]string{"范围"}, alertHeader[1:]...)
	table("预警处置（按升级层级）", h, rows)
	rows = nil
	for _, g := range r.Alerts.BySchool {
		rows = append(rows, append([]string{g.School.ID}, alertRow(g.School.Name, g)...))
	}
	table("预警处置（按学校）", append([]string{"学校编号", "学校"}, alertHeader[1:]...), rows)

	hz := r.Hazards
	table("隐患", []string{"新增", "销号", "期末未销号", "期末逾期", "期末挂牌督办", "销号用时中位（分钟）", "销号用时最长（分钟）"}, [][]string{{
		itoa(hz.Opened), itoa(hz.Verified), itoa(hz.OpenAtEnd), itoa(hz.OverdueAtEnd), itoa(hz.SupervisedAtEnd),
		minutes(hz.VerifyTime.Median), minutes(hz.VerifyTime.Worst),
	}})
	rows = nil
	for _, o := range hz.Oldest {
		rows = append(rows, []string{o.ID, o.School.ID, o.School.Name, o.Title, hazardStatusName(string(o.Status)), ts(o.Created), ts(o.Deadline), yesNo(o.Overdue), yesNo(o.Supervised)})
	}
	table("最久未销号隐患", []string{"编号", "学校编号", "学校", "隐患", "状态", "登记时间", "整改期限", "逾期", "挂牌督办"}, rows)

	rows = nil
	for _, x := range r.Routines {
		rows = append(rows, []string{x.Rule, x.Title, itoa(x.Due), itoa(x.Done), fmt.Sprintf("%.1f", x.Percent())})
	}
	table("日常检查按时完成", []string{"规则", "检查", "应完成", "按时完成", "完成率（%）"}, rows)

	rows = nil
	for _, c := range r.Checks {
		rate := ""
		if v := c.FalseRate(); v >= 0 {
			rate = fmt.Sprintf("%.1f", v)
		}
		rows = append(rows, []string{c.Rule, itoa(c.Pending), itoa(c.Confirmed), itoa(c.FalseAlarm), rate})
	}
	table("智能识别核实", []string{"规则", "待核实", "确认", "误报", "误报率（%）"}, rows)

	if r.Totals != nil {
		rows = nil
		for _, m := range trendMeasures {
			prev := ""
			if r.Previous != nil {
				prev = m.value(r.Previous)
			}
			rows = append(rows, []string{m.name, m.value(r.Totals), prev})
		}
		table("与上一周期比较", []string{"指标", "本期", "上期"}, rows)
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// minutes writes d in whole minutes, rounded.
func minutes(d time.Duration) string { return strconv.Itoa(int(d.Round(time.Minute) / time.Minute)) }

func yesNo(b bool) string {
	if b {
		return "是"
	}
	return "否"
}

func levelName(l engine.Level) string {
	switch l {
	case engine.LevelRed:
		return "红"
	case engine.LevelYellow:
		return "黄"
	}
	return "绿"
}

func severityName(s engine.Severity) string {
	switch s {
	case engine.SeverityHigh:
		return "高"
	case engine.SeverityMedium:
		return "中"
	}
	return "低"
}

// StepText names an escalation step as reports do.
func StepText(step int) string {
	switch step {
	case 0:
		return "学校"
	case 1:
		return "乡镇（中心校）"
	case 2:
		return "区县教育局"
	case 3:
		return "市教育局"
	}
	return fmt.Sprintf("第%d级", step)
}

func hazardStatusName(s string) string {
	switch s {
	case "open":
		return "待整改"
	case "rectifying":
		return "整改中"
	case "submitted":
		return "待验收"
	case "verified":
		return "已销号"
	}
	return s
}

// trendMeasure is one figure compared with the previous period.
type trendMeasure struct {
	name  string
	value func(*Totals) string
}

var trendMeasures = []trendMeasure{
	{"红色校·日", func(t *Totals) string { return fmt.Sprintf("%.1f", t.RedDays) }},
	{"黄色校·日", func(t *Totals) string { return fmt.Sprintf("%.1f", t.YellowDays) }},
	{"曾为红色的学校", func(t *Totals) string { return strconv.Itoa(t.EverRed) }},
	{"曾为黄色的学校", func(t *Totals) string { return strconv.Itoa(t.EverYellow) }},
	{"新增风险", func(t *Totals) string { return strconv.Itoa(t.Risks) }},
	{"预警", func(t *Totals) string { return strconv.Itoa(t.Alerts) }},
	{"新增隐患", func(t *Totals) string { return strconv.Itoa(t.HazardsOpened) }},
	{"隐患销号", func(t *Totals) string { return strconv.Itoa(t.HazardsVerified) }},
	{"日常检查按时完成率（%）", func(t *Totals) string {
		if t.RoutineDue == 0 {
			return ""
		}
		return fmt.Sprintf("%.1f", 100*float64(t.RoutineOK)/float64(t.RoutineDue))
	}},
}
