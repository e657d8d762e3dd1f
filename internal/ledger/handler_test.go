package ledger

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/shuixiao/shuixiao/verify"
)

func TestHandlerServesTilesReadOnly(t *testing.T) {
	l := openTestLog(t, testOptions(t.TempDir()))
	ctx := context.Background()
	meters := newTestMeters(t, 3)
	populate(t, l, meters, 100) // 303 entries: one full bundle and a partial one
	size, _ := l.Size(ctx)
	awaitSize(t, l, size)
	mux := http.NewServeMux()
	mux.Handle("/ledger/", http.StripPrefix("/ledger", l.Handler()))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	get := func(method, path string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, body
	}
	cp, _ := l.Checkpoint(ctx)
	tests := []struct {
		path, method string
		status       int
		contentType  string
		cache        string
		body         []byte
	}{
		{"/ledger/checkpoint", "GET", 200, "text/plain; charset=utf-8", "no-cache", cp},
		{"/ledger/tile/0/000", "GET", 200, "application/octet-stream", "public, max-age=31536000, immutable", nil},
		{"/ledger/tile/entries/000", "GET", 200, "application/octet-stream", "public, max-age=31536000, immutable", nil},
		{"/ledger/tile/entries/001.p/47", "GET", 200, "application/octet-stream", "public, max-age=31536000, immutable", nil},
		{"/ledger/tile/1/000.p/1", "GET", 200, "application/octet-stream", "public, max-age=31536000, immutable", nil},
		{"/ledger/tile/entries/000", "HEAD", 200, "application/octet-stream", "public, max-age=31536000, immutable", nil},
		// Not committed to by the published tree.
		{"/ledger/tile/entries/001.p/48", "GET", 404, "", "no-cache", nil},
		{"/ledger/tile/entries/001", "GET", 404, "", "no-cache", nil},
		{"/ledger/tile/0/002", "GET", 404, "", "no-cache", nil},
		// Non-canonical spellings and everything that is not a tile.
		{"/ledger/tile/entries/0", "GET", 404, "", "no-cache", nil},
		{"/ledger/tile/00/000", "GET", 404, "", "no-cache", nil},
		{"/ledger/tile/entries/x000/000", "GET", 404, "", "no-cache", nil},
		{"/ledger/tile/entries/001.p/047", "GET", 404, "", "no-cache", nil},
		{"/ledger/tile/entries/001.p/0", "GET", 404, "", "no-cache", nil},
		{"/ledger/tile/entries/", "GET", 404, "", "no-cache", nil},
		{"/ledger/tile/", "GET", 404, "", "no-cache", nil},
		{"/ledger/", "GET", 404, "", "no-cache", nil},
		{"/ledger/.state/treeState", "GET", 404, "", "no-cache", nil},
		{"/ledger/tile/entries/../../../log.key", "GET", 404, "", "", nil},
		{"/ledger/tile/entries/%2e%2e/%2e%2e/log.key", "GET", 404, "", "no-cache", nil},
		{"/ledger/checkpoint", "POST", 405, "", "", nil},
		{"/ledger/tile/0/000", "DELETE", 405, "", "", nil},
	}
	for _, tc := range tests {
		resp, body := get(tc.method, tc.path)
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
			continue
		}
		if tc.contentType != "" && resp.Header.Get("Content-Type") != tc.contentType {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, resp.Header.Get("Content-Type"))
		}
		if tc.cache != "" && resp.Header.Get("Cache-Control") != tc.cache {
			t.Errorf("%s %s: Cache-Control %q, want %q", tc.method, tc.path, resp.Header.Get("Cache-Control"), tc.cache)
		}
		if tc.body != nil && !bytes.Equal(body, tc.body) {
			t.Errorf("%s %s: body %q", tc.method, tc.path, body)
		}
	}
	resp, body := get("GET", "/ledger/tile/entries/000")
	want, _ := os.ReadFile(filepath.Join(l.root, "tile", "entries", "000"))
	if resp.StatusCode != 200 || !bytes.Equal(body, want) {
		t.Fatal("entry bundle served differs from the file")
	}

	// The independent verifier audits the log over HTTP.
	f, err := verify.NewFetcher(srv.URL+"/ledger/", nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Audit(ctx, f, verify.AuditOptions{LogKey: mustVerifier(t, l.VerifierKey())})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed(true) || rep.Entries != size || rep.TilesChecked < 3 {
		t.Fatalf("audit over HTTP: %+v", rep)
	}
}

func TestParseTilePath(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
		want tileResource
	}{
		{"tile/0/000", true, tileResource{level: 0, index: 0, width: 256}},
		{"tile/3/x001/x234/067.p/8", true, tileResource{level: 3, index: 1234067, width: 8}},
		{"tile/entries/x001/234", true, tileResource{entries: true, index: 1234, width: 256}},
		{"tile/entries/123.p/255", true, tileResource{entries: true, index: 123, width: 255}},
		{"tile/entries/123.p/256", false, tileResource{}},
		{"tile/64/000", false, tileResource{}},
		{"tile/0/001234", false, tileResource{}},
		{"tile/0/x000/001", false, tileResource{}},
		{"tile/0/-01", false, tileResource{}},
		{"tile/0/000.p/", false, tileResource{}},
		{"tile/0/000.p/1/", false, tileResource{}},
		{"tile/0/000/", false, tileResource{}},
		{"tile//000", false, tileResource{}},
		{"checkpoint", false, tileResource{}},
	}
	for _, tc := range tests {
		got, ok := parseTilePath(tc.path)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseTilePath(%q) = %+v, %v; want %+v, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
	// Coverage: a level-1 tile of width 2 needs 512 leaves.
	r := tileResource{level: 1, index: 0, width: 2}
	if r.committedBy(511) || !r.committedBy(512) {
		t.Error("committedBy level 1")
	}
	if (tileResource{level: 7, index: 1 << 50, width: 256}).committedBy(^uint64(0)) {
		t.Error("committedBy overflow")
	}
}

func FuzzParseTilePath(f *testing.F) {
	for _, s := range []string{"tile/0/000", "tile/3/x001/x234/067.p/8", "tile/entries/123.p/255", "checkpoint", "tile/entries/../x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		r, ok := parseTilePath(p)
		if !ok {
			return
		}
		// Accepted paths are canonical: formatting the parse gives p back.
		w := uint8(r.width)
		if r.width == 256 {
			w = 0
		}
		var again string
		if r.entries {
			again = "tile/entries/" + formatN(r.index, w)
		} else {
			again = "tile/" + itoa(r.level) + "/" + formatN(r.index, w)
		}
		if again != p {
			t.Fatalf("accepted non-canonical %q (canonical %q)", p, again)
		}
		r.committedBy(^uint64(0))
	})
}

// formatN spells a tile index as tlog-tiles does (x001/x234/067), with a
// partial-width suffix; written independently of the layout package.
func formatN(n uint64, w uint8) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n /= 1000; n > 0; n /= 1000 {
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	if w > 0 {
		s += fmt.Sprintf(".p/%d", w)
	}
	return s
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
