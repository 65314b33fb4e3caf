package notify

import (
	"bytes"
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/words"
)

const timeLayout = "2006-01-02 15:04:05"

// Redacted replaces the value of a detail that the receiver must not see.
const Redacted = "（已隐去）"

// document is the people-facing content of a message, built once and
// written as markdown (DingTalk, WeCom), plain text and HTML (email).
type document struct {
	Title string
	Lead  []field
	// Notes are sentences after the lead (a report's summary lines).
	Notes []string
	Items []itemDoc
	URL   string // "" when the message has none or it is not http(s)
	// LinkLabel names the link; 查看地图 when empty.
	LinkLabel string
	ID        string
}

// LinkText returns what the link is called.
func (d *document) LinkText() string {
	if d.LinkLabel != "" {
		return d.LinkLabel
	}
	return "查看地图"
}

type field struct{ Label, Value string }

type itemDoc struct {
	Level   engine.Level
	Word    string // the colour's word, e.g. "红色"
	Heading string // title and status, e.g. "禁入名单人员进入校园（已确认）"
	Fields  []field
}

func levelWord(l engine.Level) string {
	if l == "" {
		return "未知颜色"
	}
	return words.Level(l, words.Chinese)
}

// title returns the subject line: the kind in 【】 and the school.
func title(m *Message) string {
	var prefix string
	switch m.Kind {
	case KindFiring:
		prefix = "【" + levelWord(m.Level) + "预警】"
	case KindRepeat:
		prefix = "【未确认·再次提醒】"
	case KindEscalation:
		prefix = "【升级·" + m.stepName() + "】"
	case KindResolved:
		prefix = "【已解除】"
	case KindSupervision:
		prefix = "【挂牌督办】"
	default:
		prefix = "【预警通知】"
	}
	school := m.SchoolName
	if school == "" {
		school = m.SchoolID
	}
	if m.District != "" && !strings.Contains(school, m.District) {
		school = m.District + school
	}
	return oneLine(prefix + school)
}

func kindNote(m *Message) string {
	switch m.Kind {
	case KindFiring:
		return "新预警"
	case KindRepeat:
		return "仍未确认，再次提醒"
	case KindEscalation:
		return "超时未确认，已升级至" + m.stepName()
	case KindResolved:
		return "已解除"
	case KindSupervision:
		return "隐患逾期未整改，挂牌督办"
	}
	return string(m.Kind)
}

func statusNote(status string) string {
	switch status {
	case StatusAcknowledged:
		return "（已确认）"
	case StatusResolved:
		return "（已解除）"
	}
	return ""
}

func formatTime(t time.Time) string { return t.In(engine.Shanghai).Format(timeLayout) }

// oneLine folds line breaks so that a value cannot start a new line (or a
// new header) of its own.
func oneLine(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s)
	return strings.TrimSpace(s)
}

// safeURL reports whether u can be shown as a link.
func safeURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}

// newDocument builds the content of m, whose details are already redacted.
func newDocument(m *Message) *document {
	if m.Kind == KindReport && m.Report != nil {
		return reportDocument(m)
	}
	d := &document{Title: title(m), ID: m.ID}
	d.Lead = append(d.Lead, field{"当前颜色", levelWord(m.Level)})
	if area := strings.TrimSpace(m.District + " " + m.Town); area != "" {
		d.Lead = append(d.Lead, field{"地区", area})
	}
	d.Lead = append(d.Lead, field{"通知", kindNote(m)})
	if m.Step > 0 {
		d.Lead = append(d.Lead, field{"层级", m.stepName()})
	}
	if !m.At.IsZero() {
		d.Lead = append(d.Lead, field{"时间", formatTime(m.At)})
	}
	for _, it := range m.Items {
		doc := itemDoc{Level: it.Level, Word: levelWord(it.Level), Heading: oneLine(it.Title + statusNote(it.Status))}
		if it.Cause != "" {
			doc.Fields = append(doc.Fields, field{"原因", it.Cause})
		}
		if it.SourceName != "" {
			doc.Fields = append(doc.Fields, field{"来源", it.SourceName})
		} else if it.Source != "" {
			// A message made before items carried the name (in the outbox
			// across an upgrade).
			doc.Fields = append(doc.Fields, field{"来源", event.Builtin().Title(it.Source, false)})
		}
		if !it.StartsAt.IsZero() {
			doc.Fields = append(doc.Fields, field{"开始", formatTime(it.StartsAt)})
		}
		if !it.EndsAt.IsZero() {
			doc.Fields = append(doc.Fields, field{"结束", formatTime(it.EndsAt)})
		}
		for _, det := range it.Details {
			doc.Fields = append(doc.Fields, field{det.Label, det.Value})
		}
		for i := range doc.Fields {
			doc.Fields[i] = field{oneLine(doc.Fields[i].Label), oneLine(doc.Fields[i].Value)}
		}
		d.Items = append(d.Items, doc)
	}
	for i := range d.Lead {
		d.Lead[i].Value = oneLine(d.Lead[i].Value)
	}
	if safeURL(m.URL) {
		d.URL = m.URL
	}
	return d
}

