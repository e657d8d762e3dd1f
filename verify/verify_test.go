package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mproof "github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/reading"
)

const origin = "test.log/v1"

func TestParsePolicy(t *testing.T) {
	k := newTestKeys(t, origin, 3)
	w := func(i int) string { return fmt.Sprintf("witness w%d %s", i, k.witnessKey[i-1]) }
	tests := []struct {
		name    string
		text    string
		wantErr string
		// signers lists which witnesses cosign; want is whether the quorum holds.
		signers []int
		want    bool
		desc    string
	}{
		{"2 of 3", w(1) + "\n" + w(2) + "\n" + w(3) + " https://w3.example/\ngroup g 2 w1 w2 w3\nquorum g\n", "", []int{1, 3}, true, "2 of {w1, w2, w3}"},
		{"2 of 3 with one", w(1) + "\n" + w(2) + "\n" + w(3) + "\ngroup g 2 w1 w2 w3\nquorum g\n", "", []int{2}, false, ""},
		{"nested", w(1) + "\n" + w(2) + "\n" + w(3) + "\ngroup a any w1 w2\ngroup g all a w3\nquorum g # both\n", "", []int{2, 3}, true, "2 of {1 of {w1, w2}, w3}"},
		{"nested short", w(1) + "\n" + w(2) + "\n" + w(3) + "\ngroup a any w1 w2\ngroup g all a w3\nquorum g\n", "", []int{1, 2}, false, ""},
		{"single witness", "log " + k.logVKey + "\n" + w(1) + "\nquorum w1\n", "", []int{1}, true, "w1"},
		{"none", "quorum none\n", "", nil, true, "none"},
		{"no quorum", w(1) + "\n", "no quorum", nil, false, ""},
		{"two quorums", w(1) + "\nquorum w1\nquorum w1\n", "second quorum", nil, false, ""},
		{"undefined member", w(1) + "\ngroup g 1 w1 w9\nquorum g\n", "unknown member", nil, false, ""},
		{"threshold too high", w(1) + "\ngroup g 2 w1\nquorum g\n", "threshold", nil, false, ""},
		{"threshold zero", w(1) + "\ngroup g 0 w1\nquorum g\n", "threshold", nil, false, ""},
		{"threshold spelled", w(1) + "\ngroup g 01 w1\nquorum g\n", "threshold", nil, false, ""},
		{"duplicate name", w(1) + "\n" + w(1) + "\nquorum w1\n", "defined twice", nil, false, ""},
		{"keyword name", "witness any " + k.witnessKey[0] + "\nquorum any\n", "keyword", nil, false, ""},
		{"bad key", "witness w1 nokey\nquorum w1\n", "key", nil, false, ""},
		{"bad url", w(1) + " ftp://x\nquorum w1\n", "URL", nil, false, ""},
		{"unknown keyword", "witnesses w1\n", "unknown keyword", nil, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePolicy([]byte(tc.text))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			signers := []note.Signer{k.logSigner}
			for _, i := range tc.signers {
				signers = append(signers, k.witnesses[i-1])
			}
			msg, _ := note.Sign(&note.Note{Text: origin + "\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"}, signers...)
			_, err = OpenCheckpoint(msg, k.logKey, p, time.Now())
			if got := err == nil; got != tc.want {
				t.Fatalf("quorum met = %v (%v), want %v", got, err, tc.want)
			}
			if tc.want && !errors.Is(err, ErrQuorum) && err != nil {
				t.Fatal(err)
			}
			if tc.desc != "" && p.String() != tc.desc {
				t.Errorf("String() = %q, want %q", p.String(), tc.desc)
			}
		})
	}
}

