package ledger

import (
	"bytes"
	"errors"
	"io/fs"
	"math/bits"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/transparency-dev/tessera/api/layout"
)

// Handler serves the log read-only with the C2SP tlog-tiles API:
//
//	GET /checkpoint                      text/plain; Cache-Control: no-cache
//	GET /tile/<L>/<N>[.p/<W>]            application/octet-stream; immutable
//	GET /tile/entries/<N>[.p/<W>]        application/octet-stream; immutable
//
// Paths are relative to where the handler is mounted; mount it with
// http.StripPrefix (the server uses "/ledger"). Only canonical tile paths
// are served, and only tiles and bundles that the published checkpoint
// commits to, so a crash leftover or an integrated-but-unpublished tile is
// never served (and never cached as immutable). There is no directory
// listing and no other file is reachable.
func (l *Log) Handler() http.Handler {
	return http.HandlerFunc(l.serveTiles)
}

func (l *Log) serveTiles(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := strings.TrimPrefix(r.URL.Path, "/")
	if p == layout.CheckpointPath {
		st, err := l.refresh(r.Context())
		if err != nil {
			notFound(w)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(st.checkpoint))
		return
	}
	res, ok := parseTilePath(p)
	if !ok {
		notFound(w)
		return
	}
	published := l.pub.Load().size
	if !res.committedBy(published) {
		// The watcher may lag a client that has just read a newer checkpoint.
		if st, err := l.refresh(r.Context()); err == nil {
			published = st.size
		}
		if !res.committedBy(published) {
			notFound(w)
			return
		}
	}
	data, err := os.ReadFile(filepath.Join(l.root, filepath.FromSlash(p)))
	if errors.Is(err, fs.ErrNotExist) {
		// Partial tiles are garbage-collected once the full tile exists;
		// clients then fall back to the full tile.
		notFound(w)
		return
	}
	if err != nil {
		l.log.Error("ledger: serve tile", "path", p, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	// The content of a tile or bundle of a given width never changes once
	// a published checkpoint commits to it.
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

func notFound(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-cache")
	http.Error(w, "not found", http.StatusNotFound)
}

// tileResource is a parsed tile or entry-bundle path.
type tileResource struct {
	entries bool   // an entry bundle (tile/entries/…)
	level   uint64 // hash tile level
	index   uint64
	width   uint64 // 1..256; 256 for a full tile
}

// parseTilePath parses a tlog-tiles path (without leading slash) and accepts
// it only in canonical form, so that one resource has exactly one path.
func parseTilePath(p string) (tileResource, bool) {
	rest, ok := strings.CutPrefix(p, "tile/")
	if !ok {
		return tileResource{}, false
	}
	levelStr, indexStr, ok := strings.Cut(rest, "/")
	if !ok {
		return tileResource{}, false
	}
	var res tileResource
	if levelStr == "entries" {
		res.entries = true
	} else {
		lv, err := layout.ParseTileLevel(levelStr)
		if err != nil {
			return tileResource{}, false
		}
		res.level = lv
	}
	idx, w, err := layout.ParseTileIndexPartial(indexStr)
	if err != nil {
		return tileResource{}, false
	}
	res.index, res.width = idx, uint64(w)
	canonical := layout.TilePath(res.level, idx, w)
	if res.entries {
		canonical = layout.EntriesPath(idx, w)
	}
	if canonical != p {
		return tileResource{}, false
	}
	if res.width == 0 {
		res.width = layout.TileWidth
	}
	return res, true
}

// committedBy reports whether a tree of the given size commits to the whole
// resource: a level-L tile with index N and width W covers leaves up to
// (N·256 + W)·256^L.
func (t tileResource) committedBy(size uint64) bool {
	hi, lo := bits.Mul64(t.index, layout.TileWidth)
	if hi != 0 {
		return false
	}
	end, carry := bits.Add64(lo, t.width, 0)
	if carry != 0 {
		return false
	}
	for range t.level {
		hi, end = bits.Mul64(end, layout.TileWidth)
		if hi != 0 {
			return false
		}
	}
	return end <= size
}
