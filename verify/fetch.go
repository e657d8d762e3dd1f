package verify

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/transparency-dev/tessera/api/layout"
)

// Size limits for what a log may send; a hostile server cannot make the
// verifier read more than this per resource.
const (
	maxTileSize   = layout.TileWidth * 32
	maxBundleSize = layout.EntryBundleWidth * (2 + 1<<16)
)

// Fetcher reads a log's tlog-tiles resources. A partial resource (p > 0)
// that is missing falls back to the full one, as the tlog-tiles spec
// allows; a resource that does not exist is reported with fs.ErrNotExist.
type Fetcher interface {
	ReadCheckpoint(ctx context.Context) ([]byte, error)
	ReadTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error)
	ReadEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error)
}

// NewFetcher returns a Fetcher for a log in a local directory (the tiles
// root, or a ledger data directory holding it in log/) or served at an
// http(s) URL (e.g. http://host:8080/ledger/). hc may be nil.
func NewFetcher(location string, hc *http.Client) (Fetcher, error) {
	if strings.HasPrefix(location, "http://") || strings.HasPrefix(location, "https://") {
		u, err := url.Parse(location)
		if err != nil {
			return nil, fmt.Errorf("log URL %q: %w", location, err)
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
		}
		if hc == nil {
			hc = &http.Client{Timeout: time.Minute}
		}
		return &httpFetcher{base: u, client: hc}, nil
	}
	info, err := os.Stat(location)
	if err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("log directory: %s is not a directory", location)
	}
	// A ledger data directory holds the log in log/: accept either.
	if _, err := os.Stat(filepath.Join(location, layout.CheckpointPath)); err != nil {
		if _, err := os.Stat(filepath.Join(location, "log", layout.CheckpointPath)); err == nil {
			location = filepath.Join(location, "log")
		}
	}
	return dirFetcher(location), nil
}

// IsLogLocation reports whether s names a log (a URL or a directory) rather
// than a file.
func IsLogLocation(s string) bool {
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		return true
	}
	info, err := os.Stat(s)
	return err == nil && info.IsDir()
}

type dirFetcher string

func (d dirFetcher) read(p string, limit int64) ([]byte, error) {
	f, err := os.Open(filepath.Join(string(d), filepath.FromSlash(p)))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(f, limit, p)
}

func (d dirFetcher) ReadCheckpoint(context.Context) ([]byte, error) {
	return d.read(layout.CheckpointPath, MaxCheckpointSize)
}

func (d dirFetcher) ReadTile(_ context.Context, level, index uint64, p uint8) ([]byte, error) {
	return partialOrFull(p, func(p uint8) ([]byte, error) {
		return d.read(layout.TilePath(level, index, p), maxTileSize)
	})
}

func (d dirFetcher) ReadEntryBundle(_ context.Context, index uint64, p uint8) ([]byte, error) {
	return partialOrFull(p, func(p uint8) ([]byte, error) {
		return d.read(layout.EntriesPath(index, p), maxBundleSize)
	})
}

type httpFetcher struct {
	base   *url.URL
	client *http.Client
}

func (h *httpFetcher) get(ctx context.Context, p string, limit int64) ([]byte, error) {
	u := h.base.JoinPath(p)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return readLimited(resp.Body, limit, u.String())
	case http.StatusNotFound:
		return nil, fmt.Errorf("GET %s: %w", u, fs.ErrNotExist)
	default:
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
}

func (h *httpFetcher) ReadCheckpoint(ctx context.Context) ([]byte, error) {
	return h.get(ctx, layout.CheckpointPath, MaxCheckpointSize)
}

func (h *httpFetcher) ReadTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
	return partialOrFull(p, func(p uint8) ([]byte, error) {
		return h.get(ctx, layout.TilePath(level, index, p), maxTileSize)
	})
}

func (h *httpFetcher) ReadEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error) {
	return partialOrFull(p, func(p uint8) ([]byte, error) {
		return h.get(ctx, layout.EntriesPath(index, p), maxBundleSize)
	})
}

func readLimited(r io.Reader, limit int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", what, limit)
	}
	return b, nil
}

// partialOrFull reads a partial resource, falling back to the full one when
// the partial has been garbage-collected after the resource filled up.
func partialOrFull(p uint8, read func(p uint8) ([]byte, error)) ([]byte, error) {
	b, err := read(p)
	if p != 0 && errors.Is(err, fs.ErrNotExist) {
		return read(0)
	}
	return b, err
}

// parseBundle splits a tlog-tiles entry bundle (big-endian uint16 length
// prefixed entries) into its entries.
func parseBundle(raw []byte) ([][]byte, error) {
	var out [][]byte
	for len(raw) > 0 {
		if len(raw) < 2 {
			return nil, fmt.Errorf("%w entry bundle: %d dangling bytes", ErrMalformed, len(raw))
		}
		n := int(binary.BigEndian.Uint16(raw))
		if 2+n > len(raw) {
			return nil, fmt.Errorf("%w entry bundle: entry %d claims %d bytes, %d left", ErrMalformed, len(out), n, len(raw)-2)
		}
		if len(out) == layout.EntryBundleWidth {
			return nil, fmt.Errorf("%w entry bundle: more than %d entries", ErrMalformed, layout.EntryBundleWidth)
		}
		out = append(out, raw[2:2+n])
		raw = raw[2+n:]
	}
	return out, nil
}