func TestOpenCheckpoint(t *testing.T) {
	k := newTestKeys(t, origin, 2)
	other := newTestKeys(t, origin, 0)
	leaves := [][]byte{leafHashOf([]byte("a")), leafHashOf([]byte("b")), leafHashOf([]byte("c"))}
	cp := k.checkpoint(t, leaves)
	pol, _ := ParsePolicy(k.policyText(2))
	c, err := OpenCheckpoint(cp, k.logKey, pol, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c.Size != 3 || !bytes.Equal(c.Root[:], mth(leaves)) || len(c.Cosignatures) != 2 {
		t.Fatalf("%+v", c)
	}
	if _, err := OpenCheckpoint(cp, other.logKey, nil, time.Now()); !errors.Is(err, ErrLogSignature) {
		t.Fatalf("other log key: %v", err)
	}
	// Cosignatures dated in the future are refused.
	if _, err := OpenCheckpoint(cp, k.logKey, pol, time.Now().Add(-time.Hour)); err == nil || !strings.Contains(err.Error(), "future") {
		t.Fatalf("future cosignature: %v", err)
	}
	// A checkpoint whose origin is not the key's name.
	text := "another.origin\n3\n" + b64(mth(leaves)) + "\n"
	msg, _ := note.Sign(&note.Note{Text: text}, k.logSigner)
	if _, err := OpenCheckpoint(msg, k.logKey, nil, time.Now()); err == nil || !strings.Contains(err.Error(), "origin") {
		t.Fatalf("foreign origin: %v", err)
	}
	// Size 0 must carry the empty root.
	msg, _ = note.Sign(&note.Note{Text: origin + "\n0\n" + b64(mth(leaves)) + "\n"}, k.logSigner)
	if _, err := OpenCheckpoint(msg, k.logKey, nil, time.Now()); !errors.Is(err, ErrMalformed) {
		t.Fatalf("size 0 with a root: %v", err)
	}
}

func TestVerifyReceipt(t *testing.T) {
	k := newTestKeys(t, origin, 2)
	m := newTestMeter(t, "HN-1")
	entries := [][]byte{k.register(t, m)}
	for range 9 {
		entries = append(entries, m.next(t))
	}
	pol, _ := ParsePolicy(k.policyText(2))
	meterKey, _ := note.NewVerifier(m.vkey)
	for i := range entries {
		r, err := VerifyReceipt(k.receipt(t, entries, i), ReceiptKeys{Log: k.logKey, Policy: pol, Meter: meterKey})
		if err != nil {
			t.Fatalf("receipt %d: %v", i, err)
		}
		if r.Index != uint64(i) || r.Checkpoint.Size != 10 || !bytes.Equal(r.Entry, entries[i]) {
			t.Fatalf("receipt %d: %+v", i, r)
		}
		if i == 0 && (r.KeyEntry == nil || r.KeyEntry.Meter != "HN-1" || r.EntrySigner != origin) {
			t.Fatalf("key entry receipt: %+v", r)
		}
		if i > 0 && (r.Reading == nil || r.Reading.Seq != uint64(i)) {
			t.Fatalf("reading receipt: %+v", r)
		}
	}
	// The key entry needs only the log key; a reading needs its meter's.
	if _, err := VerifyReceipt(k.receipt(t, entries, 0), ReceiptKeys{Log: k.logKey}); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyReceipt(k.receipt(t, entries, 3), ReceiptKeys{Log: k.logKey}); !errors.Is(err, ErrMeterKeyNeeded) {
		t.Fatalf("no meter key: %v", err)
	}
	other := newTestMeter(t, "HN-2")
	otherKey, _ := note.NewVerifier(other.vkey)
	if _, err := VerifyReceipt(k.receipt(t, entries, 3), ReceiptKeys{Log: k.logKey, Meter: otherKey}); err == nil {
		t.Fatal("reading verified with another meter's key")
	}
	// A reading signed by another meter that names this meter.
	forged := bytes.Replace(other.next(t), []byte("meter HN-2"), []byte("meter HN-1"), 1)
	fe := append(append([][]byte{}, entries...), forged)
	if _, err := VerifyReceipt(k.receipt(t, fe, 10), ReceiptKeys{Log: k.logKey, Meter: meterKey}); err == nil {
		t.Fatal("forged reading verified")
	}
	// Entries that are neither readings nor key entries.
	junk := append(append([][]byte{}, entries...), []byte("hello\n"))
	if _, err := VerifyReceipt(k.receipt(t, junk, 10), ReceiptKeys{Log: k.logKey}); err == nil {
		t.Fatal("junk entry verified")
	}
	// A receipt without the entry is not self-contained.
	r := k.receipt(t, entries, 2)
	i := bytes.Index(r, []byte("extra "))
	j := bytes.IndexByte(r[i:], '\n')
	if _, err := VerifyReceipt(append(r[:i:i], r[i+j+1:]...), ReceiptKeys{Log: k.logKey, Meter: meterKey}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("receipt without extra: %v", err)
	}
}

// TestMerkleAgreesWithRFC6962 checks the proof verifier used here against
// the RFC's own definitions for every pair of small tree sizes.
func TestMerkleAgreesWithRFC6962(t *testing.T) {
	var leaves [][]byte
	for i := range 40 {
		leaves = append(leaves, leafHashOf([]byte{byte(i)}))
	}
	for n := 1; n <= len(leaves); n++ {
		root := mth(leaves[:n])
		for m := 0; m < n; m++ {
			if err := mproof.VerifyInclusion(rfc6962.DefaultHasher, uint64(m), uint64(n), leaves[m], path(m, leaves[:n]), root); err != nil {
				t.Fatalf("inclusion %d in %d: %v", m, n, err)
			}
			if m == 0 {
				continue
			}
			if err := mproof.VerifyConsistency(rfc6962.DefaultHasher, uint64(m), uint64(n), consistency(m, leaves[:n]), mth(leaves[:m]), root); err != nil {
				t.Fatalf("consistency %d → %d: %v", m, n, err)
			}
		}
	}
}

func TestAuditAndConsistencyOnTiles(t *testing.T) {
	k := newTestKeys(t, origin, 0)
	meters := []*testMeter{newTestMeter(t, "HN-1"), newTestMeter(t, "HN-2")}
	var entries [][]byte
	for _, m := range meters {
		entries = append(entries, k.register(t, m))
	}
	for len(entries) < 700 {
		entries = append(entries, meters[len(entries)%2].next(t))
	}
	ctx := context.Background()
	old, new := t.TempDir(), t.TempDir()
	k.writeTiles(t, old, entries[:300])
	k.writeTiles(t, new, entries)
	f, err := NewFetcher(new, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Audit(ctx, f, AuditOptions{LogKey: k.logKey, Workers: 2, Fetches: 3})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed(true) || rep.Entries != 700 || rep.Readings != 698 || rep.Meters != 2 || rep.TilesChecked != 4 { // tile/0/000, 001, 002.p/188, tile/1/000.p/2
		t.Fatalf("audit: %+v", rep)
	}
	// A partial tile that was garbage-collected falls back to the full one.
	if err := os.Remove(filepath.Join(new, "tile", "0", "000")); err != nil {
		t.Fatal(err)
	}
	full, _ := os.ReadFile(filepath.Join(new, "tile", "0", "001"))
	got, err := f.ReadTile(ctx, 0, 1, 44)
	if err != nil || !bytes.Equal(got, full) {
		t.Fatalf("fallback to the full tile: %v", err)
	}
	if _, err := f.ReadTile(ctx, 0, 0, 0); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing tile: %v", err)
	}

	oldRaw, _ := os.ReadFile(filepath.Join(old, "checkpoint"))
	newRaw, _ := os.ReadFile(filepath.Join(new, "checkpoint"))
	oc, _ := OpenCheckpoint(oldRaw, k.logKey, nil, time.Now())
	nc, _ := OpenCheckpoint(newRaw, k.logKey, nil, time.Now())
	k.writeTiles(t, new, entries) // restore tile/0/000
	res, err := CheckConsistency(ctx, oc, nc, f.ReadTile)
	if err != nil {
		t.Fatal(err)
	}
	want := consistency(300, leavesOf(entries))
	if len(res.Proof) != len(want) {
		t.Fatalf("proof of %d hashes, RFC 6962 gives %d", len(res.Proof), len(want))
	}
	for i := range want {
		if !bytes.Equal(res.Proof[i], want[i]) {
			t.Fatalf("proof hash %d differs from RFC 6962's", i)
		}
	}
	// A fork: same first 299 entries, a different 300th.
	forkEntries := append(append([][]byte{}, entries[:299]...), meters[0].next(t))
	forkEntries = append(forkEntries, entries[300:]...)
	fork := t.TempDir()
	k.writeTiles(t, fork, forkEntries)
	ff, _ := NewFetcher(fork, nil)
	forkRaw, _ := os.ReadFile(filepath.Join(fork, "checkpoint"))
	fc, _ := OpenCheckpoint(forkRaw, k.logKey, nil, time.Now())
	_, err = CheckConsistency(ctx, oc, fc, ff.ReadTile)
	var fe *ForkError
	if !errors.As(err, &fe) || fe.Proof.Verify(k.logKey) != nil {
		t.Fatalf("fork: %v", err)
	}
	if !bytes.Equal(fe.Proof.PrefixRoot, mth(leavesOf(forkEntries[:300]))) {
		t.Fatal("prefix root is not the fork's first 300 entries")
	}
}

func leavesOf(entries [][]byte) [][]byte {
	out := make([][]byte, len(entries))
	for i, e := range entries {
		out[i] = leafHashOf(e)
	}
	return out
}

func TestParseBundle(t *testing.T) {
	tests := []struct {
		raw  []byte
		want int
		ok   bool
	}{
		{nil, 0, true},
		{[]byte{0, 1, 'a', 0, 2, 'b', 'c'}, 2, true},
		{[]byte{0, 0}, 1, true},
		{[]byte{0, 3, 'a'}, 0, false},
		{[]byte{0}, 0, false},
		{bytes.Repeat([]byte{0, 1, 'x'}, 257), 0, false},
	}
	for i, tc := range tests {
		got, err := parseBundle(tc.raw)
		if (err == nil) != tc.ok || len(got) != tc.want {
			t.Errorf("case %d: %d entries, %v", i, len(got), err)
		}
	}
}

func TestReadingKindsAreDistinct(t *testing.T) {
	// The log key signs both checkpoints and key entries: a key entry can
	// never parse as a checkpoint and vice versa.
	k := newTestKeys(t, origin, 0)
	m := newTestMeter(t, "HN-1")
	if _, err := OpenCheckpoint(k.register(t, m), k.logKey, nil, time.Now()); err == nil {
		t.Fatal("key entry accepted as a checkpoint")
	}
	cp := k.checkpoint(t, [][]byte{leafHashOf([]byte("x"))})
	if reading.Kind(cp) != "" {
		t.Fatal("checkpoint taken for an entry")
	}
}
