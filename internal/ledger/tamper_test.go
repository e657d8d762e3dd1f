package ledger

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/tessera/api"
	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/verify"
)

// builtLog is a closed ledger on disk with known content.
type builtLog struct {
	dir     string
	vkey    string
	entries map[uint64][]byte
	size    uint64
}

// buildLog creates a closed log of 4 meters × perMeter readings (plus their
// key entries), fully published.
func buildLog(t *testing.T, perMeter int, extra func(l *Log, meters []*testMeter)) builtLog {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	l, err := Open(ctx, testOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	meters := newTestMeters(t, 4)
	all := populate(t, l, meters, perMeter)
	if extra != nil {
		extra(l, meters)
	}
	size, _ := l.Size(ctx)
	awaitSize(t, l, size)
	b := builtLog{dir: dir, vkey: l.VerifierKey(), size: size, entries: map[uint64][]byte{}}
	err = l.Entries(ctx, 0, size, func(i uint64, e []byte) error {
		b.entries[i] = bytes.Clone(e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range all {
		if !bytes.Equal(b.entries[i], e) {
			t.Fatalf("entry %d read back differently", i)
		}
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return b
}

func audit(t *testing.T, dir, vkey string) *verify.AuditReport {
	t.Helper()
	f, err := verify.NewFetcher(filepath.Join(dir, "log"), nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Audit(context.Background(), f, verify.AuditOptions{LogKey: v})
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	return rep
}

// copyDir copies a closed ledger directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// rewriteBundle edits the full entry bundle 0 of the log in dir.
func rewriteBundle(t *testing.T, dir string, edit func(entries [][]byte) [][]byte) {
	t.Helper()
	p := filepath.Join(dir, "log", "tile", "entries", "000")
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var b api.EntryBundle
	if err := b.UnmarshalText(raw); err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, e := range edit(b.Entries) {
		out = binary.BigEndian.AppendUint16(out, uint16(len(e)))
		out = append(out, e...)
	}
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func kinds(rep *verify.AuditReport) map[verify.ProblemKind][]verify.Problem {
	m := map[verify.ProblemKind][]verify.Problem{}
	for _, p := range rep.Problems {
		m[p.Kind] = append(m[p.Kind], p)
	}
	return m
}

// TestVerifierDetectsTampering edits stored entries on disk, as an insider
// with file access could, and checks that the independent verifier
// detects each edit and says which entry is bad.
func TestVerifierDetectsTampering(t *testing.T) {
	// 4 meters × 70 readings + 4 key entries = 284: bundle 000 is full.
	base := buildLog(t, 70, nil)
	rep := audit(t, base.dir, base.vkey)
	if rep.Failed(true) || rep.Entries != base.size || rep.Readings != 280 || rep.KeyEntries != 4 || rep.Meters != 4 {
		t.Fatalf("untouched log: %+v", rep)
	}
	if rep.TilesChecked == 0 {
		t.Fatal("no tiles checked")
	}
	// Indices 10 and 11 are readings of different meters; 12 is the next
	// reading of the meter at 8.
	const changed, other = 10, 11
	for _, i := range []uint64{changed, other} {
		if reading.Kind(base.entries[i]) != reading.Header {
			t.Fatalf("entry %d is not a reading", i)
		}
	}
	r10, _ := reading.Parse(base.entries[changed])

	tests := []struct {
		name  string
		edit  func(entries [][]byte) [][]byte
		check func(t *testing.T, rep *verify.AuditReport)
	}{
		{
			name: "changed digit",
			edit: func(es [][]byte) [][]byte {
				es[changed] = bytes.Replace(es[changed], []byte("flow_m3h 12.500"), []byte("flow_m3h 12.600"), 1)
				return es
			},
			check: func(t *testing.T, rep *verify.AuditReport) {
				k := kinds(rep)
				if len(k[verify.ProblemSignature]) != 1 || k[verify.ProblemSignature][0].Index != changed || k[verify.ProblemSignature][0].Meter != r10.Meter {
					t.Errorf("signature problems %+v, want one at %d", k[verify.ProblemSignature], changed)
				}
				if len(k[verify.ProblemRoot]) != 1 || len(k[verify.ProblemTile]) == 0 {
					t.Errorf("root/tile problems: %+v", rep.Problems)
				}
			},
		},
		{
			name: "two readings swapped",
			edit: func(es [][]byte) [][]byte {
				es[changed], es[other] = es[other], es[changed]
				return es
			},
			check: func(t *testing.T, rep *verify.AuditReport) {
				k := kinds(rep)
				// Both readings are validly signed: only the tree shows it.
				if len(k[verify.ProblemSignature]) != 0 || len(k[verify.ProblemRoot]) != 1 || len(k[verify.ProblemTile]) == 0 {
					t.Errorf("problems: %+v", rep.Problems)
				}
			},
		},
		{
			name: "reading deleted",
			edit: func(es [][]byte) [][]byte {
				return append(es[:changed:changed], es[changed+1:]...)
			},
			check: func(t *testing.T, rep *verify.AuditReport) {
				k := kinds(rep)
				if len(k[verify.ProblemRoot]) != 1 || len(k[verify.ProblemBundle]) != 1 {
					t.Errorf("problems: %+v", rep.Problems)
				}
				// The meter's chain now skips the deleted seq.
				found := false
				for _, g := range rep.Gaps {
					found = found || (g.Meter == r10.Meter && g.Seq == r10.Seq+1 && g.Missing == 1)
				}
				if !found {
					t.Errorf("no gap for %s after seq %d: %+v", r10.Meter, r10.Seq, rep.Gaps)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, base.dir)
			rewriteBundle(t, dir, tc.edit)
			rep := audit(t, dir, base.vkey)
			if !rep.Failed(false) {
				t.Fatalf("tampering not detected: %+v", rep)
			}
			tc.check(t, rep)
			// The ledger itself refuses to hand out a receipt that would
			// not verify against its signed checkpoint.
			l := openTestLog(t, testOptions(dir))
			if _, err := l.Proof(context.Background(), changed); err == nil {
				t.Error("Proof of the tampered entry succeeded")
			}
		})
	}
}

// TestVerifierChecksKeyDirectoryAndChains appends entries that the
// admission layer should have refused, straight into the log, and checks
// that the audit reports each one — and that a gap alone is only a warning.
func TestVerifierChecksKeyDirectoryAndChains(t *testing.T) {
	var stranger, revoked *testMeter
	var wantIdx = map[string]uint64{}
	b := buildLog(t, 3, func(l *Log, meters []*testMeter) {
		ctx := context.Background()
		add := func(name string, e []byte) {
			idx, err := l.Append(ctx, [][]byte{e})
			if err != nil {
				t.Fatal(err)
			}
			wantIdx[name] = idx[0]
		}
		stranger = newTestMeter(t, "HN-STRANGER")
		add("unknown", stranger.next(t))
		revoked = meters[3]
		k := &reading.KeyEntry{Action: reading.ActionRevoke, Meter: revoked.id, Time: time.Now(), Reason: "meter replaced"}
		rev, err := l.SignNote(k.Text())
		if err != nil {
			t.Fatal(err)
		}
		add("revoke", rev)
		add("revoked", revoked.next(t))
		dup := meters[0].next(t)
		add("first", dup)
		add("duplicate", dup)
		meters[1].next(t) // lost by the meter: a gap
		add("after-gap", meters[1].next(t))
		forged := bytes.Replace(meters[2].next(t), []byte("12.500"), []byte("99.999"), 1)
		add("forged", forged)
		// A registration signed by some other key than the log's.
		skey, _, err := note.GenerateKey(rand.Reader, l.Origin())
		if err != nil {
			t.Fatal(err)
		}
		impostor, _ := note.NewSigner(skey)
		reg := &reading.KeyEntry{Action: reading.ActionRegister, Meter: stranger.id, Key: stranger.vkey, Signed: "meter", Time: time.Now()}
		fake, err := note.Sign(&note.Note{Text: reg.Text()}, impostor)
		if err != nil {
			t.Fatal(err)
		}
		add("impostor", fake)
		add("still-unknown", stranger.next(t))
		add("garbage", []byte("hello world\n"))
	})
	rep := audit(t, b.dir, b.vkey)
	k := kinds(rep)
	expect := []struct {
		kind verify.ProblemKind
		at   string
	}{
		{verify.ProblemUnknownMeter, "unknown"},
		{verify.ProblemRevokedMeter, "revoked"},
		{verify.ProblemDuplicate, "duplicate"},
		{verify.ProblemSignature, "forged"},
		{verify.ProblemSignature, "impostor"},
		{verify.ProblemUnknownMeter, "still-unknown"},
		{verify.ProblemUnknownEntry, "garbage"},
	}
	for _, e := range expect {
		found := false
		for _, p := range k[e.kind] {
			found = found || p.Index == wantIdx[e.at]
		}
		if !found {
			t.Errorf("no %s problem at index %d (%s): %+v", e.kind, wantIdx[e.at], e.at, k[e.kind])
		}
	}
	if rep.ProblemCount != uint64(len(expect)) {
		t.Errorf("%d problems, want %d: %+v", rep.ProblemCount, len(expect), rep.Problems)
	}
	if rep.GapCount != 1 || rep.Gaps[0].Index != wantIdx["after-gap"] || rep.Gaps[0].Missing != 1 || !strings.Contains(rep.Gaps[0].Reason, "not in the log") {
		t.Errorf("gaps: %+v", rep.Gaps)
	}
	if rep.Registered != 3 || rep.Revoked != 1 {
		t.Errorf("directory: %d registered, %d revoked", rep.Registered, rep.Revoked)
	}
}

// TestGapAloneIsAWarning: a log whose only defect is a lost reading passes
// unless strict.
func TestGapAloneIsAWarning(t *testing.T) {
	b := buildLog(t, 2, func(l *Log, meters []*testMeter) {
		meters[0].next(t)
		if _, err := l.Append(context.Background(), [][]byte{meters[0].next(t)}); err != nil {
			t.Fatal(err)
		}
	})
	rep := audit(t, b.dir, b.vkey)
	if rep.Failed(false) || !rep.Failed(true) || rep.GapCount != 1 {
		t.Fatalf("gap-only log: failed=%v strict=%v gaps=%+v problems=%+v", rep.Failed(false), rep.Failed(true), rep.Gaps, rep.Problems)
	}
}
