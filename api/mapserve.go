package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/labstack/echo/v4"

	"github.com/sanse-campus/sanse/engine"
)

// mapFormat is the shape of the map's answer, the query parameter format.
type mapFormat string

const (
	// mapGeoJSON is a GeoJSON FeatureCollection, the default.
	mapGeoJSON mapFormat = "geojson"
	// mapCompact is one array per school under named columns
	// (mapcompact.go): a third of the bytes, for the page.
	mapCompact mapFormat = "compact"
)

// mapRequest is what an answer of GET /api/v1/map depends on besides the
// state: the caller's scope and the query, in a canonical form (sorted, no
// repeats), so that requests that mean the same share an answer.
type mapRequest struct {
	Scope Scope
	// Districts, when not nil, keeps only the schools of these districts.
	Districts []string
	// Levels, when not nil, keeps only the schools of these colours.
	Levels []engine.Level
	Format mapFormat
	// Pretty indents the JSON (the query parameter pretty, as elsewhere).
	Pretty bool
	// At is the past moment of the map; nil for the live map. Answers of
	// a past moment are not cached here (their colours are: atCache).
	At *time.Time `json:"-"`
}

// mapAnswer is one built answer of the map: its body in every content
// coding made so far. It is never changed once handed out.
type mapAnswer struct {
	contentType string
	// etag identifies the identity body: a strong ETag, unquoted; each
	// coding's is derived from it (codingTag).
	etag string
	// lastEventID is the id of the last event the live stream had sent
	// before the state was read; "" without a stream or for a past moment.
	lastEventID string
	// version is the state's version when it was read, and read the time.
	version uint64
	read    time.Time
	// body is the identity body; coded holds those of the other codings,
	// nil where not made.
	body  []byte
	coded [numEncodings][]byte
}

// bytes returns the size of every body a holds.
func (a *mapAnswer) bytes() int {
	n := len(a.body)
	for _, b := range a.coded {
		n += len(b)
	}
	return n
}

// bodyOf returns a's body in coding enc, or nil when it is not made.
func (a *mapAnswer) bodyOf(enc encoding) []byte {
	if enc == encIdentity {
		return a.body
	}
	return a.coded[enc]
}

// encoding is a content coding the map's answers are sent in.
type encoding int

// The codings, in the server's order of preference when the client accepts
// several equally: zstd is the cheapest to make (for 20,000 schools about
// half of gzip's time, for a body 5 to 10 % larger than gzip's) and to
// decode, brotli makes the smallest body (about 10 % below gzip's) but
// takes about ten times zstd's time, gzip is what every client reads
// (BENCHMARKS.md, "The map API at 20,000 schools").
const (
	encIdentity encoding = iota
	encZstd
	encBrotli
	encGzip
	numEncodings
)

// encodingNames are the codings' names in Accept-Encoding and
// Content-Encoding.
var encodingNames = [numEncodings]string{"identity", "zstd", "br", "gzip"}

// negotiateEncoding returns the coding to answer a request with the
// Accept-Encoding header h in: the one the client prefers (highest q) among
// those the server makes, on a tie the server's preference, and identity
// when the client accepts none of them (including when it refuses identity
// too: an answer it may not want beats none).
func negotiateEncoding(h string) encoding {
	if h == "" {
		return encIdentity
	}
	var q [numEncodings]float64
	q[encIdentity] = 0.001 // acceptable, below any coding the client names, unless it names identity
	wildcard := -1.0
	var named [numEncodings]bool
	for item := range strings.SplitSeq(h, ",") {
		name, params, _ := strings.Cut(item, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		weight := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.TrimSpace(k) == "q" {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				weight = f
			}
		}
		if name == "*" {
			wildcard = weight
			continue
		}
		if name == "x-gzip" {
			name = "gzip"
		}
		for e, n := range encodingNames {
			if name == n {
				q[e], named[e] = weight, true
			}
		}
	}
	if wildcard >= 0 {
		for e := range q {
			if !named[e] {
				q[e] = wildcard
			}
		}
	}
	best := encIdentity
	for e := encZstd; e < numEncodings; e++ {
		if q[e] > 0 && (best == encIdentity || q[e] > q[best]) {
			best = e
		}
	}
	if best != encIdentity && q[best] < q[encIdentity] {
		return encIdentity
	}
	return best
}