// mdEscaper turns the characters that carry markdown or HTML meaning into
// their full-width forms, so a masked name such as 张** stays as written.
var mdEscaper = strings.NewReplacer(
	"*", "＊", "`", "｀", "[", "［", "]", "］", "<", "＜", ">", "＞", `\`, "＼", "|", "｜",
)

// mdURL makes u safe inside a markdown link target.
func mdURL(u string) string {
	return strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "<", "%3C", ">", "%3E").Replace(u)
}

// markdown writes the document in the markdown that DingTalk and WeCom
// robots accept. When it would exceed limit bytes (0: no limit), trailing
// items are left out and counted.
func (d *document) markdown(limit int) string {
	var head, tail strings.Builder
	fmt.Fprintf(&head, "### %s\n\n", mdEscaper.Replace(d.Title))
	for _, f := range d.Lead {
		v := mdEscaper.Replace(f.Value)
		if f.Label == "当前颜色" {
			v = "**" + v + "**"
		}
		fmt.Fprintf(&head, "- %s：%s\n", mdEscaper.Replace(f.Label), v)
	}
	if len(d.Notes) > 0 {
		for _, n := range d.Notes {
			fmt.Fprintf(&head, "\n%s\n", mdEscaper.Replace(n))
		}
	}
	if d.URL != "" {
		fmt.Fprintf(&tail, "\n%s：[%s](%s)\n", d.LinkText(), mdEscaper.Replace(d.URL), mdURL(d.URL))
	}
	fmt.Fprintf(&tail, "\n%s\n", mdEscaper.Replace(d.Footer()))
	items := make([]string, len(d.Items))
	for i, it := range d.Items {
		var b strings.Builder
		fmt.Fprintf(&b, "\n#### %d. %s · %s\n\n", i+1, it.Word, mdEscaper.Replace(it.Heading))
		for _, f := range it.Fields {
			fmt.Fprintf(&b, "- %s：%s\n", mdEscaper.Replace(f.Label), mdEscaper.Replace(f.Value))
		}
		items[i] = b.String()
	}
	return fit(head.String(), items, tail.String(), limit, func(n int) string {
		return fmt.Sprintf("\n另有 %d 条预警未列出，请查看地图。\n", n)
	})
}

// fit joins head, as many items as fit and tail within limit bytes,
// followed by omitted(n) when n items were left out.
func fit(head string, items []string, tail string, limit int, omitted func(int) string) string {
	var b strings.Builder
	b.WriteString(head)
	for i, it := range items {
		if limit > 0 {
			// Keep room for the note about the items after this one, so
			// that it can still be written if the next does not fit.
			need := len(it)
			if after := len(items) - i - 1; after > 0 {
				need += len(omitted(after))
			}
			if need > limit-b.Len()-len(tail) {
				b.WriteString(omitted(len(items) - i))
				break
			}
		}
		b.WriteString(it)
	}
	b.WriteString(tail)
	s := b.String()
	if limit > 0 && len(s) > limit {
		s = strings.ToValidUTF8(s[:limit], "")
	}
	return s
}

// Footer names the sender, which also gives DingTalk robots secured by a
// keyword one that every message contains, and the notification ID.
func (d *document) Footer() string {
	if d.ID == "" {
		return "三色预警"
	}
	return "三色预警 · 通知编号：" + d.ID
}

// text writes the document as plain text.
func (d *document) text() string {
	var b strings.Builder
	b.WriteString(d.Title + "\n\n")
	for _, f := range d.Lead {
		fmt.Fprintf(&b, "%s：%s\n", f.Label, f.Value)
	}
	if len(d.Notes) > 0 {
		b.WriteString("\n")
		for _, n := range d.Notes {
			b.WriteString(n + "\n")
		}
	}
	for i, it := range d.Items {
		fmt.Fprintf(&b, "\n%d. %s · %s\n", i+1, it.Word, it.Heading)
		for _, f := range it.Fields {
			fmt.Fprintf(&b, "   %s：%s\n", f.Label, f.Value)
		}
	}
	if d.URL != "" {
		fmt.Fprintf(&b, "\n%s：%s\n", d.LinkText(), d.URL)
	}
	fmt.Fprintf(&b, "\n%s\n", d.Footer())
	return b.String()
}

// badge is the style of a colour's label; the word is always written too.
func badge(l engine.Level) template.CSS {
	switch l {
	case engine.LevelRed:
		return "background:#c62828;color:#ffffff"
	case engine.LevelYellow:
		return "background:#f9a825;color:#000000"
	case engine.LevelGreen:
		return "background:#2e7d32;color:#ffffff"
	}
	return "background:#616161;color:#ffffff"
}

var htmlTemplate = template.Must(template.New("mail").Funcs(template.FuncMap{
	"badge": badge,
}).Parse(`<!DOCTYPE html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body style="font-family:sans-serif;color:#212121;line-height:1.5">
<h2 style="margin:0 0 8px 0">{{.Title}}</h2>
<table style="border-collapse:collapse">
{{- range .Lead}}
<tr><td style="padding:2px 12px 2px 0;color:#616161">{{.Label}}</td><td>{{.Value}}</td></tr>
{{- end}}
</table>
{{- range .Notes}}
<p style="margin:8px 0">{{.}}</p>
{{- end}}
{{- range $i, $it := .Items}}
<h3 style="margin:16px 0 4px 0"><span style="padding:1px 8px;border-radius:3px;{{badge $it.Level}}">{{$it.Word}}</span> {{$it.Heading}}</h3>
<table style="border-collapse:collapse">
{{- range $it.Fields}}
<tr><td style="padding:2px 12px 2px 0;color:#616161">{{.Label}}</td><td>{{.Value}}</td></tr>
{{- end}}
</table>
{{- end}}
{{- if .URL}}
<p>{{.LinkText}}：<a href="{{.URL}}">{{.URL}}</a></p>
{{- end}}
<p style="color:#9e9e9e;font-size:12px">{{.Footer}}</p>
</body>
</html>
`))

// html writes the document as an HTML page for mail clients.
func (d *document) html() string {
	var b bytes.Buffer
	if err := htmlTemplate.Execute(&b, d); err != nil {
		// The template is fixed and its data are strings: a failure is a bug.
		panic(fmt.Sprintf("notify: render HTML: %v", err))
	}
	return b.String()
}
