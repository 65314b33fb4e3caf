package main

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestBrowserNamesFromMeta checks that the page names sources, stages and
// colours as GET /api/v1/meta does, in Chinese and in English: the page
// keeps no list of its own.
func TestBrowserNamesFromMeta(t *testing.T) {
	chromiumPath(t)
	clickhouseDSN(t)
	in, _ := startDemoMap(t)

	type name struct{ ID, Zh, En string }
	var meta struct{ Sources, Stages, Levels []name }
	require.Equal(t, http.StatusOK, in.getJSON("/api/v1/meta", &meta))
	require.NotEmpty(t, meta.Sources)
	require.NotEmpty(t, meta.Stages)
	require.NotEmpty(t, meta.Levels)

	ctx := newBrowser(t, 1366, 768)
	in.signIn(t, ctx)
	watch := watchPage(t, ctx)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("http://"+in.web+"/")))
	waitPage(t, ctx)

	// options returns the value and text of each choice of a filter but "all".
	options := func(id string) [][2]string {
		return eval[[][2]string](t, ctx, `[...document.getElementById("`+id+`").options].slice(1).map((o) => [o.value, o.text])`)
	}
	check := func(english bool) {
		t.Helper()
		pick := func(n name) string {
			if english {
				return n.En
			}
			return n.Zh
		}
		var sources, stages [][2]string
		for _, s := range meta.Sources {
			sources = append(sources, [2]string{s.ID, pick(s)})
		}
		for i, s := range meta.Stages {
			stages = append(stages, [2]string{string(rune('0' + i)), pick(s)})
		}
		require.Equal(t, sources, options("f-source"))
		require.Equal(t, stages, options("f-stage"))
		for _, l := range meta.Levels {
			require.Equal(t, pick(l), eval[string](t, ctx, `document.querySelector('[data-level-name="`+l.ID+`"]').textContent`))
		}
	}
	check(false)
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("lang"))))
	require.Equal(t, "en", eval[string](t, ctx, `document.documentElement.lang`))
	check(true)

	watch.checkOnlyOwnHost(t, in.web)
	watch.checkNoErrors(t)
}
