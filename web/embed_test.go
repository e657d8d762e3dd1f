package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

var (
	indexHTML = []byte(`<!doctype html><html><head><script type="module" src="/assets/index-AbC123.js"></script></head><body></body></html>`)
	appJS     = []byte(strings.Repeat("console.log('水效 shuixiao');\n", 200))
)

func testDist() fstest.MapFS {
	return fstest.MapFS{
		"index.html":             {Data: indexHTML},
		"assets/index-AbC123.js": {Data: appJS},
		"assets/index-Zz9.css":   {Data: []byte("body{margin:0}")},
		"favicon.svg":            {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
	}
}

func newTestHandler(t *testing.T) http.Handler {
	t.Helper()
	h, err := newHandler(testDist())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func do(h http.Handler, method, target string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandlerHeaders(t *testing.T) {
	h := newTestHandler(t)
	tests := []struct {
		name, target    string
		header          map[string]string
		status          int
		cacheControl    string
		contentType     string
		contentEncoding string
		body            []byte // compared after decoding gzip; nil: not checked
	}{
		{"root is index.html", "/", nil, 200, "no-cache", "text/html; charset=utf-8", "", indexHTML},
		{"index.html itself", "/index.html", nil, 200, "no-cache", "text/html; charset=utf-8", "", indexHTML},
		{"client route falls back", "/enterprises/E-430300-01", nil, 200, "no-cache", "text/html; charset=utf-8", "", indexHTML},
		{"client route with a dot", "/meters/HN.430300.0001", nil, 200, "no-cache", "text/html; charset=utf-8", "", indexHTML},
		{"hashed asset is immutable", "/assets/index-AbC123.js", nil, 200, cacheImmutable, "text/javascript; charset=utf-8", "", appJS},
		{"hashed asset gzipped", "/assets/index-AbC123.js", map[string]string{"Accept-Encoding": "br, gzip"}, 200, cacheImmutable, "text/javascript; charset=utf-8", "gzip", appJS},
		{"gzip refused with q=0", "/assets/index-AbC123.js", map[string]string{"Accept-Encoding": "gzip;q=0"}, 200, cacheImmutable, "text/javascript; charset=utf-8", "", appJS},
		{"small file not gzipped", "/assets/index-Zz9.css", map[string]string{"Accept-Encoding": "gzip"}, 200, cacheImmutable, "text/css; charset=utf-8", "", []byte("body{margin:0}")},
		{"unhashed root file revalidates", "/favicon.svg", nil, 200, "no-cache", "image/svg+xml", "", nil},
		{"missing asset is 404", "/assets/index-Old999.js", nil, 404, "", "", "", nil},
		{"asset dir is 404", "/assets/", nil, 404, "", "", "", nil},
		{"api path is 404", "/api/v2/nothing", nil, 404, "", "", "", nil},
		{"traversal stays inside", "/assets/../../embed.go", nil, 200, "no-cache", "text/html; charset=utf-8", "", indexHTML},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(h, http.MethodGet, tt.target, tt.header)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if tt.status != 200 {
				return
			}
			if got := rec.Header().Get("Cache-Control"); got != tt.cacheControl {
				t.Errorf("Cache-Control %q, want %q", got, tt.cacheControl)
			}
			if got := rec.Header().Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			if got := rec.Header().Get("Content-Encoding"); got != tt.contentEncoding {
				t.Errorf("Content-Encoding %q, want %q", got, tt.contentEncoding)
			}
			if rec.Header().Get("ETag") == "" {
				t.Error("no ETag")
			}
			if tt.body != nil {
				body := rec.Body.Bytes()
				if tt.contentEncoding == "gzip" {
					zr, err := gzip.NewReader(bytes.NewReader(body))
					if err != nil {
						t.Fatal(err)
					}
					if body, err = io.ReadAll(zr); err != nil {
						t.Fatal(err)
					}
					if rec.Body.Len() >= len(tt.body) {
						t.Errorf("gzip body %d B is not smaller than %d B", rec.Body.Len(), len(tt.body))
					}
				}
				if !bytes.Equal(body, tt.body) {
					t.Errorf("body differs: %.60q", body)
				}
			}
		})
	}
}

func TestIndexSecurityHeaders(t *testing.T) {
	rec := do(newTestHandler(t), http.MethodGet, "/overview", nil)
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Error("no nosniff")
	}
}

