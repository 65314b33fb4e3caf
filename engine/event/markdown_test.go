package event_test

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine/event"
)

var update = flag.Bool("update", false, "rewrite the generated part of docs/events.md")

const (
	beginGenerated = "<!-- BEGIN GENERATED from engine/event/sources/*.yaml: go test ./engine/event -run TestEventsDoc -update -->\n"
	endGenerated   = "<!-- END GENERATED -->\n"
)

// TestEventsDoc keeps the tables of docs/events.md equal to the built-in
// declarations: the document cannot drift from what the decoder accepts.
func TestEventsDoc(t *testing.T) {
	const path = "../../docs/events.md"
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	doc := string(data)
	i, j := strings.Index(doc, beginGenerated), strings.Index(doc, endGenerated)
	require.True(t, i >= 0 && j > i, "docs/events.md has no generated section between %q and %q", beginGenerated, endGenerated)
	want := event.Builtin().Markdown()
	got := doc[i+len(beginGenerated) : j]
	if *update {
		doc = doc[:i+len(beginGenerated)] + want + doc[j:]
		require.NoError(t, os.WriteFile(path, []byte(doc), 0o644))
		return
	}
	require.Equal(t, want, got, "docs/events.md differs from the declarations; run go test ./engine/event -run TestEventsDoc -update")
}
