package verify

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	f_note "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// fixedKeys are deterministic keys, so that seed receipts stay valid across
// runs and the fuzzer starts from inputs that pass every check.
func fixedKeys(t testing.TB) (*testKeys, *testMeter) {
	r := rand.NewChaCha8([32]byte{'s', 'h', 'u', 'i', 'x', 'i', 'a', 'o'})
	skey, vkey, err := note.GenerateKey(r, origin)
	if err != nil {
		t.Fatal(err)
	}
	k := &testKeys{logVKey: vkey}
	k.logSigner, _ = note.NewSigner(skey)
	k.logKey, _ = note.NewVerifier(vkey)
	ws, wv, _ := note.GenerateKey(r, "witness.test/w1")
	s, _ := f_note.NewSignerForCosignatureV1(ws)
	cv, _ := f_note.VKeyToCosignatureV1(wv)
	k.witnesses, k.witnessKey = []note.Signer{s}, []string{cv}
	mskey, mvkey, _ := note.GenerateKey(r, "meter/HN-1")
	ms, _ := note.NewSigner(mskey)
	return k, &testMeter{id: "HN-1", signer: ms, vkey: mvkey}
}

func FuzzVerifyReceipt(f *testing.F) {
	k, m := fixedKeys(f)
	entries := [][]byte{k.register(f, m)}
	for range 6 {
		entries = append(entries, m.next(f))
	}
	for i := range entries {
		f.Add(k.receipt(f, entries, i))
	}
	f.Add([]byte("c2sp.org/tlog-proof@v1\nindex 0\n\n"))
	pol, _ := ParsePolicy(k.policyText(1))
	meterKey, _ := note.NewVerifier(m.vkey)
	keys := ReceiptKeys{Log: k.logKey, Policy: pol, Meter: meterKey, Now: time.Now()}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseReceipt(data)
		if err == nil && !bytes.Equal(p.Marshal(), data) {
			t.Fatal("accepted a non-canonical receipt")
		}
		r, err := VerifyReceipt(data, keys)
		if err != nil {
			return
		}
		// Whatever verifies carries a signed entry at an index the checkpoint covers.
		if r.Index >= r.Checkpoint.Size || (r.Reading == nil) == (r.KeyEntry == nil) {
			t.Fatalf("verified receipt: %+v", r)
		}
	})
}

func FuzzParsePolicy(f *testing.F) {
	k, _ := fixedKeys(f)
	f.Add(k.policyText(1))
	f.Add([]byte("quorum none\n"))
	f.Add([]byte("witness a " + k.witnessKey[0] + " https://x/\ngroup g all a\ngroup h any g a\nquorum h\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		p, err := ParsePolicy(text)
		if err != nil {
			return
		}
		_ = p.String()
		p.satisfied(nil)
		p.Verifiers()
	})
}

func FuzzParseForkProof(f *testing.F) {
	k, _ := fixedKeys(f)
	a := k.checkpoint(f, [][]byte{leafHashOf([]byte("a"))})
	b := k.checkpoint(f, [][]byte{leafHashOf([]byte("b")), leafHashOf([]byte("c"))})
	f.Add((&ForkProof{Old: a, New: b, PrefixRoot: leafHashOf([]byte("b")), Hashes: [][]byte{leafHashOf([]byte("c"))}}).Marshal())
	f.Add([]byte("SECURITY ERROR\nshuixiao/fork-proof/v1\nold AA==\nnew AA==\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fp, err := ParseForkProof(data)
		if err != nil {
			return
		}
		_ = fp.SecurityReport() // unverified: must not crash either
		if err := fp.Verify(k.logKey); err == nil {
			// A proven fork must be re-encodable and still proven.
			again, err := ParseForkProof(fp.Marshal())
			if err != nil || again.Verify(k.logKey) != nil {
				t.Fatalf("round trip of a proven fork: %v", err)
			}
			_ = fp.SecurityReport()
		}
	})
}

func FuzzParseBundle(f *testing.F) {
	f.Add([]byte{0, 1, 'a', 0, 2, 'b', 'c'})
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0})
	f.Fuzz(func(t *testing.T, raw []byte) {
		entries, err := parseBundle(raw)
		if err != nil {
			return
		}
		var again []byte
		for _, e := range entries {
			again = binary.BigEndian.AppendUint16(again, uint16(len(e)))
			again = append(again, e...)
		}
		if !bytes.Equal(again, raw) {
			t.Fatal("bundle does not re-encode to its input")
		}
	})
}

// FuzzAudit audits a one-bundle log whose bundle is the fuzz input: the
// audit must report, never crash.
func FuzzAudit(f *testing.F) {
	k, m := fixedKeys(f)
	var bundle []byte
	for _, e := range [][]byte{k.register(f, m), m.next(f), m.next(f)} {
		bundle = binary.BigEndian.AppendUint16(bundle, uint16(len(e)))
		bundle = append(bundle, e...)
	}
	f.Add(bundle)
	f.Fuzz(func(t *testing.T, raw []byte) {
		entries, err := parseBundle(raw)
		if err != nil || len(entries) == 0 {
			return
		}
		fetch := memFetcher{bundle: raw, checkpoint: k.checkpoint(t, leavesOf(entries))}
		rep, err := Audit(context.Background(), fetch, AuditOptions{LogKey: k.logKey, SkipTiles: true, Workers: 1, Fetches: 1})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Entries != uint64(len(entries)) {
			t.Fatalf("audited %d of %d entries", rep.Entries, len(entries))
		}
	})
}

// memFetcher serves a log of one entry bundle from memory.
type memFetcher struct {
	bundle, checkpoint []byte
}

func (m memFetcher) ReadCheckpoint(context.Context) ([]byte, error) { return m.checkpoint, nil }
func (m memFetcher) ReadTile(context.Context, uint64, uint64, uint8) ([]byte, error) {
	return nil, errNoTiles
}
func (m memFetcher) ReadEntryBundle(context.Context, uint64, uint8) ([]byte, error) {
	return m.bundle, nil
}

var errNoTiles = errors.New("no tiles in this log")
