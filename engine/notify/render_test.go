package notify

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sanse-campus/sanse/engine"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestRenderGolden compares the three renderings of the sample message, as
// a receiver with the default redaction gets it, with testdata/.
func TestRenderGolden(t *testing.T) {
	doc := newDocument(redactMessage(nil, nil, sampleMessage()))
	for _, tc := range []struct {
		name string
		got  string
	}{
		{"firing.md", doc.markdown(0)},
		{"firing.txt", doc.text()},
		{"firing.html", doc.html()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", tc.name)
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(tc.got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, string(want), tc.got)
		})
	}
}

func TestTitle(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(m *Message)
		want string
	}{
		{"firing red", func(m *Message) {}, "【红色预警】嘉兴市南湖区城南幼儿园"},
		{"firing yellow", func(m *Message) { m.Level = engine.LevelYellow }, "【黄色预警】嘉兴市南湖区城南幼儿园"},
		{"repeat", func(m *Message) { m.Kind = KindRepeat }, "【未确认·再次提醒】嘉兴市南湖区城南幼儿园"},
		{"escalation default step name", func(m *Message) { m.Kind, m.Step = KindEscalation, StepDistrict },
			"【升级·区县教育局安全科】嘉兴市南湖区城南幼儿园"},
		{"escalation own step name", func(m *Message) { m.Kind, m.Step, m.StepName = KindEscalation, StepTown, "新丰镇中心学校" },
			"【升级·新丰镇中心学校】嘉兴市南湖区城南幼儿园"},
		{"resolved", func(m *Message) { m.Kind, m.Level = KindResolved, engine.LevelGreen }, "【已解除】嘉兴市南湖区城南幼儿园"},
		{"supervision", func(m *Message) { m.Kind = KindSupervision }, "【挂牌督办】嘉兴市南湖区城南幼儿园"},
		{"district added when the name lacks it", func(m *Message) { m.SchoolName = "城南幼儿园" }, "【红色预警】南湖区城南幼儿园"},
		{"line breaks folded", func(m *Message) { m.SchoolName = "城南\r\nBcc: x@example.org" }, "【红色预警】南湖区城南 Bcc: x@example.org"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := sampleMessage()
			tc.edit(m)
			require.Equal(t, tc.want, title(m))
		})
	}
}

// TestColourAlwaysWritten checks that every item's colour is written as a
// word in every rendering, not only shown by colour.
func TestColourAlwaysWritten(t *testing.T) {
	m := sampleMessage()
	m.Items = append(m.Items, Item{Level: engine.LevelGreen, Status: StatusResolved, Title: "水位回落"})
	doc := newDocument(m)
	for name, out := range map[string]string{"markdown": doc.markdown(0), "text": doc.text(), "html": doc.html()} {
		for _, word := range []string{"红色 · 禁入名单人员进入校园", "黄色", "绿色"} {
			if name == "html" {
				word = strings.TrimSuffix(word, " · 禁入名单人员进入校园")
			}
			require.Contains(t, out, word, name)
		}
	}
}

func TestMarkdownEscapes(t *testing.T) {
	m := sampleMessage()
	m.Items[0].Title = "标题[点我](javascript:alert(1))"
	m.Items[0].Cause = "第一行\n# 第二行 <font color=\"info\">绿</font>"
	md := newDocument(m).markdown(0)
	require.Contains(t, md, "张＊＊（3304＊＊＊＊＊＊＊＊＊＊123X）")
	require.NotContains(t, md, "](javascript")
	require.NotContains(t, md, "<font")
	require.NotContains(t, md, "\n# 第二行")
}

func TestHTMLEscapes(t *testing.T) {
	m := sampleMessage()
	m.Items[0].Cause = `<script>alert("x")</script>`
	m.URL = "javascript:alert(1)"
	m.Items[0].URL = "javascript:alert(2)"
	out := newDocument(m).html()
	require.NotContains(t, out, "<script>")
	require.NotContains(t, out, "javascript:")
	require.NotContains(t, out, "查看地图")
}

// A message of several alerts links to the school and to each alert; a
// message of one links to that alert once.
func TestItemLinks(t *testing.T) {
	grouped := newDocument(sampleMessage())
	single := sampleMessage()
	single.Items = single.Items[:1]
	single.URL = single.Items[0].URL
	one := newDocument(single)
	for _, tc := range []struct {
		name          string
		grouped, once string
	}{
		{"markdown", grouped.markdown(0), one.markdown(0)},
		{"text", grouped.text(), one.text()},
		{"html", grouped.html(), one.html()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Contains(t, tc.grouped, "https://sanse.example.org/?school=JX-NH-0001")
			require.Contains(t, tc.grouped, "https://sanse.example.org/?alert=fp-visitor-1")
			require.Contains(t, tc.grouped, "https://sanse.example.org/?alert=fp-bullying-1")
			require.Contains(t, tc.grouped, "查看告警")
			require.NotContains(t, tc.once, "?school=")
			require.NotContains(t, tc.once, "查看告警")
			require.Contains(t, tc.once, "查看地图")
			require.Contains(t, tc.once, "https://sanse.example.org/?alert=fp-visitor-1")
		})
	}
}

// TestMarkdownLimit checks that a burst too long for a robot keeps the
// title, the link and the notification ID, lists what fits and counts the
// rest.
func TestMarkdownLimit(t *testing.T) {
	m := sampleMessage()
	for i := range 200 {
		m.Items = append(m.Items, Item{
			Level: engine.LevelYellow, Status: StatusFiring,
			Title: fmt.Sprintf("冷藏设备温度超标 %d", i), Cause: "冷藏柜温度连续两小时高于 8°C。",
		})
	}
	md := newDocument(m).markdown(weComLimit)
	require.LessOrEqual(t, len(md), weComLimit)
	require.True(t, utf8.ValidString(md))
	require.Contains(t, md, "【红色预警】嘉兴市南湖区城南幼儿园")
	require.Contains(t, md, "禁入名单人员进入校园")
	require.Regexp(t, `另有 \d+ 条预警未列出`, md)
	require.True(t, strings.HasSuffix(md, "三色预警 · 通知编号：n-20261125-0001\n"))
	require.Contains(t, md, "查看地图：")

	small := newDocument(sampleMessage()).markdown(weComLimit)
	require.NotContains(t, small, "另有")
}

func TestTimesInShanghai(t *testing.T) {
	out := newDocument(sampleMessage()).text()
	require.Contains(t, out, "时间：2026-11-25 10:30:00")
	require.Contains(t, out, "开始：2026-11-25 10:28:00")
}
