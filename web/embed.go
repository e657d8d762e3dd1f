// Package web embeds the shuixiao console — a single-page application built
// by Vite from web/src into web/static/dist — and serves it over HTTP.
//
// embed.FS reports a zero modification time, so net/http would never answer
// a conditional request with 304 (golang/go#44854). Handler therefore serves
// Vite's content-hashed files under /assets/ as immutable for a year, serves
// index.html with no-cache and an ETag computed from its content at start-up,
// and answers If-None-Match with 304. Compressible files are gzipped once at
// start-up and sent to clients that accept gzip. Every other path that is not
// a file falls back to index.html, so that client-side routes survive a
// reload. Before `npm run build` has run, Handler serves a bilingual page that
// says the console is not built (the Go build and tests need no Node.js).
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// static holds README.md (so that the pattern matches before a build) and
// dist/, Vite's output.
//
//go:embed all:static
var static embed.FS

// distDir is where Vite writes the build inside static.
const distDir = "static/dist"

// Cache policies: hashed assets never change under their name; everything
// else must be revalidated (cheaply, thanks to the ETag).
const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
)

// contentSecurityPolicy limits the console to its own origin. Inline styles
// stay allowed because ECharts writes style attributes into tooltip HTML.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; object-src 'none'; " +
	"base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// Handler returns the HTTP handler for the embedded console, to be mounted at
// "/" after the API routes. It never fails: without a build it serves the
// "not built" page.
func Handler() http.Handler {
	dist, err := fs.Sub(static, distDir)
	if err != nil {
		return notBuilt{}
	}
	h, err := newHandler(dist)
	if err != nil {
		return notBuilt{}
	}
	return h
}

// Built reports whether the embedded file system holds a console build.
func Built() bool {
	_, err := fs.Stat(static, distDir+"/index.html")
	return err == nil
}

// file is one served file, prepared at start-up.
type file struct {
	body        []byte
	gzipped     []byte // nil when gzip would not help
	etag        string // strong ETag of body
	contentType string
	immutable   bool
}

// spa serves the files of a built console.
type spa struct {
	files map[string]*file // by path without the leading slash
	index *file
}

// newHandler reads every file of dist into memory (a build is well under
// 1 MB gzipped) and precomputes ETags and gzip encodings. It fails if dist
// has no index.html.
func newHandler(dist fs.FS) (http.Handler, error) {
	s := &spa{files: map[string]*file{}}
	err := fs.WalkDir(dist, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(dist, p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		s.files[p] = prepare(p, body)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("console build: %w", err)
	}
	s.index = s.files["index.html"]
	if s.index == nil {
		return nil, fmt.Errorf("console build has no index.html")
	}
	return s, nil
}

func prepare(p string, body []byte) *file {
	sum := sha256.Sum256(body)
	f := &file{
		body:        body,
		etag:        `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`,
		contentType: contentType(p),
		immutable:   strings.HasPrefix(p, "assets/"),
	}
	if compressible(f.contentType) && len(body) > 512 {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression) // the level is valid, so no error
		zw.Write(body)
		zw.Close()
		if b.Len() < len(body)*9/10 {
			f.gzipped = b.Bytes()
		}
	}
	return f
}

func contentType(p string) string {
	ext := path.Ext(p)
	switch ext {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".json", ".map":
		return "application/json"
	case ".woff2":
		return "font/woff2"
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

func compressible(ct string) bool {
	return strings.HasPrefix(ct, "text/") || strings.HasPrefix(ct, "application/json") || ct == "image/svg+xml"
}

func (s *spa) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if f, ok := s.files[p]; ok && p != "index.html" {
		s.serve(w, r, f)
		return
	}
	// Missing hashed assets, API paths and the log's tiles must not turn into
	// index.html: a stale page asking for an old bundle, or a client asking the
	// API, should see a plain 404.
	if p == "assets" || strings.HasPrefix(p, "assets/") || p == "api" || strings.HasPrefix(p, "api/") ||
		strings.HasPrefix(p, "ledger/") || p == "favicon.ico" {
		http.NotFound(w, r)
		return
	}
	s.serve(w, r, s.index)
}

func (s *spa) serve(w http.ResponseWriter, r *http.Request, f *file) {
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	if f.immutable {
		h.Set("Cache-Control", cacheImmutable)
	} else {
		h.Set("Cache-Control", cacheRevalidate)
	}
	if f == s.index {
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
	}
	body, etag := f.body, f.etag
	if f.gzipped != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body = f.gzipped
			// A different representation needs a different strong ETag.
			etag = strings.TrimSuffix(f.etag, `"`) + `-gz"`
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip
// (RFC 9110 §12.5.3: "gzip;q=0" refuses it).
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.ToLower(params), " ", "")
		if q == "q=0" || q == "q=0.0" || q == "q=0.00" || q == "q=0.000" {
			return false
		}
		return true
	}
	return false
}

// etagMatches implements the weak comparison of If-None-Match (RFC 9110 §13.1.2).
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, part := range strings.Split(header, ",") {
		t := strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// notBuilt answers every request when the console has not been built.
type notBuilt struct{}

const notBuiltPage = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>控制台尚未构建 · console not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.6">
<h1>控制台尚未构建</h1>
<p>这个 shuixiao 程序在构建时没有包含网页控制台。请在源码目录运行 <code>make</code>（或 <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>，然后重新 <code>go build</code>）。API 不受影响，仍在 <code>/api/v1/</code> 提供服务。</p>
<h1 lang="en">Console not built</h1>
<p lang="en">This shuixiao binary was built without the web console. Run <code>make</code> in the source tree
(or <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, then <code>go build</code> again).
The API is unaffected and still served under <code>/api/v1/</code>.</p>
</body></html>
`

func (notBuilt) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := path.Clean("/" + r.URL.Path)
	if strings.HasPrefix(p, "/assets/") || strings.HasPrefix(p, "/api/") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusServiceUnavailable)
	if r.Method != http.MethodHead {
		fmt.Fprint(w, notBuiltPage)
	}
}
