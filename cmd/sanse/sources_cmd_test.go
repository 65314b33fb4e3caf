package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine/event"
)

// TestSourcesCommand: `sanse sources check` lists the built-in and declared
// sources and refuses a declaration with its file and line; `sanse sources
// doc` prints the same tables as docs/events.md, with a district's own.
func TestSourcesCommand(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "sources")
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"sources", "check", "--sources.dir", dir}, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "source visitor (外来人员): topic campus.visitor, types [denied entry exit], built-in\n")
	require.Contains(t, out.String(), "source ferry (渡船): topic campus.ferry")
	require.Contains(t, out.String(), "sources OK\n")

	out.Reset()
	require.Equal(t, 0, run([]string{"sources", "doc"}, &out, &errOut), errOut.String())
	require.Equal(t, event.Builtin().Markdown(), out.String())
	out.Reset()
	require.Equal(t, 0, run([]string{"sources", "doc", "--sources.dir", dir}, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "### ferry\n")

	bad := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bad, "bus.yaml"), []byte("source: bus\ntopic: t.bus\ntypes:\n  gps:\n    fields:\n      speed: {type: fast}\n"), 0o644))
	out.Reset()
	errOut.Reset()
	require.Equal(t, 1, run([]string{"sources", "check", "--sources.dir", bad}, &out, &errOut))
	require.Contains(t, errOut.String(), filepath.Join(bad, "bus.yaml")+`:6: field speed: unknown type "fast"`)
	require.Equal(t, 2, run([]string{"sources", "lint"}, &out, &errOut))
	require.Contains(t, errOut.String(), "expected check or doc")
}
