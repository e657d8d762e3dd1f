package ledger

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/verify"
)

const crashChildEnv = "SHUIXIAO_LEDGER_CRASH_CHILD"

// TestCrashDurability runs a child process (this test binary, re-executed)
// that appends signed readings under load and reports every index Append
// returned; the parent kills it with SIGKILL mid-stream, reopens the
// ledger and checks that every reported entry is at its index with the same
// bytes, that the log audits clean, and that the first checkpoint after the
// restart is consistent with the last one published before the crash.
func TestCrashDurability(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(t, dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashDurability$", "-test.v=false")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[uint64]string{}
	var lastCP []byte
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 1<<20)
	start := time.Now()
	killed := false
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) == 3 && fields[0] == "ack":
			i, err := strconv.ParseUint(fields[1], 10, 64)
			if err != nil {
				t.Fatalf("child said %q", sc.Text())
			}
			acked[i] = fields[2]
		case len(fields) == 2 && fields[0] == "cp":
			if cp, err := base64.StdEncoding.DecodeString(fields[1]); err == nil {
				lastCP = cp
			}
		}
		// Kill once the load has run for a while and a checkpoint with
		// entries has been published; lines already written still count.
		if !killed && lastCP != nil && (len(acked) >= 20000 || time.Since(start) > 3*time.Second) {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
		if time.Since(start) > 30*time.Second && !killed {
			cmd.Process.Kill()
			t.Fatal("child made no progress")
		}
	}
	cmd.Wait()
	if !killed || len(acked) == 0 || lastCP == nil {
		t.Fatalf("child ended before the kill: %d acks, checkpoint %q", len(acked), lastCP)
	}
	t.Logf("killed after %d acknowledged entries (%v)", len(acked), time.Since(start))

	l := openTestLog(t, testOptions(dir))
	ctx := context.Background()
	size, err := l.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var maxIdx uint64
	for i := range acked {
		maxIdx = max(maxIdx, i)
	}
	if size <= maxIdx {
		t.Fatalf("size %d after restart, but index %d was acknowledged", size, maxIdx)
	}
	found := 0
	err = l.Entries(ctx, 0, size, func(i uint64, e []byte) error {
		if want, ok := acked[i]; ok {
			h := sha256.Sum256(e)
			if hex.EncodeToString(h[:]) != want {
				return fmt.Errorf("entry %d differs from the acknowledged one", i)
			}
			found++
		}
		return nil
	})
	if err != nil || found != len(acked) {
		t.Fatalf("%d of %d acknowledged entries found: %v", found, len(acked), err)
	}
	t.Logf("entries checked (%v)", time.Since(start))
	newCP := awaitSize(t, l, size)
	t.Logf("published (%v)", time.Since(start))
	logKey := mustVerifier(t, l.VerifierKey())
	oldC, err := verify.OpenCheckpoint(lastCP, logKey, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	newC, err := verify.OpenCheckpoint(newCP, logKey, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f, err := verify.NewFetcher(l.root, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify.CheckConsistency(ctx, oldC, newC, f.ReadTile); err != nil {
		t.Fatalf("checkpoint after restart (size %d) inconsistent with the one before (size %d): %v", newC.Size, oldC.Size, err)
	}
	rep, err := verify.Audit(ctx, f, verify.AuditOptions{LogKey: logKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("audited %d entries (%v)", rep.Entries, time.Since(start))
	if rep.Failed(true) {
		t.Fatalf("audit after crash: %d problems %+v, %d gaps %+v", rep.ProblemCount, rep.Problems, rep.GapCount, rep.Gaps)
	}
}

// crashChild appends until it is killed, printing "ack <index> <sha256>"
// for every entry Append returned and "cp <base64>" for every checkpoint
// it sees published.
func crashChild(t *testing.T, dir string) {
	l, err := Open(context.Background(), testOptions(dir))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	report := func(idx []uint64, entries [][]byte) {
		mu.Lock()
		defer mu.Unlock()
		for i, e := range entries {
			h := sha256.Sum256(e)
			fmt.Fprintf(w, "ack %d %x\n", idx[i], h)
		}
		w.Flush()
	}
	ctx := context.Background()
	meters := newTestMeters(t, 8)
	var keys [][]byte
	for _, m := range meters {
		keys = append(keys, keyEntry(t, l, m))
	}
	idx, err := l.Append(ctx, keys)
	if err != nil {
		os.Exit(4)
	}
	report(idx, keys)
	go func() {
		var seen uint64
		for {
			cp, err := l.AwaitPublished(ctx, seen)
			if err != nil {
				return
			}
			c, err := verify.OpenCheckpoint(cp, mustVerifier(t, l.VerifierKey()), nil, time.Now())
			if err != nil {
				os.Exit(5)
			}
			seen = c.Size
			mu.Lock()
			fmt.Fprintf(w, "cp %s\n", base64.StdEncoding.EncodeToString(cp))
			w.Flush()
			mu.Unlock()
		}
	}()
	for _, m := range meters {
		go func(m *testMeter) {
			for {
				batch := make([][]byte, 50)
				for i := range batch {
					batch[i] = m.next(t)
				}
				idx, err := l.Append(ctx, batch)
				if err != nil {
					os.Exit(6)
				}
				report(idx, batch)
			}
		}(m)
	}
	select {}
}
