package api

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/sanse-campus/sanse/api/web"
)

// Caching of the page. index.html and the outlines are revalidated on every
// load (their ETag makes that a 304), so that a new release or new outlines
// show at once. index.html names every asset with its content hash
// (/assets/app.js?v=…), so an asset asked for with its current hash never
// changes and is cached for a year; asked for without it, it is revalidated.
const (
	cacheRevalidate = "no-cache"
	cacheImmutable  = "public, max-age=31536000, immutable"
)

// pageSecurity are the headers of index.html. The content security policy
// lets the page load and connect to nothing but this server.
var pageSecurity = map[string]string{
	"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
		"img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; media-src 'self' data: blob:; " +
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "same-origin",
}

// asset is one file the server sends as it is, prepared once.
type asset struct {
	body        []byte
	etag        string // strong, quoted
	version     string // the short content hash index.html asks for
	contentType string
	// gzipped is the body compressed, nil when compressing does not pay;
	// made at the first request that accepts it, not at start, where
	// compressing every file of the page (the charting library the
	// largest) took about a third of the time before the consumer starts.
	gzipped func() []byte
}

func newAsset(name string, body []byte) *asset {
	sum := sha256.Sum256(body)
	a := &asset{
		body:        body,
		etag:        `"` + hex.EncodeToString(sum[:16]) + `"`,
		version:     hex.EncodeToString(sum[:6]),
		contentType: contentType(name),
	}
	a.gzipped = func() []byte { return nil }
	if compressible(a.contentType) && len(body) > 1024 {
		a.gzipped = sync.OnceValue(func() []byte {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
			_, _ = zw.Write(body)                                    // a bytes.Buffer does not fail
			_ = zw.Close()
			if buf.Len() < len(body)*9/10 {
				return buf.Bytes()
			}
			return nil
		})
	}
	return a
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".geojson":
		return mimeGeoJSON
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".json":
		return "application/json"
	case ".txt":
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func compressible(contentType string) bool {
	return strings.HasPrefix(contentType, "text/") || strings.Contains(contentType, "json") ||
		strings.Contains(contentType, "svg")
}

// serve sends a with the caching header, answering 304 to a request that
// already has it and gzip to one that accepts it.
func (a *asset) serve(c echo.Context, cacheControl string) error {
	h := c.Response().Header()
	h.Set("Cache-Control", cacheControl)
	h.Set("ETag", a.etag)
	h.Add("Vary", "Accept-Encoding")
	if etagMatches(c.Request().Header.Get("If-None-Match"), a.etag) {
		return c.NoContent(http.StatusNotModified)
	}
	body := a.body
	if acceptsGzip(c.Request().Header.Get("Accept-Encoding")) {
		if gz := a.gzipped(); gz != nil {
			h.Set("Content-Encoding", "gzip")
			body = gz
		}
	}
	if c.Request().Method == http.MethodHead {
		h.Set(echo.HeaderContentType, a.contentType)
		h.Set(echo.HeaderContentLength, fmt.Sprint(len(body)))
		return c.NoContent(http.StatusOK)
	}
	return c.Blob(http.StatusOK, a.contentType, body)
}

// etagMatches reports whether an If-None-Match header names etag (or is *).
func etagMatches(header, etag string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == etag || tag == "*" {
			return true
		}
	}
	return false
}

func acceptsGzip(header string) bool {
	for enc := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(enc, ";")
		if strings.TrimSpace(name) != "gzip" {
			continue
		}
		_, q, ok := strings.Cut(strings.ReplaceAll(params, " ", ""), "q=")
		if !ok {
			return true
		}
		v, err := strconv.ParseFloat(q, 64)
		return err == nil && v > 0
	}
	return false
}

// page is the map page: index.html with versioned asset links, and the
// files under /assets/.
type page struct {
	index  *asset
	assets map[string]*asset // by name under /assets/
}

// assetLink matches the links of index.html to its assets.
var assetLink = regexp.MustCompile(`(src|href)="/assets/([^"?#]+)"`)

var (
	embeddedPageOnce sync.Once
	embeddedPage     *page
	embeddedPageErr  error
)

