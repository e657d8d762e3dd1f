package sim

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/ledger"
	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/verify"
)

// TestTamperLedgerDetected builds a real ledger (package ledger, as the
// server keeps it under its data directory) with two registered meters and
// 300 readings, lets TamperLedger change one digit on disk, and checks that
// the independent verifier reports exactly that reading.
func TestTamperLedgerDetected(t *testing.T) {
	data := t.TempDir()
	ctx := context.Background()
	l, err := ledger.Open(ctx, ledger.Options{Dir: filepath.Join(data, "ledger"), Origin: "test.shuixiao.local/sim", CheckpointInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TamperLedger(data, nil); !errors.Is(err, ErrNothingToTamper) {
		t.Fatalf("empty ledger: %v", err)
	}
	secret := []byte("tamper-test-secret")
	var entries [][]byte
	chains := map[string]*Chain{}
	for _, id := range []string{"HN-T1", "HN-T2"} {
		skey, vkey, _ := MeterKey(secret, id)
		k := &reading.KeyEntry{Action: reading.ActionRegister, Meter: id, Enterprise: "EN-1", Point: "P-" + id, Key: vkey, Signed: "meter", Time: time.Now()}
		signed, err := l.SignNote(k.Text())
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, signed)
		chains[id], _ = NewChainFromKey(id, "P-"+id, skey, 0, reading.Hash{})
	}
	t0 := time.Now().Add(-time.Hour)
	for i := 0; i < 300; i++ {
		id := []string{"HN-T1", "HN-T2"}[i%2]
		msg, _, err := chains[id].Next(t0.Add(time.Duration(i)*time.Second), []reading.Value{
			{Channel: "total_m3", Value: float64(1000 + i), Text: "1000.125"}, {Channel: "flow_m3h", Value: 12.5, Text: "12.500"}})
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, msg)
	}
	idx, err := l.Append(ctx, entries)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.AwaitPublished(ctx, idx[len(idx)-1]); err != nil {
		t.Fatal(err)
	}
	vkey := l.VerifierKey()
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := TamperLedger(data, func(m string) bool { return m == "HN-T2" })
	if err != nil {
		t.Fatal(err)
	}
	if rep.Meter != "HN-T2" || rep.Index >= 256 || rep.Line == rep.Changed ||
		rep.LogDir != filepath.Join(data, "ledger", "log") || rep.KeyFile != filepath.Join(data, "ledger", "log.vkey") {
		t.Fatalf("tamper report %+v", rep)
	}
	r, _ := reading.Parse(entries[rep.Index])
	if r.Meter != rep.Meter || r.Seq != rep.Seq {
		t.Fatalf("report index %d is %s/%d, report says %s/%d", rep.Index, r.Meter, r.Seq, rep.Meter, rep.Seq)
	}
	f, err := verify.NewFetcher(filepath.Join(data, "ledger", "log"), nil)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := note.NewVerifier(vkey)
	audit, err := verify.Audit(ctx, f, verify.AuditOptions{LogKey: v})
	if err != nil {
		t.Fatal(err)
	}
	var sig []verify.Problem
	for _, p := range audit.Problems {
		if p.Kind == verify.ProblemSignature {
			sig = append(sig, p)
		}
	}
	if len(sig) != 1 || sig[0].Index != rep.Index || sig[0].Meter != "HN-T2" || sig[0].Seq != rep.Seq {
		t.Fatalf("verifier found %+v, want one bad signature at %d", audit.Problems, rep.Index)
	}
}

func TestChangeDigit(t *testing.T) {
	secret := []byte("x")
	skey, _, _ := MeterKey(secret, "HN-D")
	c, _ := NewChainFromKey("HN-D", "P", skey, 0, reading.Hash{})
	msg, _, _ := c.Next(time.Unix(1700000000, 0), []reading.Value{{Channel: "total_m3", Value: 9.999, Text: "9.999"}})
	out, before, after, err := changeDigit(msg)
	if err != nil || before != "total_m3 9.999" || after != "total_m3 9.990" || len(out) != len(msg) {
		t.Fatalf("%q → %q (%v)", before, after, err)
	}
	if bi, err := bundleIndex("/d/log/tile/entries/x001/x234/067"); err != nil || bi != 1234067 {
		t.Fatalf("bundle index %d %v", bi, err)
	}
}

func FuzzParseBundle(f *testing.F) {
	f.Add([]byte{0, 3, 'a', 'b', 'c', 0, 0})
	f.Add([]byte{0, 5, 'a'})
	f.Fuzz(func(t *testing.T, raw []byte) {
		entries, err := parseBundle(raw)
		if err != nil {
			return
		}
		// What parses re-encodes to the same bytes.
		var out []byte
		for _, e := range entries {
			out = binary.BigEndian.AppendUint16(out, uint16(len(e)))
			out = append(out, e...)
		}
		if !bytes.Equal(out, raw) {
			t.Fatalf("%x re-encodes to %x", raw, out)
		}
	})
}
