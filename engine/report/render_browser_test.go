package report_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/report"
	"github.com/sanse-campus/sanse/rules"
)

// renderer returns the machine's Chromium; without one the test is
// skipped, except in CI, where .ci/run installs it.
func renderer(t *testing.T) *report.Chromium {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	c, err := report.FindChromium(os.Getenv("SANSE_CHROMIUM"))
	require.NoError(t, err)
	if c == nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no chromium binary found; .ci/run installs Debian's chromium")
		}
		t.Skip("no chromium binary found (apt-get install chromium, or set SANSE_CHROMIUM)")
	}
	return c
}

// TestRenderedReport opens the weekly report of the scripted week in
// headless Chromium, as a person opens the e-mailed file, and prints it to
// PDF as the service does: the charts are drawn, and the PDF's pages carry
// the same title and totals.
func TestRenderedReport(t *testing.T) {
	chromium := renderer(t)
	h := scriptedWeek(t)
	b := report.New(report.Options{
		History:  h.st,
		Registry: func() *engine.Registry { return h.reg },
		Rules:    func() *rules.Set { return h.set },
		PDF:      chromium,
		Now:      func() time.Time { return time.Date(2026, 12, 4, 9, 0, 0, 0, shanghai) },
	})
	ctx := context.Background()
	out, err := b.Generate(ctx, report.Spec{Kind: report.KindWeekly, Scope: report.Scope{District: "南湖区"}, From: at(23, 0, 0), To: at(30, 0, 0)})
	require.NoError(t, err)
	dir := t.TempDir()
	htmlPath := filepath.Join(dir, out.FileName(report.FormatHTML))
	require.NoError(t, os.WriteFile(htmlPath, out.HTML, 0o600))

	t.Run("screenshot", func(t *testing.T) {
		opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
			chromedp.ExecPath(chromium.Path), chromedp.NoSandbox, chromedp.DisableGPU,
			chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(900, 1200))
		alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
		defer cancelAlloc()
		bctx, cancel := chromedp.NewContext(alloc)
		defer cancel()
		bctx, cancelT := context.WithTimeout(bctx, time.Minute)
		defer cancelT()
		require.NoError(t, chromedp.Do(bctx, chromedp.Navigate("file://"+htmlPath)))
		title, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("title").textContent`))
		require.NoError(t, err)
		// Chart rectangles drawn with a size.
		bars, err := chromedp.Run(bctx, chromedp.Evaluate[int](`[...document.querySelectorAll("svg.chart rect")].filter(r => {
			const b = r.getBoundingClientRect(); return b.width > 0 && b.height > 0 }).length`))
		require.NoError(t, err)
		shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.Equal(t, out.Title, title)
		// Seven days of stacked columns (green every day, yellow on
		// Thursday), bars of the sources and of the routines.
		require.GreaterOrEqual(t, bars, 7+2+2)
		if dir := os.Getenv("SANSE_TEST_ARTIFACTS"); dir != "" {
			_ = os.WriteFile(filepath.Join(dir, "report-weekly.png"), shot, 0o644)
		}
		img, _, err := image.Decode(bytes.NewReader(shot))
		require.NoError(t, err)
		// The chart's green and yellow are on the screen, not only in the
		// markup.
		require.Greater(t, countNear(img, 0x2e, 0x9d, 0x4f), 2000, "green columns visible")
		require.Greater(t, countNear(img, 0xf5, 0xa6, 0x23), 100, "a yellow segment visible")
	})

	t.Run("pdf", func(t *testing.T) {
		require.NotNil(t, out.PDF, "a PDF when a renderer exists")
		for _, tool := range []string{"pdftoppm", "pdftotext"} {
			if _, err := exec.LookPath(tool); err != nil {
				if os.Getenv("CI") != "" {
					t.Fatalf("%s missing; .ci/run installs poppler-utils", tool)
				}
				t.Skipf("%s missing (apt-get install poppler-utils)", tool)
			}
		}
		pdfPath := filepath.Join(dir, "report.pdf")
		require.NoError(t, os.WriteFile(pdfPath, out.PDF, 0o600))
		require.NoError(t, exec.Command("pdftoppm", "-png", "-r", "40", pdfPath, filepath.Join(dir, "page")).Run())
		pages, err := filepath.Glob(filepath.Join(dir, "page*.png"))
		require.NoError(t, err)
		require.NotEmpty(t, pages, "the PDF opens as pages")
		green := 0
		for _, p := range pages {
			f, err := os.Open(p)
			require.NoError(t, err)
			img, err := png.Decode(f)
			f.Close()
			require.NoError(t, err)
			green += countNear(img, 0x2e, 0x9d, 0x4f)
		}
		require.Greater(t, green, 200, "the pages show the chart's green columns")
		text, err := exec.Command("pdftotext", "-layout", pdfPath, "-").Output()
		require.NoError(t, err)
		flat := strings.Join(strings.Fields(string(text)), "")
		require.Contains(t, flat, strings.Join(strings.Fields(out.Title), ""))
		require.Contains(t, flat, "期末红色")
		require.Contains(t, flat, "南湖甲小学")
		require.Contains(t, flat, "截至13:00未登记留样")
	})
}

// countNear counts the pixels of img within a small distance of a colour.
func countNear(img image.Image, r, g, b uint8) int {
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			if near(uint8(pr>>8), r) && near(uint8(pg>>8), g) && near(uint8(pb>>8), b) {
				n++
			}
		}
	}
	return n
}

func near(a, b uint8) bool {
	d := int(a) - int(b)
	return d >= -12 && d <= 12
}
