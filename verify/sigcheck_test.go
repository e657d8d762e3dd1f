package verify

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/oasisprotocol/curve25519-voi/curve"
	voiscalar "github.com/oasisprotocol/curve25519-voi/curve/scalar"
	"golang.org/x/mod/sumdb/note"
)

// TestAuditSignatureVerdicts audits a log of good, bit-flipped, wrong-key
// and torsioned-R readings (valid under the cofactored equation only) with
// sigcheck's verifiers and with note's own (crypto/ed25519): the readings
// with a bad signature must be the same, and exactly the spoiled ones. Three
// meters with more readings than sigcheck.HotAfter and a budget of two
// tables exercise both of sigcheck's ways.
func TestAuditSignatureVerdicts(t *testing.T) {
	k := newTestKeys(t, origin, 0)
	var meters []*testMeter
	var entries [][]byte
	for _, id := range []string{"HN-1", "HN-2", "HN-3"} {
		m := newTestMeter(t, id)
		meters = append(meters, m)
		entries = append(entries, k.register(t, m))
	}
	other := newTestMeter(t, "HN-1") // same name, another key
	var want []uint64
	for i := 0; len(entries) < 3+3*120; i++ {
		m := meters[i%3]
		msg := m.next(t)
		idx := uint64(len(entries))
		switch i % 17 {
		case 5: // one bit of the signature flipped
			msg[len(msg)-20] ^= 0x04 // inside the signature: the last base64 character carries ignored bits
			want = append(want, idx)
		case 9: // the same text signed by another key of the same name
			n, _ := note.Open(msg, note.VerifierList(mustVerifier(t, m.vkey)))
			s, _ := note.NewSigner(other.skey)
			msg, _ = note.Sign(&note.Note{Text: n.Text}, s)
			want = append(want, idx)
		case 13: // the key's holder, R with a small-order component
			msg = torsionedR(t, m, msg)
			want = append(want, idx)
		}
		entries = append(entries, msg)
	}
	dir := t.TempDir()
	k.writeTiles(t, dir, entries)
	f, err := NewFetcher(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := func(noteVerifiers bool) []uint64 {
		rep, err := Audit(context.Background(), f, AuditOptions{LogKey: k.logKey, KeyTables: 2, MaxListed: 1000, noteVerifiers: noteVerifiers})
		if err != nil {
			t.Fatal(err)
		}
		var idx []uint64
		for _, p := range rep.Problems {
			if p.Kind == ProblemSignature {
				idx = append(idx, p.Index)
			}
		}
		return idx
	}
	fast, std := bad(false), bad(true)
	if !slices.Equal(fast, std) {
		t.Fatalf("bad signatures: sigcheck %v, crypto/ed25519 %v", fast, std)
	}
	if !slices.Equal(fast, want) {
		t.Fatalf("bad signatures %v, want %v", fast, want)
	}
}

func mustVerifier(t *testing.T, vkey string) note.Verifier {
	t.Helper()
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// torsionedR re-signs the reading msg of m the way only m's key holder
// can, with R = [r]B + T for T of order 8 and s = r + k·a: valid under the
// cofactored equation, not under crypto/ed25519's.
func torsionedR(t *testing.T, m *testMeter, msg []byte) []byte {
	t.Helper()
	parts := strings.SplitN(m.skey, "+", 5) // PRIVATE+KEY+name+hash+key
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 33 {
		t.Fatalf("meter private key: %v", err)
	}
	priv := ed25519.NewKeyFromSeed(raw[1:])
	h := sha512.Sum512(priv.Seed())
	h[0] &= 248
	h[31] &= 127
	h[31] |= 64
	ell, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	a := new(big.Int).SetBytes(reversed(h[:32]))
	r, _ := rand.Int(rand.Reader, ell)
	var rs voiscalar.Scalar
	if _, err := rs.SetCanonicalBytes(le32(r)); err != nil {
		t.Fatal(err)
	}
	var R, T curve.EdwardsPoint
	R.MulBasepoint(curve.ED25519_BASEPOINT_TABLE, &rs)
	tb, _ := hex.DecodeString("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
	if err := T.UnmarshalBinary(tb); err != nil {
		t.Fatal(err)
	}
	Rb, _ := R.Add(&R, &T).MarshalBinary()
	text, sigs, _ := bytes.Cut(msg, []byte("\n\n"))
	text = append(text, '\n')
	line := strings.Fields(string(sigs))
	old, _ := base64.StdEncoding.DecodeString(line[len(line)-1])
	d := sha512.New()
	d.Write(Rb)
	d.Write(priv.Public().(ed25519.PublicKey))
	d.Write(text)
	kh := new(big.Int).SetBytes(reversed(d.Sum(nil)))
	s := new(big.Int).Mul(kh, a)
	s.Add(s, r).Mod(s, ell)
	sig := append(append(old[:4:4], Rb...), le32(s)...)
	return []byte(string(text) + "\n— " + line[1] + " " + base64.StdEncoding.EncodeToString(sig) + "\n")
}

func reversed(b []byte) []byte {
	out := make([]byte, len(b))
	for i := range b {
		out[i] = b[len(b)-1-i]
	}
	return out
}

// le32 is the 32-byte little-endian encoding of n < 2²⁵⁶.
func le32(n *big.Int) []byte {
	out := make([]byte, 32)
	copy(out, reversed(n.Bytes()))
	return out
}