func TestConditionalGet(t *testing.T) {
	h := newTestHandler(t)
	tests := []struct {
		name, target string
		gzip         bool
	}{
		{"index", "/", false},
		{"client route shares the index ETag", "/alarms", false},
		{"asset", "/assets/index-AbC123.js", false},
		{"gzipped asset", "/assets/index-AbC123.js", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.gzip {
				hdr["Accept-Encoding"] = "gzip"
			}
			first := do(h, http.MethodGet, tt.target, hdr)
			etag := first.Header().Get("ETag")
			if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) {
				t.Fatalf("ETag %q is not a quoted strong tag", etag)
			}
			for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
				hdr["If-None-Match"] = inm
				rec := do(h, http.MethodGet, tt.target, hdr)
				if rec.Code != http.StatusNotModified {
					t.Errorf("If-None-Match %s: status %d, want 304", inm, rec.Code)
				}
				if rec.Body.Len() != 0 {
					t.Errorf("304 with a body")
				}
			}
			hdr["If-None-Match"] = `"stale"`
			if rec := do(h, http.MethodGet, tt.target, hdr); rec.Code != http.StatusOK {
				t.Errorf("stale ETag: status %d, want 200", rec.Code)
			}
		})
	}
	// The same content must keep its ETag across handler instances (restarts),
	// and a changed index.html must get a new one.
	e1 := do(h, http.MethodGet, "/", nil).Header().Get("ETag")
	e2 := do(newTestHandler(t), http.MethodGet, "/", nil).Header().Get("ETag")
	if e1 != e2 {
		t.Errorf("ETag changed across instances: %s vs %s", e1, e2)
	}
	d := testDist()
	d["index.html"] = &fstest.MapFile{Data: append([]byte(nil), append(indexHTML, ' ')...)}
	h3, err := newHandler(d)
	if err != nil {
		t.Fatal(err)
	}
	if e3 := do(h3, http.MethodGet, "/", nil).Header().Get("ETag"); e3 == e1 {
		t.Error("changed index.html kept its ETag")
	}
	gz := do(h, http.MethodGet, "/assets/index-AbC123.js", map[string]string{"Accept-Encoding": "gzip"}).Header().Get("ETag")
	plain := do(h, http.MethodGet, "/assets/index-AbC123.js", nil).Header().Get("ETag")
	if gz == plain {
		t.Error("gzip and identity representations share an ETag")
	}
}

func TestMethods(t *testing.T) {
	h := newTestHandler(t)
	if rec := do(h, http.MethodPost, "/", nil); rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") == "" {
		t.Errorf("POST: status %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
	rec := do(h, http.MethodHead, "/assets/index-AbC123.js", nil)
	if rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") != strconv.Itoa(len(appJS)) {
		t.Errorf("HEAD: status %d, body %d B, Content-Length %s", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Length"))
	}
}

func TestNotBuilt(t *testing.T) {
	if _, err := newHandler(fstest.MapFS{"README.md": {Data: []byte("x")}}); err == nil {
		t.Fatal("newHandler accepted a build without index.html")
	}
	h := notBuilt{}
	rec := do(h, http.MethodGet, "/", nil)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", rec.Code)
	}
	for _, want := range []string{"控制台尚未构建", "Console not built", "make"} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if rec := do(h, http.MethodGet, "/assets/x.js", nil); rec.Code != http.StatusNotFound {
		t.Errorf("asset without build: status %d, want 404", rec.Code)
	}
}

// TestEmbedded checks the real embedded file system: with a build, Handler
// serves its index.html; without one, the not-built page.
func TestEmbedded(t *testing.T) {
	rec := do(Handler(), http.MethodGet, "/", nil)
	if !Built() {
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("no build embedded, but / answered %d", rec.Code)
		}
		return
	}
	want, err := fs.ReadFile(static, distDir+"/index.html")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), want) {
		t.Fatalf("built console: status %d, body is not dist/index.html", rec.Code)
	}
}

// maxScriptGzip is the budget for all JavaScript of the console, gzipped
// (the console's brief: ≤ 400 KB).
const maxScriptGzip = 400 << 10

// TestBundleBudget keeps the built console's scripts within budget; it
// needs a build (make runs one before the Go tests).
func TestBundleBudget(t *testing.T) {
	if !Built() {
		t.Skip("console not built")
	}
	dist, err := fs.Sub(static, distDir)
	if err != nil {
		t.Fatal(err)
	}
	h, err := newHandler(dist)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for name, f := range h.(*spa).files {
		if strings.HasSuffix(name, ".js") {
			n := len(f.body)
			if f.gzipped != nil {
				n = len(f.gzipped)
			}
			t.Logf("%s: %d B, %d B gzipped", name, len(f.body), n)
			total += n
		}
	}
	if total == 0 {
		t.Fatal("no scripts in the build")
	}
	t.Logf("scripts: %d B gzipped in total (budget %d B)", total, maxScriptGzip)
	if total > maxScriptGzip {
		t.Errorf("scripts take %d B gzipped, over the %d B budget", total, maxScriptGzip)
	}
}

func BenchmarkServeAsset(b *testing.B) {
	h, err := newHandler(testDist())
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/assets/index-AbC123.js", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}
