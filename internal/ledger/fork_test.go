package ledger

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/verify"
)

// logState is a log on disk and a checkpoint it published.
type logState struct {
	dir, vkey, origin string
	size              uint64
	checkpoint        []byte
	sameSize          []byte // fork only: a forked checkpoint at the honest size
}

// buildForkedPair builds an honest log and a fork of it: a second log with
// the same key whose history has one reading changed, published at the
// honest size and then grown past it.
func buildForkedPair(t *testing.T) (honest, forked logState) {
	t.Helper()
	ctx := context.Background()
	base := buildLog(t, 70, nil)
	cp, err := os.ReadFile(filepath.Join(base.dir, "log", "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	honest = logState{dir: base.dir, vkey: base.vkey, origin: testOptions("").Origin, size: base.size, checkpoint: cp}

	dir := t.TempDir()
	for _, f := range []string{"log.key", "log.vkey"} {
		data, err := os.ReadFile(filepath.Join(base.dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	l := openTestLog(t, testOptions(dir))
	if l.VerifierKey() != honest.vkey {
		t.Fatal("fork does not use the real log key")
	}
	entries := make([][]byte, base.size)
	for i := range entries {
		entries[i] = base.entries[uint64(i)]
	}
	entries[100] = bytes.Replace(entries[100], []byte("flow_m3h 12.500"), []byte("flow_m3h 1.500"), 1)
	if _, err := l.Append(ctx, entries); err != nil {
		t.Fatal(err)
	}
	forked = logState{dir: dir, vkey: honest.vkey, origin: honest.origin}
	forked.sameSize = awaitSize(t, l, base.size)
	if _, err := l.Append(ctx, [][]byte{[]byte("more"), []byte("entries")}); err != nil {
		t.Fatal(err)
	}
	forked.size = base.size + 2
	forked.checkpoint = awaitSize(t, l, forked.size)
	return honest, forked
}

func TestForkDetectedByVerifier(t *testing.T) {
	honest, forked := buildForkedPair(t)
	ctx := context.Background()
	logKey := mustVerifier(t, honest.vkey)
	open := func(raw []byte) *verify.Checkpoint {
		t.Helper()
		c, err := verify.OpenCheckpoint(raw, logKey, nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c1, c2, cSame := open(honest.checkpoint), open(forked.checkpoint), open(forked.sameSize)
	fetcher := func(dir string) verify.Fetcher {
		f, err := verify.NewFetcher(filepath.Join(dir, "log"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}

	// A verifier holding the honest checkpoint rejects the fork and proves it.
	_, err := verify.CheckConsistency(ctx, c1, c2, fetcher(forked.dir).ReadTile)
	var fe *verify.ForkError
	if !errors.As(err, &fe) {
		t.Fatalf("fork not detected: %v", err)
	}
	if err := fe.Proof.Verify(logKey); err != nil {
		t.Fatalf("fork proof does not stand on its own: %v", err)
	}
	report := fe.Proof.SecurityReport()
	rootLine := strings.Split(string(honest.checkpoint), "\n")[2]
	if !strings.Contains(report, "SECURITY ERROR") || !strings.Contains(report, "\t"+rootLine+"\n") {
		t.Fatalf("report:\n%s", report)
	}
	parsed, err := verify.ParseForkProof([]byte("some preamble\n" + report))
	if err != nil {
		t.Fatal(err)
	}
	if err := parsed.Verify(logKey); err != nil {
		t.Fatalf("parsed fork proof: %v", err)
	}
	// Evidence cannot be forged from the other direction: swap a proof hash.
	parsed.Hashes[0][0] ^= 1
	if err := parsed.Verify(logKey); err == nil {
		t.Fatal("altered fork proof verified")
	}
	// Nor does it convict with another log's key.
	other := openTestLog(t, Options{Dir: t.TempDir(), Origin: "other.log/v1", CheckpointInterval: time.Second})
	if err := fe.Proof.Verify(mustVerifier(t, other.VerifierKey())); err == nil {
		t.Fatal("fork proof verified with an unrelated key")
	}

	// Same size, different root.
	_, err = verify.CheckConsistency(ctx, c1, cSame, fetcher(forked.dir).ReadTile)
	if !errors.As(err, &fe) || fe.Proof.Verify(logKey) != nil || len(fe.Proof.Hashes) != 0 {
		t.Fatalf("same-size fork: %v", err)
	}

	// Honest growth is consistent, in either argument order.
	l := openTestLog(t, testOptions(honest.dir))
	if _, err := l.Append(ctx, [][]byte{[]byte("honest"), []byte("growth"), []byte("!")}); err != nil {
		t.Fatal(err)
	}
	c3 := open(awaitSize(t, l, honest.size+3))
	res, err := verify.CheckConsistency(ctx, c1, c3, fetcher(honest.dir).ReadTile)
	if err != nil || len(res.Proof) == 0 || res.Rollback {
		t.Fatalf("honest growth: %v %+v", err, res)
	}
	if res, err := verify.CheckConsistency(ctx, c3, c1, fetcher(honest.dir).ReadTile); err != nil || !res.Rollback {
		t.Fatalf("reverse order: %v", err)
	}
	fake := &verify.ForkProof{Old: c1.Raw, New: c3.Raw, PrefixRoot: c1.Root[:], Hashes: res.Proof}
	if err := fake.Verify(logKey); err == nil {
		t.Fatal("consistent checkpoints convicted")
	}

	// Corrupt tiles are the log's fault but no proof of a fork.
	l.Close(ctx)
	bad := copyDir(t, honest.dir)
	filepath.WalkDir(filepath.Join(bad, "log", "tile"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.Contains(p, "entries") {
			data, _ := os.ReadFile(p)
			data[0] ^= 0xff
			os.WriteFile(p, data, 0o644)
		}
		return nil
	})
	_, err = verify.CheckConsistency(ctx, c1, c3, fetcher(bad).ReadTile)
	if !errors.Is(err, verify.ErrBadTiles) || errors.As(err, &fe) {
		t.Fatalf("corrupt tiles: %v", err)
	}
}