// Compression levels: made once per change of the map, not per request, so
// above the fastest. For 20,000 schools on two shared cores, zstd takes
// 13–26 ms, gzip 26–51 ms and brotli 140–260 ms per answer (BENCHMARKS.md);
// a coding is made for an answer only once a client has asked for it.
const (
	gzipLevel   = 6
	brotliLevel = 5
)

// zstdEncoder compresses every zstd answer; EncodeAll may be called
// concurrently. The window is at most 8 MiB, which browsers require
// (RFC 9659).
var zstdEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault),
	zstd.WithWindowSize(8<<20), zstd.WithEncoderConcurrency(1)) // the options are valid

// compress returns body in coding enc, which is not identity.
func compress(enc encoding, body []byte) []byte {
	if enc == encZstd {
		return zstdEncoder.EncodeAll(body, make([]byte, 0, len(body)/8))
	}
	var buf bytes.Buffer
	buf.Grow(len(body) / 8)
	switch enc {
	case encBrotli:
		w := brotli.NewWriterLevel(&buf, brotliLevel)
		_, _ = w.Write(body) // a bytes.Buffer does not fail
		_ = w.Close()
	case encGzip:
		w, _ := gzip.NewWriterLevel(&buf, gzipLevel) // the level is valid
		_, _ = w.Write(body)
		_ = w.Close()
	default:
		panic("api: compress with " + encodingNames[enc])
	}
	return buf.Bytes()
}

// bodyTag returns the tag of an identity body: a hash of it, so that the
// same map has the same tag however often it is rebuilt.
func bodyTag(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:16])
}

// codingTag returns the quoted strong ETag of a's body in coding enc: each
// coding is a representation of its own (RFC 9110, 8.8.3).
func codingTag(a *mapAnswer, enc encoding) string {
	if enc == encIdentity {
		return `"` + a.etag + `"`
	}
	return `"` + a.etag + "-" + encodingNames[enc] + `"`
}

// mapCacheControl lets the caller's browser keep an answer but not use it
// without asking (a 304 when it is still current); no shared cache may keep
// it, since it depends on who asks.
const mapCacheControl = "private, no-cache"

// headerLastEventID names the response header with mapAnswer.lastEventID.
const headerLastEventID = "Sanse-Last-Event-Id"

// serveMap sends a in coding enc, or 304 Not Modified when the request's
// If-None-Match names a's body in any coding: they all hold the same map,
// and the client decodes what it kept. lastEventID is where the live stream
// resumes for the answer ("" for none).
func serveMap(c echo.Context, a *mapAnswer, enc encoding, lastEventID string) error {
	body := a.bodyOf(enc)
	if body == nil {
		enc, body = encIdentity, a.body
	}
	h := c.Response().Header()
	h.Set(echo.HeaderCacheControl, mapCacheControl)
	h.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
	h.Set("ETag", codingTag(a, enc))
	if lastEventID != "" {
		h.Set(headerLastEventID, lastEventID)
	}
	if inm := c.Request().Header.Get("If-None-Match"); inm != "" && mapTagMatches(inm, a.etag) {
		return c.NoContent(http.StatusNotModified)
	}
	if enc != encIdentity {
		h.Set(echo.HeaderContentEncoding, encodingNames[enc])
	}
	h.Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
	return c.Blob(http.StatusOK, a.contentType, body)
}

// mapTagMatches reports whether an If-None-Match header names the body with
// tag etag in some coding (or is *). Weak tags match too (RFC 9110 compares
// If-None-Match weakly).
func mapTagMatches(header, etag string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" {
			return true
		}
		inner, ok := strings.CutPrefix(tag, `"`+etag)
		if !ok || !strings.HasSuffix(inner, `"`) {
			continue
		}
		inner = strings.TrimSuffix(inner, `"`)
		if inner == "" {
			return true
		}
		for _, n := range encodingNames[encZstd:] {
			if inner == "-"+n {
				return true
			}
		}
	}
	return false
}

// lastEventID returns the stream event id of the newest change published;
// a stream resumed from it sends every change published afterwards.
func (h *Hub) lastEventID() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.eventID(h.last)
}
