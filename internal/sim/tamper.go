package sim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/shuixiao/shuixiao/internal/atomicfile"
	"github.com/shuixiao/shuixiao/reading"
)

// TamperReport says which stored reading TamperLedger changed.
type TamperReport struct {
	File    string // the full entry bundle edited
	Partial []string
	Index   uint64 // the entry's ledger index
	Meter   string
	Seq     uint64
	Line    string // the changed line, before
	Changed string // and after
	// LogDir is the tlog-tiles directory holding the bundle and KeyFile the
	// log's verifier key beside it (package ledger's log.vkey), if present:
	// `shuixiao verify log LogDir --log-key KeyFile` must report Index.
	LogDir, KeyFile string
}

// ErrNothingToTamper means no full entry bundle with a reading exists yet.
var ErrNothingToTamper = errors.New("no full entry bundle with a reading yet")

// TamperLedger changes one digit of one stored reading inside the ledger's
// tlog-tiles entry bundles under dir (searched recursively for
// tile/entries, the layout of the tessera POSIX driver that package ledger
// uses: ledger files at <dir>/…/log/tile/entries/…). It edits a full bundle
// (256 entries, never rewritten by the log), preferring a reading of a
// meter for which prefer returns true, and the same entry in any partial
// copy of that bundle. The entry keeps its length, so the bundle still
// parses; its signature and the tree no longer match, which `shuixiao
// verify log` must report.
func TamperLedger(dir string, prefer func(meterID string) bool) (TamperReport, error) {
	var bundles []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable corners (e.g. the server's private state) are skipped
		}
		if d.IsDir() {
			return nil
		}
		slash := filepath.ToSlash(p)
		i := strings.Index(slash, "/tile/entries/")
		if i < 0 || strings.Contains(slash[i:], ".p/") {
			return nil
		}
		bundles = append(bundles, p)
		return nil
	})
	if err != nil {
		return TamperReport{}, fmt.Errorf("tamper: walk %s: %w", dir, err)
	}
	type candidate struct {
		path string
		pos  int
	}
	var fallback *candidate
	for _, p := range bundles {
		entries, err := readBundle(p)
		if err != nil || len(entries) != 256 {
			continue
		}
		for i, e := range entries {
			if reading.Kind(e) != reading.Header {
				continue
			}
			r, err := reading.Parse(e)
			if err != nil {
				continue
			}
			if prefer != nil && prefer(r.Meter) {
				return tamperAt(p, i)
			}
			if fallback == nil {
				fallback = &candidate{p, i}
			}
		}
	}
	if fallback == nil {
		return TamperReport{}, ErrNothingToTamper
	}
	return tamperAt(fallback.path, fallback.pos)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func readBundle(p string) ([][]byte, error) {
	raw, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	entries, err := parseBundle(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return entries, nil
}

// parseBundle splits a tlog-tiles entry bundle: entries, each prefixed by
// its length as a big-endian uint16.
func parseBundle(raw []byte) ([][]byte, error) {
	var out [][]byte
	for i := 0; i < len(raw); {
		if i+2 > len(raw) {
			return nil, errors.New("dangling bytes after the last entry")
		}
		n := int(binary.BigEndian.Uint16(raw[i:]))
		if i+2+n > len(raw) {
			return nil, fmt.Errorf("entry at byte %d truncated", i)
		}
		out = append(out, raw[i+2:i+2+n])
		i += 2 + n
	}
	return out, nil
}

// bundleIndex parses the bundle number from a tlog-tiles path
// ".../tile/entries/x001/x234/067" → 1234067.
func bundleIndex(p string) (uint64, error) {
	slash := filepath.ToSlash(p)
	i := strings.Index(slash, "/tile/entries/")
	if i < 0 {
		return 0, fmt.Errorf("%s: not an entry bundle path", p)
	}
	digits := strings.ReplaceAll(strings.ReplaceAll(slash[i+len("/tile/entries/"):], "x", ""), "/", "")
	return strconv.ParseUint(digits, 10, 64)
}

func tamperAt(path string, pos int) (TamperReport, error) {
	entries, err := readBundle(path)
	if err != nil {
		return TamperReport{}, fmt.Errorf("tamper: %w", err)
	}
	orig := bytes.Clone(entries[pos])
	changed, before, after, err := changeDigit(orig)
	if err != nil {
		return TamperReport{}, fmt.Errorf("tamper: %s entry %d: %w", path, pos, err)
	}
	n, err := bundleIndex(path)
	if err != nil {
		return TamperReport{}, fmt.Errorf("tamper: %w", err)
	}
	r, _ := reading.Parse(orig)
	rep := TamperReport{File: path, Index: n*256 + uint64(pos), Meter: r.Meter, Seq: r.Seq, Line: before, Changed: after}
	slash := filepath.ToSlash(path)
	rep.LogDir = filepath.FromSlash(slash[:strings.Index(slash, "/tile/entries/")])
	if k := filepath.Join(filepath.Dir(rep.LogDir), "log.vkey"); fileExists(k) {
		rep.KeyFile = k
	}
	if err := replaceEntry(path, orig, changed); err != nil {
		return TamperReport{}, err
	}
	// Partial copies of the same bundle (kept until the log collects them).
	parts, _ := filepath.Glob(path + ".p/*")
	for _, p := range parts {
		if err := replaceEntry(p, orig, changed); err == nil {
			rep.Partial = append(rep.Partial, p)
		}
	}
	return rep, nil
}

// changeDigit changes the last digit of the first channel value in a
// reading's text (not the signature): "total_m3 123.456" → "total_m3 123.457".
func changeDigit(entry []byte) (changed []byte, before, after string, err error) {
	text, _, err := reading.SplitNote(entry)
	if err != nil {
		return nil, "", "", err
	}
	lines := strings.Split(string(text), "\n")
	offset := 0
	header := map[string]bool{"meter": true, "seq": true, "time": true, "prev": true, "point": true, "cp": true}
	for i, line := range lines {
		k, v, ok := strings.Cut(line, " ")
		if i > 0 && ok && !header[k] && len(v) > 0 && v[len(v)-1] >= '0' && v[len(v)-1] <= '9' {
			d := v[len(v)-1]
			nd := '0' + (d-'0'+1)%10
			at := offset + len(line) - 1
			changed = bytes.Clone(entry)
			changed[at] = byte(nd)
			return changed, line, line[:len(line)-1] + string(rune(nd)), nil
		}
		offset += len(line) + 1
	}
	return nil, "", "", errors.New("no channel value to change")
}

// replaceEntry rewrites a bundle file with one entry's bytes replaced by
// same-length bytes, atomically and keeping the file's mode.
func replaceEntry(path string, from, to []byte) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("tamper: %w", err)
	}
	entries, err := readBundle(path)
	if err != nil {
		return fmt.Errorf("tamper: %w", err)
	}
	found := false
	var out []byte
	for _, e := range entries {
		if !found && bytes.Equal(e, from) {
			e, found = to, true
		}
		out = binary.BigEndian.AppendUint16(out, uint16(len(e)))
		out = append(out, e...)
	}
	if !found {
		return fmt.Errorf("tamper: %s: entry not found", path)
	}
	if len(out) != len(raw) {
		return fmt.Errorf("tamper: %s: length changed", path)
	}
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("tamper: %w", err)
	}
	if err := atomicfile.Write(path, out, info.Mode().Perm()); err != nil {
		return fmt.Errorf("tamper: %w", err)
	}
	return nil
}
