package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/ledger"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/verify"
)

func init() {
	register("backup", "copy a data directory, while its server runs, into one .tar.gz", runBackup)
	register("restore", "unpack a backup into a new data directory and audit its ledger", runRestore)
}

// manifestName is the backup's description, the last file of the archive.
const (
	manifestName   = "shuixiao-backup.json"
	manifestFormat = "shuixiao-backup/v1"
)

// backupManifest describes a backup. StoreLedgerSize <= LedgerTreeSize:
// the store was copied before the ledger, so the ledger holds every entry
// the store has applied, and a server started on the restored directory
// applies the rest (ingest.CatchUp).
type backupManifest struct {
	Format               string    `json:"format"`
	Created              time.Time `json:"created"`
	Version              string    `json:"version"`
	StoreLedgerSize      uint64    `json:"store_ledger_size"`
	LedgerCheckpointSize uint64    `json:"ledger_checkpoint_size"`
	LedgerTreeSize       uint64    `json:"ledger_tree_size"`
	Files                []string  `json:"files"`
	NotIncluded          []string  `json:"not_included,omitempty"`
}

// backedUp are the entries of a data directory a backup holds; the rest
// (demo witnesses' and the simulator's state, the witness policy the demo
// rewrites on each start) is listed as not included.
var backedUp = map[string]bool{"store.db": true, "store.db-wal": true, "store.db-shm": true, "ledger": true, adminTokenFile: true, "tls": true}

func runBackup(args []string) int {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	data := fs.String("data", "./shuixiao-data", "data directory (its server may be running)")
	out := fs.String("out", "", "archive to write (.tar.gz); must not exist")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: shuixiao backup --data DIR --out FILE.tar.gz")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m, err := backup(ctx, *data, *out)
	if err != nil {
		fmt.Fprintf(os.Stderr, "backup: %v\n", err)
		return 1
	}
	fmt.Printf("备份完成 backup written to %s\n  store at ledger size %d; ledger tree %d entries (checkpoint %d); %d files\n",
		*out, m.StoreLedgerSize, m.LedgerTreeSize, m.LedgerCheckpointSize, len(m.Files))
	if len(m.NotIncluded) > 0 {
		fmt.Printf("  not included: %s\n", strings.Join(m.NotIncluded, ", "))
	}
	return 0
}

// backup writes the archive: the store first (one SQLite snapshot), then
// the ledger (a consistent prefix at least as long as the store's), then
// the admin token and TLS files, then the manifest.
func backup(ctx context.Context, data, out string) (backupManifest, error) {
	m := backupManifest{Format: manifestFormat, Created: time.Now().UTC(), Version: version}
	if _, err := os.Stat(out); err == nil {
		return m, fmt.Errorf("%s exists", out)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".shuixiao-backup-")
	if err != nil {
		return m, err
	}
	defer os.RemoveAll(tmp)
	storeCopy := filepath.Join(tmp, "store.db")
	if m.StoreLedgerSize, err = sqlite.Backup(ctx, filepath.Join(data, "store.db"), storeCopy); err != nil {
		return m, err
	}
	f, err := os.OpenFile(filepath.Join(tmp, "archive"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return m, err
	}
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	put := func(name string, b []byte, mode fs.FileMode) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: int64(mode.Perm()), Size: int64(len(b)), ModTime: m.Created, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		m.Files = append(m.Files, name)
		return err
	}
	info, err := ledger.Backup(filepath.Join(data, "ledger"), func(name string, b []byte, mode fs.FileMode) error {
		return put("ledger/"+name, b, mode)
	})
	if err != nil {
		return m, err
	}
	m.LedgerCheckpointSize, m.LedgerTreeSize = info.CheckpointSize, info.TreeSize
	if m.StoreLedgerSize > m.LedgerTreeSize {
		return m, fmt.Errorf("the store has applied %d ledger entries but the ledger copied has %d: not a consistent pair", m.StoreLedgerSize, m.LedgerTreeSize)
	}
	if err := putFile(tw, "store.db", storeCopy, 0o600, m.Created); err != nil {
		return m, err
	}
	m.Files = append(m.Files, "store.db")
	for _, name := range []string{adminTokenFile, "tls/ca.pem", "tls/ca.key", "tls/server.pem", "tls/server.key"} {
		b, err := os.ReadFile(filepath.Join(data, filepath.FromSlash(name)))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return m, err
		}
		mode := fs.FileMode(0o600)
		if strings.HasSuffix(name, ".pem") {
			mode = 0o644
		}
		if err := put(name, b, mode); err != nil {
			return m, err
		}
	}
	ents, err := os.ReadDir(data)
	if err != nil {
		return m, err
	}
	for _, e := range ents {
		if !backedUp[e.Name()] {
			m.NotIncluded = append(m.NotIncluded, e.Name())
		}
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	if err := put(manifestName, mb, 0o644); err != nil {
		return m, err
	}
	m.Files = m.Files[:len(m.Files)-1]
	if err := tw.Close(); err != nil {
		return m, err
	}
	if err := gz.Close(); err != nil {
		return m, err
	}
	if err := f.Sync(); err != nil {
		return m, err
	}
	if err := f.Close(); err != nil {
		return m, err
	}
	// Link, not rename: an archive that appeared at out meanwhile is kept.
	if err := os.Link(f.Name(), out); err != nil {
		return m, fmt.Errorf("write %s: %w", out, err)
	}
	return m, nil
}

// putFile streams a file into the archive.
func putFile(tw *tar.Writer, name, file string, mode fs.FileMode, mt time.Time) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: int64(mode), Size: st.Size(), ModTime: mt, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

