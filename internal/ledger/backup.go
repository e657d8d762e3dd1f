package ledger

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/transparency-dev/tessera/api/layout"
)

// BackupInfo describes what Backup copied.
type BackupInfo struct {
	// CheckpointSize is the size of the published checkpoint copied (0 if
	// none was published yet); TreeSize that of the integrated tree copied.
	// CheckpointSize <= TreeSize.
	CheckpointSize, TreeSize uint64
	Files                    int
}

// Backup copies the ledger in dir — which a running server may be
// appending to — as a consistent prefix of the log, handing each file to
// put with its path relative to dir (slash-separated) and its mode.
//
// The order of reading is what makes the copy consistent: the published
// checkpoint first, then the tree state (never smaller), then the tiles
// and entry bundles those two sizes need. Full tiles and bundles are never
// changed once written. A partial one that tessera has since outgrown and
// garbage-collected is cut from the larger one that replaced it: a tile of
// width w is the first w hashes of any wider tile at its place, a bundle
// of w entries the first w entries. Files beyond the copied tree size are
// left out, so a server opened on the copy continues the log from TreeSize.
func Backup(dir string, put func(name string, data []byte, mode fs.FileMode) error) (BackupInfo, error) {
	var info BackupInfo
	copied := map[string]bool{}
	emit := func(name string, data []byte, mode fs.FileMode) error {
		if err := put(name, data, mode); err != nil {
			return err
		}
		copied[name] = true
		info.Files++
		return nil
	}
	for _, k := range []struct {
		name string
		mode fs.FileMode
	}{{"log.key", 0o600}, {"log.vkey", 0o644}} {
		b, err := os.ReadFile(filepath.Join(dir, k.name))
		if err != nil {
			return info, fmt.Errorf("ledger backup: %w", err)
		}
		if err := emit(k.name, b, k.mode); err != nil {
			return info, err
		}
	}
	root := filepath.Join(dir, "log")
	cp, err := os.ReadFile(filepath.Join(root, layout.CheckpointPath))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return info, fmt.Errorf("ledger backup: %w", err)
	default:
		if info.CheckpointSize, err = checkpointSize(cp); err != nil {
			return info, fmt.Errorf("ledger backup: checkpoint: %w", err)
		}
	}
	state, err := os.ReadFile(filepath.Join(root, ".state", "treeState"))
	if errors.Is(err, fs.ErrNotExist) {
		return info, nil // an empty ledger: keys only
	}
	if err != nil {
		return info, fmt.Errorf("ledger backup: %w", err)
	}
	var ts struct {
		Size uint64 `json:"size"`
	}
	if err := json.Unmarshal(state, &ts); err != nil {
		return info, fmt.Errorf("ledger backup: tree state: %w", err)
	}
	if ts.Size < info.CheckpointSize {
		return info, fmt.Errorf("ledger backup: tree state size %d is below the checkpoint's %d", ts.Size, info.CheckpointSize)
	}
	info.TreeSize = ts.Size
	if cp != nil {
		if err := emit("log/"+layout.CheckpointPath, cp, 0o644); err != nil {
			return info, err
		}
	}
	if err := emit("log/.state/treeState", state, 0o644); err != nil {
		return info, err
	}
	if v, err := os.ReadFile(filepath.Join(root, ".state", "version")); err == nil {
		if err := emit("log/.state/version", v, 0o644); err != nil {
			return info, err
		}
	}
	for _, size := range []uint64{info.CheckpointSize, info.TreeSize} {
		for _, r := range resources(size) {
			name := "log/" + r.path()
			if copied[name] {
				continue
			}
			b, err := r.read(root)
			if err != nil {
				return info, fmt.Errorf("ledger backup at size %d: %w", size, err)
			}
			if err := emit(name, b, 0o644); err != nil {
				return info, err
			}
		}
	}
	return info, nil
}

// checkpointSize reads the tree size of a tlog-checkpoint (its second line).
func checkpointSize(cp []byte) (uint64, error) {
	lines := strings.SplitN(string(cp), "\n", 3)
	if len(lines) < 3 {
		return 0, errors.New("too short")
	}
	return strconv.ParseUint(lines[1], 10, 64)
}

// resource is one tile (level >= 0) or entry bundle (level -1) of width p
// (0: full).
type resource struct {
	level int
	index uint64
	p     uint8
}

func (r resource) path() string {
	if r.level < 0 {
		return layout.EntriesPath(r.index, r.p)
	}
	return layout.TilePath(uint64(r.level), r.index, r.p)
}

// resources lists every tile and entry bundle a tree of the given size is
// made of.
func resources(size uint64) []resource {
	var out []resource
	add := func(level int, nodes uint64) {
		for i := uint64(0); i < nodes/layout.TileWidth; i++ {
			out = append(out, resource{level: level, index: i})
		}
		if w := nodes % layout.TileWidth; w > 0 {
			out = append(out, resource{level: level, index: nodes / layout.TileWidth, p: uint8(w)})
		}
	}
	add(-1, size)
	for level, nodes := 0, size; nodes > 0; level, nodes = level+1, nodes/layout.TileWidth {
		add(level, nodes)
	}
	return out
}

// read returns the resource's bytes: its own file, else (a partial one
// garbage-collected since) the first p items of the full or a wider partial
// file at its place.
func (r resource) read(root string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(r.path())))
	if err == nil || r.p == 0 || !errors.Is(err, fs.ErrNotExist) {
		return b, err
	}
	wider := resource{level: r.level, index: r.index}
	b, err = os.ReadFile(filepath.Join(root, filepath.FromSlash(wider.path())))
	if errors.Is(err, fs.ErrNotExist) {
		// No full one yet: the widest partial written since.
		partials := filepath.Join(root, filepath.FromSlash(wider.path())+".p")
		ents, derr := os.ReadDir(partials)
		if derr != nil {
			return nil, fmt.Errorf("%s: %w", r.path(), err)
		}
		best := 0
		for _, e := range ents {
			if w, perr := strconv.Atoi(e.Name()); perr == nil && w > best {
				best = w
			}
		}
		if best <= int(r.p) {
			return nil, fmt.Errorf("%s: %w", r.path(), err)
		}
		b, err = os.ReadFile(filepath.Join(partials, strconv.Itoa(best)))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.path(), err)
	}
	return r.prefix(b)
}

// prefix cuts a wider tile or bundle down to the resource's width.
func (r resource) prefix(b []byte) ([]byte, error) {
	w := int(r.p)
	if r.level >= 0 {
		if len(b) < w*32 {
			return nil, fmt.Errorf("%s: wider tile has only %d bytes", r.path(), len(b))
		}
		return bytes.Clone(b[:w*32]), nil
	}
	off := 0
	for i := 0; i < w; i++ {
		if off+2 > len(b) {
			return nil, fmt.Errorf("%s: wider bundle ends after %d entries", r.path(), i)
		}
		off += 2 + int(binary.BigEndian.Uint16(b[off:]))
	}
	if off > len(b) {
		return nil, fmt.Errorf("%s: wider bundle is cut short", r.path())
	}
	return bytes.Clone(b[:off]), nil
}