// loadPage prepares the embedded page once per process: the files do not
// change, and compressing them takes a while.
func loadPage() (*page, error) {
	embeddedPageOnce.Do(func() { embeddedPage, embeddedPageErr = newPage(web.Static()) })
	return embeddedPage, embeddedPageErr
}

// newPage reads every file of files and versions the asset links of its
// index.html.
func newPage(files fs.FS) (*page, error) {
	p := &page{assets: map[string]*asset{}}
	var indexHTML []byte
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		if name == "index.html" {
			indexHTML = body
			return nil
		}
		p.assets[name] = newAsset(name, body)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the map page: %w", err)
	}
	if indexHTML == nil {
		return nil, fmt.Errorf("read the map page: no index.html")
	}
	var missing []string
	indexHTML = assetLink.ReplaceAllFunc(indexHTML, func(m []byte) []byte {
		sub := assetLink.FindSubmatch(m)
		a := p.assets[string(sub[2])]
		if a == nil {
			missing = append(missing, string(sub[2]))
			return m
		}
		return fmt.Appendf(nil, `%s="/assets/%s?v=%s"`, sub[1], sub[2], a.version)
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("read the map page: index.html links to missing assets %v", missing)
	}
	p.index = newAsset("index.html", indexHTML)
	return p, nil
}

// routeWeb registers the map page, its assets and the outlines it draws.
func (s *Server) routeWeb(e *echo.Echo, opts Options, scoped echo.MiddlewareFunc) error {
	p, err := loadPage()
	if err != nil {
		return err
	}
	if err := s.ReloadBoundaries(opts.Boundaries); err != nil {
		return fmt.Errorf("api: Options.Boundaries: %w", err)
	}

	getHead := []string{http.MethodGet, http.MethodHead}
	var open []echo.MiddlewareFunc // the page's assets hold no data: open, Host checked
	if s.auth != nil {
		open = append(open, s.hostOnly)
	}
	e.Match(getHead, "/", func(c echo.Context) error {
		for k, v := range pageSecurity {
			c.Response().Header().Set(k, v)
		}
		if s.auth != nil {
			if err := s.checkHost(c.Request()); err != nil {
				return err
			}
			if _, _, err := s.authenticate(c.Request()); err != nil {
				return s.serveSignIn(c, p, err)
			}
		}
		return p.index.serve(c, cacheRevalidate)
	})
	e.Match(getHead, "/assets/*", func(c echo.Context) error {
		a := p.assets[c.Param("*")]
		if a == nil {
			return httpError(http.StatusNotFound, "no such asset: %s", c.Request().URL.Path)
		}
		c.Response().Header().Set("X-Content-Type-Options", "nosniff")
		if c.QueryParam("v") == a.version {
			return a.serve(c, cacheImmutable)
		}
		return a.serve(c, cacheRevalidate)
	}, open...)
	e.GET("/api/v1/boundaries", func(c echo.Context) error { return s.outlines.Load().serve(c, cacheRevalidate) }, scoped)
	return nil
}

// ReloadBoundaries replaces the outlines of GET /api/v1/boundaries with data
// (as Options.Boundaries: nil for the embedded demo outlines). Outlines that
// are not valid GeoJSON of district and town outlines are refused, and the
// current ones stay. An open page keeps the outlines it drew until it is
// loaded again.
func (s *Server) ReloadBoundaries(data []byte) error {
	if data == nil {
		data = web.DemoBoundaries()
	}
	if _, err := web.ParseBoundaries(data); err != nil {
		return err
	}
	s.outlines.Store(newAsset("boundaries.geojson", data))
	return nil
}

// serveSignIn answers a request for the map page without a valid session:
// the sign-in page, with the status of the refusal (401), never cached.
func (s *Server) serveSignIn(c echo.Context, p *page, refused error) error {
	var he *echo.HTTPError
	if !errors.As(refused, &he) || he.Code != http.StatusUnauthorized {
		return refused
	}
	a := p.assets["signin.html"]
	if a == nil {
		return refused
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.Blob(http.StatusUnauthorized, a.contentType, a.body)
}