func runRestore(args []string) int {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	in := fs.String("in", "", "archive written by shuixiao backup")
	data := fs.String("data", "", "data directory to create (must not exist or be empty)")
	noVerify := fs.Bool("no-verify", false, "skip the audit of the restored ledger")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *in == "" || *data == "" || fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: shuixiao restore --in FILE.tar.gz --data DIR [--no-verify]")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m, rep, err := restore(ctx, *in, *data, !*noVerify)
	if err != nil {
		fmt.Fprintf(os.Stderr, "restore: %v\n", err)
		return 1
	}
	fmt.Printf("已恢复 restored %s (made %s) into %s: %d files\n", *in, m.Created.Format(time.RFC3339), *data, len(m.Files))
	if rep != nil {
		fmt.Printf("  账本审计通过 ledger audit passed: %d entries (%d readings, %d key entries), root matches the checkpoint\n",
			rep.Entries, rep.Readings, rep.KeyEntries)
	}
	fmt.Printf("  start it with: shuixiao serve --data %s   (the store applies ledger entries %d–%d on start)\n",
		*data, m.StoreLedgerSize, m.LedgerTreeSize)
	return 0
}

// restore unpacks an archive into a new data directory and, if asked,
// audits the restored ledger against its checkpoint. On failure the
// directory is removed again.
func restore(ctx context.Context, in, data string, audit bool) (m backupManifest, rep *verify.AuditReport, err error) {
	if ents, err := os.ReadDir(data); err == nil && len(ents) > 0 {
		return m, nil, fmt.Errorf("%s is not empty; restore into a new directory", data)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return m, nil, err
	}
	if err := os.MkdirAll(data, 0o750); err != nil {
		return m, nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(data)
		}
	}()
	f, err := os.Open(in)
	if err != nil {
		return m, nil, err
	}
	defer f.Close()
	if m, err = extract(f, data); err != nil {
		return m, nil, fmt.Errorf("%s: %w", in, err)
	}
	if err := syncTree(data); err != nil {
		return m, nil, err
	}
	if !audit {
		return m, nil, nil
	}
	vkey, err := os.ReadFile(filepath.Join(data, "ledger", "log.vkey"))
	if err != nil {
		return m, nil, err
	}
	logKey, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		return m, nil, fmt.Errorf("ledger key: %w", err)
	}
	if m.LedgerCheckpointSize == 0 {
		return m, nil, nil // nothing published yet: nothing to audit against
	}
	fetch, err := verify.NewFetcher(filepath.Join(data, "ledger"), nil)
	if err != nil {
		return m, nil, err
	}
	rep, err = verify.Audit(ctx, fetch, verify.AuditOptions{LogKey: logKey})
	if err != nil {
		return m, nil, fmt.Errorf("ledger audit: %w", err)
	}
	if rep.Failed(false) || rep.Entries != m.LedgerCheckpointSize {
		return m, rep, fmt.Errorf("ledger audit FAILED: %d problems in %d entries (checkpoint %d)", rep.ProblemCount, rep.Entries, m.LedgerCheckpointSize)
	}
	return m, rep, nil
}

// extract unpacks a backup archive into dir: regular files only, each
// under dir, none twice; the manifest must be there, of this format, and
// name every other file.
func extract(r io.Reader, dir string) (backupManifest, error) {
	var m backupManifest
	gz, err := gzip.NewReader(r)
	if err != nil {
		return m, fmt.Errorf("not a gzip archive: %w", err)
	}
	tr := tar.NewReader(gz)
	seen := map[string]bool{}
	var manifest []byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return m, fmt.Errorf("archive: %w", err)
		}
		name := h.Name
		if h.Typeflag != tar.TypeReg || !filepath.IsLocal(filepath.FromSlash(name)) || path.Clean(name) != name || seen[name] || sparse(h) {
			return m, fmt.Errorf("archive entry %q: not a file of a shuixiao backup", name)
		}
		seen[name] = true
		if name == manifestName {
			if manifest, err = io.ReadAll(io.LimitReader(tr, 1<<24)); err != nil {
				return m, err
			}
			continue
		}
		if err := writeEntry(tr, filepath.Join(dir, filepath.FromSlash(name)), fs.FileMode(h.Mode).Perm()&0o644|0o600); err != nil {
			return m, fmt.Errorf("archive entry %s: %w", name, err)
		}
	}
	if manifest == nil {
		return m, errors.New("no " + manifestName + ": not a shuixiao backup")
	}
	if err := json.Unmarshal(manifest, &m); err != nil || m.Format != manifestFormat {
		return m, fmt.Errorf("%s: format %q, want %s (%v)", manifestName, m.Format, manifestFormat, err)
	}
	for _, name := range m.Files {
		if !seen[name] {
			return m, fmt.Errorf("%s lists %s, which the archive lacks", manifestName, name)
		}
	}
	if len(m.Files) != len(seen)-1 {
		return m, fmt.Errorf("the archive holds %d files, its manifest lists %d", len(seen)-1, len(m.Files))
	}
	if m.StoreLedgerSize > m.LedgerTreeSize || m.LedgerCheckpointSize > m.LedgerTreeSize {
		return m, fmt.Errorf("%s: sizes store %d, checkpoint %d, tree %d do not fit together", manifestName, m.StoreLedgerSize, m.LedgerCheckpointSize, m.LedgerTreeSize)
	}
	return m, nil
}

// sparse reports a GNU sparse file: a few bytes of archive that read as
// any number of zeros, which a backup never holds.
func sparse(h *tar.Header) bool {
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

func writeEntry(r io.Reader, file string, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncTree makes every file and directory under dir durable, so that a
// restore that reported success survives a power cut.
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}
