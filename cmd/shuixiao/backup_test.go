package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/verify"
)

// TestBackupRestoreUnderLoad: a running server's data directory is backed
// up while meters publish; the restored ledger audits clean against its
// checkpoint, the restored store has applied no entry the ledger lacks, and
// a server started on the restored directory catches up so that its store
// holds exactly the readings of its ledger.
func TestBackupRestoreUnderLoad(t *testing.T) {
	dir := t.TempDir()
	httpAddr, _ := freeAddr()
	mqttAddr, _ := freeAddr()
	token := "backup-test-admin-token-0123456789"
	child := startChild(t, dir, httpAddr, mqttAddr, token)
	api := &apiClient{base: "http://" + httpAddr, token: token, hc: &http.Client{Timeout: 10 * time.Second}}
	const nMeters = 8
	meters := registerMeters(t, api, "B", nMeters)
	var acked atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, m := range meters {
		cl := mqtt5(t, mqttAddr, m)
		wg.Add(1)
		go func(m *testMeter) {
			defer wg.Done()
			for v := 0; ; v++ {
				select {
				case <-stop:
					return
				default:
				}
				if pr := publish(t, cl, m, m.next(t, float64(v))); pr.ReasonCode != 0 {
					t.Errorf("%s seq %d: PUBACK %#x", m.id, m.seq, pr.ReasonCode)
					return
				}
				acked.Add(1)
			}
		}(m)
	}
	// Load until 100 readings are acknowledged (not a fixed time: a busy
	// machine takes longer), back up, and load on until more are.
	waitAcked := func(n int64) {
		for end := time.Now().Add(30 * time.Second); acked.Load() < n; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("load: %d readings acknowledged in 30 s, want %d", acked.Load(), n)
			}
		}
	}
	waitAcked(100)
	// Tessera signs a checkpoint at most once a second: a fast machine
	// acknowledges 100 readings before the first one that covers every
	// registration. Back up only once the checkpoint covers the
	// registrations and some readings, so the audit below has both.
	cpFile := filepath.Join(dir, "ledger", "log", "checkpoint")
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		cp, _ := os.ReadFile(cpFile)
		if checkpointSize(cp) > 3*nMeters {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("checkpoint at %d after 30 s, want more than %d", checkpointSize(cp), 3*nMeters)
		}
	}
	before := acked.Load()
	out := filepath.Join(t.TempDir(), "backup.tar.gz")
	man, err := backup(context.Background(), dir, out)
	if err != nil {
		t.Fatal(err)
	}
	waitAcked(before + nMeters)
	during := acked.Load() - before
	close(stop)
	wg.Wait()
	if before < 100 || during == 0 {
		t.Fatalf("load: %d readings acknowledged before the backup, %d during and after", before, during)
	}
	if man.StoreLedgerSize > man.LedgerTreeSize || man.LedgerCheckpointSize == 0 {
		t.Fatalf("manifest %+v", man)
	}
	if _, err := backup(context.Background(), dir, out); err == nil {
		t.Fatal("backup overwrote an existing archive")
	}
	t.Logf("backup under load: store at %d, ledger tree %d, checkpoint %d; %d readings acknowledged before it, %d while and after",
		man.StoreLedgerSize, man.LedgerTreeSize, man.LedgerCheckpointSize, before, during)
	child.cmd.Process.Kill()
	child.cmd.Wait()

	// Restore refuses a directory in use, then restores into a new one
	// and audits its ledger.
	if _, _, err := restore(context.Background(), out, dir, true); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("restore into a non-empty directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "store.db")); err != nil {
		t.Fatalf("a refused restore touched the directory: %v", err)
	}
	rdir := filepath.Join(t.TempDir(), "restored")
	rm, rep, err := restore(context.Background(), out, rdir, true)
	if err != nil {
		t.Fatal(err)
	}
	if rep == nil || rep.Entries != man.LedgerCheckpointSize || rep.KeyEntries != nMeters || rep.Readings == 0 || rep.ProblemCount != 0 || rm.LedgerTreeSize != man.LedgerTreeSize {
		t.Fatalf("restored ledger audit %+v, manifest %+v", rep, rm)
	}
	for _, name := range []string{"ledger/log.key", "ledger/log.vkey", "store.db"} { // the admin token came from the environment
		if _, err := os.Stat(filepath.Join(rdir, name)); err != nil {
			t.Errorf("restored directory lacks %s", name)
		}
	}
	st, err := sqlite.Open(filepath.Join(rdir, "store.db"), sqlite.Options{ManualCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	storeSize, err := st.LedgerSize(context.Background())
	st.Close()
	if err != nil || storeSize != man.StoreLedgerSize {
		t.Fatalf("restored store at ledger size %d (%v), manifest says %d", storeSize, err, man.StoreLedgerSize)
	}

	// A server on the restored directory catches up with the whole ledger.
	s, err := openServer(context.Background(), serverConfig{Data: rdir, HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	ctx := context.Background()
	size, err := s.ledger.Size(ctx)
	if err != nil || size != man.LedgerTreeSize {
		t.Fatalf("restored ledger size %d (%v), want %d", size, err, man.LedgerTreeSize)
	}
	if got, _ := s.store.LedgerSize(ctx); got != size {
		t.Fatalf("store after catch-up at %d, ledger %d", got, size)
	}
	states, err := s.store.AdmissionStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var readings uint64
	for _, ms := range states {
		readings += ms.Seq // each meter published seq 1, 2, … waiting for every PUBACK
	}
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := s.ledger.AwaitPublished(actx, size-1); err != nil {
		t.Fatal(err)
	}
	logKey, _ := note.NewVerifier(s.ledger.VerifierKey())
	f, _ := verify.NewFetcher(filepath.Join(rdir, "ledger"), nil)
	full, err := verify.Audit(ctx, f, verify.AuditOptions{LogKey: logKey})
	if err != nil || full.ProblemCount != 0 || full.Entries != size {
		t.Fatalf("audit after restart: %v %+v", err, full)
	}
	if full.Readings != readings || full.KeyEntries+full.PointEntries+full.Readings+full.CommandEntries != size {
		t.Fatalf("store holds %d readings, the ledger %d readings, %d key and %d point entries in %d", readings, full.Readings, full.KeyEntries, full.PointEntries, size)
	}
}

// TestExtractRefusesSparse: a GNU sparse entry (testdata/sparse-1tb.tar.gz,
// 287 bytes made with GNU tar --sparse --format=pax from a 1 TiB file of
// holes) is refused before anything is written.
func TestExtractRefusesSparse(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "sparse-1tb.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	h, err := tar.NewReader(gz).Next()
	if err != nil || !sparse(h) || h.Typeflag != tar.TypeReg || h.Size != 1<<40+1 {
		t.Fatalf("the fixture is not the sparse 1 TiB file it should be: %+v %v", h, err)
	}
	f.Seek(0, io.SeekStart)
	dir := t.TempDir()
	if _, err := extract(f, dir); err == nil || !strings.Contains(err.Error(), "not a file of a shuixiao backup") {
		t.Fatalf("sparse entry: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("wrote %v", ents)
	}
}

// FuzzExtract: whatever the archive, extract writes nothing outside its
// directory and fails cleanly on anything that is not a backup.
func FuzzExtract(f *testing.F) {
	archive := func(entries ...[2]string) []byte {
		var b bytes.Buffer
		gz := gzip.NewWriter(&b)
		tw := tar.NewWriter(gz)
		for _, e := range entries {
			tw.WriteHeader(&tar.Header{Name: e[0], Mode: 0o644, Size: int64(len(e[1])), Typeflag: tar.TypeReg})
			tw.Write([]byte(e[1]))
		}
		tw.Close()
		gz.Close()
		return b.Bytes()
	}
	f.Add(archive([2]string{"store.db", "x"}, [2]string{manifestName, `{"format":"shuixiao-backup/v1","files":["store.db"]}`}))
	f.Add(archive([2]string{"../escape", "x"}))
	f.Add(archive([2]string{"/abs", "x"}))
	f.Add(archive([2]string{"a/../../b", "x"}))
	f.Add(archive([2]string{manifestName, `{"format":"shuixiao-backup/v1","files":["missing"]}`}))
	f.Add([]byte("not gzip"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "d")
		if err := os.Mkdir(dir, 0o750); err != nil {
			t.Fatal(err)
		}
		m, err := extract(bytes.NewReader(raw), dir)
		ents, _ := os.ReadDir(parent)
		if len(ents) != 1 {
			t.Fatalf("extract wrote beside its directory: %v", ents)
		}
		if err == nil && m.Format != manifestFormat {
			t.Fatalf("accepted a manifest of format %q", m.Format)
		}
	})
}
