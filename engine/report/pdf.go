package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// PDFRenderer turns a report's HTML into PDF.
type PDFRenderer interface {
	PDF(ctx context.Context, html []byte) ([]byte, error)
}

// Chromium renders PDF with a headless Chromium (Debian's chromium
// package): `chromium --headless --print-to-pdf`. The HTML is written to a
// temporary directory and printed from there; a report's HTML loads
// nothing from elsewhere, so no network is needed.
type Chromium struct {
	// Path is the browser's executable.
	Path string
	// Timeout bounds one rendering; 0 is one minute.
	Timeout time.Duration
}

// chromiumNames are the executables FindChromium looks for on PATH.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell"}

// FindChromium returns a renderer with the executable at path, or with the
// first of chromium, chromium-browser, google-chrome … on PATH when path is
// empty; nil when there is none.
func FindChromium(path string) (*Chromium, error) {
	if path != "" {
		p, err := exec.LookPath(path)
		if err != nil {
			return nil, fmt.Errorf("PDF renderer %q: %w", path, err)
		}
		return &Chromium{Path: p}, nil
	}
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return &Chromium{Path: p}, nil
		}
	}
	return nil, nil
}

// PDF implements PDFRenderer.
func (c *Chromium) PDF(ctx context.Context, html []byte) ([]byte, error) {
	timeout := c.Timeout
	if timeout == 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "sanse-report-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	in, out := filepath.Join(dir, "report.html"), filepath.Join(dir, "report.pdf")
	if err := os.WriteFile(in, html, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, c.Path,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--disable-extensions", "--no-pdf-header-footer", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--print-to-pdf="+out, "file://"+in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: no PDF within %s", c.Path, timeout)
		}
		return nil, fmt.Errorf("%s: %w: %s", c.Path, err, lastLine(stderr.Bytes()))
	}
	pdf, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("%s wrote no PDF: %w", c.Path, err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		return nil, errors.New(c.Path + " wrote something that is not a PDF")
	}
	return pdf, nil
}

// lastLine returns the last non-empty line of b, for errors.
func lastLine(b []byte) string {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return string(lines[len(lines)-1])
}
