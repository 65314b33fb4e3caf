package notify

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// renderFuzzTexts are the texts of a message that come from outside
// (registry, rule files, events, people's comments), in the order the fuzz
// target takes them.
type renderFuzzTexts struct {
	schoolName, district, town, title, cause, label, value, url string
}

// fuzzMessage returns the sample message with the texts of in, and kind
// picked by k.
func fuzzMessage(in renderFuzzTexts, k uint8) *Message {
	m := sampleMessage()
	kinds := []Kind{KindFiring, KindRepeat, KindEscalation, KindResolved, KindSupervision}
	m.Kind = kinds[int(k)%len(kinds)]
	m.Step = int(k) % 5
	m.SchoolName, m.District, m.Town, m.URL = in.schoolName, in.district, in.town, in.url
	m.Items[0].Title, m.Items[0].Cause = in.title, in.cause
	m.Items[0].Details = append(m.Items[0].Details, Detail{Label: in.label, Value: in.value})
	m.Items[1].Cause = in.cause + in.value
	return m
}

// FuzzRender renders a message whose outside texts are arbitrary, for
// every channel's form, and checks what a receiver gets: no panic; valid
// UTF-8 from valid UTF-8; a title on one line (it is an e-mail subject); a
// robot's markdown within the robot's limit; and the texts never adding
// markup — the HTML has exactly the tags, and the markdown the links and
// angle brackets, of the same message with every text replaced by "x".
func FuzzRender(f *testing.F) {
	f.Add("嘉兴市南湖区城南幼儿园", "南湖区", "余新镇", "禁入名单人员进入校园", "禁入名单人员于东门进入校园。", "校门", "东门",
		"https://sanse.example.org/?school=JX-NH-0001", uint8(0))
	f.Add("城南\r\nBcc: x@example.org", "", "", "标题[点我](javascript:alert(1))", "第一行\n# 第二行 <font color=\"info\">绿</font>",
		"<b>", "</td></tr><script>alert(1)</script>", "javascript:alert(1)", uint8(2))
	f.Add(strings.Repeat("长", 3000), strings.Repeat("区", 500), "", strings.Repeat("题", 2000), strings.Repeat("*", 5000),
		"`", "\\", "https://x/(a)<b>", uint8(4))
	f.Add("\xff\xfe", "\x00", "\u2028", "{{.Title}}", "&lt;script&gt;", "a|b|c", "]]>", "http://[::1", uint8(3))
	f.Fuzz(func(t *testing.T, schoolName, district, town, title, cause, label, value, url string, k uint8) {
		in := renderFuzzTexts{schoolName, district, town, title, cause, label, value, url}
		m := redactMessage(nil, nil, fuzzMessage(in, k))
		doc := newDocument(m)
		md, mdAll, text, html := doc.markdown(weComLimit), doc.markdown(0), doc.text(), doc.html()
		_ = doc.markdown(dingTalkLimit)

		valid := true
		for _, s := range []string{schoolName, district, town, title, cause, label, value, url} {
			valid = valid && utf8.ValidString(s)
		}
		if valid {
			for name, out := range map[string]string{"markdown": md, "full markdown": mdAll, "text": text, "html": html, "title": doc.Title} {
				if !utf8.ValidString(out) {
					t.Fatalf("%s is not valid UTF-8: %q", name, out)
				}
			}
		}
		if strings.ContainsAny(doc.Title, "\r\n") {
			t.Fatalf("the title has a line break: %q", doc.Title)
		}
		if len(md) > weComLimit {
			t.Fatalf("markdown for WeCom is %d bytes, over %d", len(md), weComLimit)
		}

		// Blank texts stay as they are: a blank district and town, for
		// one, leave out the area's row, and "x" would not.
		x := func(s string) string {
			if strings.TrimSpace(s) == "" {
				return s
			}
			return "x"
		}
		ref := renderFuzzTexts{x(schoolName), x(district), x(town), x(title), x(cause), x(label), x(value), url}
		refDoc := newDocument(redactMessage(nil, nil, fuzzMessage(ref, k)))
		refHTML, refMD := refDoc.html(), refDoc.markdown(0)
		for _, mark := range []string{"<", ">"} {
			if got, want := strings.Count(html, mark), strings.Count(refHTML, mark); got != want {
				t.Fatalf("the texts added markup to the HTML: %d %q, want %d:\n%s", got, mark, want, html)
			}
		}
		for _, mark := range []string{"](", "<", ">", "\n#"} {
			if got, want := strings.Count(mdAll, mark), strings.Count(refMD, mark); got != want {
				t.Fatalf("the texts added markup to the markdown: %d %q, want %d:\n%s", got, mark, want, mdAll)
			}
		}
	})
}
