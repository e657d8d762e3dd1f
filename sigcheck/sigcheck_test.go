package sigcheck

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"math/big"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	"golang.org/x/mod/sumdb/note"
)

// order is ℓ, the order of the base point.
var order, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)

// smallOrder are the canonical encodings of the eight points of order
// dividing 8, then non-canonical encodings of some of them (y ≥ p, or x = 0
// with the sign bit set). TestSmallOrderEncodings checks the list.
var smallOrder = []string{
	"0100000000000000000000000000000000000000000000000000000000000000", // identity
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2
	"0000000000000000000000000000000000000000000000000000000000000000", // order 4
	"0000000000000000000000000000000000000000000000000000000000000080", // order 4
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", // order 8
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", // order 8
	"0100000000000000000000000000000000000000000000000000000000000080", // identity, x sign set
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p + 1: identity, non-canonical
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p: order 4, non-canonical
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // order 2, x sign set
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hot returns a Key that already has its table.
func hot(t testing.TB, pub []byte) *Key {
	t.Helper()
	k, err := NewKey(pub, NewTables(1))
	if err != nil {
		t.Fatal(err)
	}
	for range HotAfter {
		k.Verify(nil, nil)
	}
	if k.decode() != nil && k.table.Load() == nil {
		t.Fatal("key has no table after HotAfter verifications")
	}
	return k
}

// agree checks that a Key with a table, one without and crypto/ed25519
// give the same verdict on (pub, msg, sig), and returns it.
func agree(t testing.TB, pub, msg, sig []byte) bool {
	t.Helper()
	cold, err := NewKey(pub, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := ed25519.Verify(pub, msg, sig)
	if got := cold.Verify(msg, sig); got != want {
		t.Fatalf("without table %v, crypto/ed25519 %v\npub %x\nmsg %q\nsig %x", got, want, pub, msg, sig)
	}
	if got := hot(t, pub).Verify(msg, sig); got != want {
		t.Fatalf("with table %v, crypto/ed25519 %v\npub %x\nmsg %q\nsig %x", got, want, pub, msg, sig)
	}
	return want
}

func TestSmallOrderEncodings(t *testing.T) {
	for i, s := range smallOrder {
		var c curve.CompressedEdwardsY
		var p curve.EdwardsPoint
		if _, err := c.SetBytes(unhex(t, s)); err != nil {
			t.Fatal(err)
		}
		if _, err := p.SetCompressedY(&c); err != nil {
			t.Fatalf("%s does not decode: %v", s, err)
		}
		if !p.IsSmallOrder() || (i > 0 && i < 8 && p.IsIdentity()) {
			t.Errorf("%s is not a point of small order", s)
		}
		if canonical := c.IsCanonicalVartime(); canonical != (i < 8) && i != 8 && i != 11 {
			t.Errorf("%s: canonical %v", s, canonical)
		}
	}
}

func TestMatchesStdlib(t *testing.T) {
	msg := []byte("hn-water-reading/v1\nmeter M\nseq 1\n")
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	for n := range 8 {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		sig := ed25519.Sign(priv, msg)
		if !agree(t, pub, msg, sig) {
			t.Fatal("a genuine signature did not verify")
		}
		for bit := range 8 * len(sig) { // every single-bit change of the signature
			bad := append([]byte(nil), sig...)
			bad[bit/8] ^= 1 << (bit % 8)
			if agree(t, pub, msg, bad) {
				t.Fatalf("flipped bit %d verified", bit)
			}
		}
		for bit := range 8 * len(pub) { // … and of the key
			bad := append([]byte(nil), pub...)
			bad[bit/8] ^= 1 << (bit % 8)
			if agree(t, bad, msg, sig) {
				t.Fatalf("key with bit %d flipped verified", bit)
			}
		}
		changed := append([]byte(nil), msg...)
		changed[n%len(changed)] ^= 0x20
		if agree(t, pub, changed, sig) || agree(t, pub, msg[:len(msg)-1], sig) {
			t.Fatal("changed message verified")
		}
		if agree(t, pub, msg, ed25519.Sign(other, msg)) {
			t.Fatal("another key's signature verified")
		}
		forged := make([]byte, 64)
		rand.Read(forged)
		forged[63] &= 0x0f
		if agree(t, pub, msg, forged) {
			t.Fatal("random signature verified")
		}
		// Non-canonical s: s + ℓ, and s with the top bits set.
		s := new(big.Int).SetBytes(reverse(sig[32:]))
		if agree(t, pub, msg, append(sig[:32:32], le32(new(big.Int).Add(s, order))...)) {
			t.Fatal("s + ℓ verified")
		}
		top := append([]byte(nil), sig...)
		top[63] |= 0xe0
		agree(t, pub, msg, top)
	}
}

// TestSmallOrder covers small-order and non-canonical points as key and as
// R: crypto/ed25519 accepts some (R = [s]B with the identity key), rejects
// others; Key must say the same for each.
func TestSmallOrder(t *testing.T) {
	msg := []byte("m")
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	genuine := ed25519.Sign(priv, msg)
	sB := basePointMul(t, big.NewInt(7))
	s7 := le32(big.NewInt(7))
	accepted := 0
	for _, a := range smallOrder {
		A := unhex(t, a)
		for _, r := range smallOrder {
			R := unhex(t, r)
			for _, s := range [][]byte{make([]byte, 32), s7, genuine[32:]} {
				agree(t, A, msg, append(append([]byte(nil), R...), s...))
				agree(t, pub, msg, append(append([]byte(nil), R...), s...))
			}
		}
		if agree(t, A, msg, append(append([]byte(nil), sB...), s7...)) {
			accepted++
		}
	}
	if accepted == 0 {
		t.Error("R = [s]B with a small-order key verified for none: the edge case is not exercised")
	}
}

// TestTorsionedR is why Key does not batch: the key's holder signs with R
// = [r]B + T, T of order 8, and s = r + k·a. The cofactored equation holds
// (curve25519-voi's batch accepts it); crypto/ed25519 rejects it; Key must
// reject it too.
func TestTorsionedR(t *testing.T) {
	msg := []byte("hn-water-reading/v1\n")
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	a := secretScalar(priv)
	for _, tor := range smallOrder[1:8] {
		r, _ := rand.Int(rand.Reader, order)
		sig := holderSign(a, r, pointAdd(t, basePointMul(t, r), unhex(t, tor)), pub, msg)
		if agree(t, pub, msg, sig) {
			t.Fatalf("torsioned R (%s) verified", tor)
		}
		bv := voi.NewBatchVerifier()
		bv.Add(voi.PublicKey(pub), msg, sig)
		bv.Add(voi.PublicKey(pub), msg, ed25519.Sign(priv, msg))
		if !bv.VerifyBatchOnly(rand.Reader) {
			t.Errorf("the cofactored batch rejected torsioned R (%s): the premise of the package doc is wrong", tor)
		}
	}
}

// TestTorsionedKey: a key with a small-order component, signatures by its
// holder — accepted or not according to k·T, the same by both.
func TestTorsionedKey(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	a := secretScalar(priv)
	accepted := 0
	for _, tor := range smallOrder[1:8] {
		A := pointAdd(t, basePointMul(t, new(big.Int).Mod(a, order)), unhex(t, tor))
		for i := range 16 {
			msg := []byte(fmt.Sprintf("m%d", i))
			r, _ := rand.Int(rand.Reader, order)
			if agree(t, A, msg, holderSign(a, r, basePointMul(t, r), A, msg)) {
				accepted++
			}
		}
	}
	if accepted == 0 || accepted == 7*16 {
		t.Errorf("%d of %d torsioned-key signatures verified: want some of each", accepted, 7*16)
	}
}

func TestTablesBudget(t *testing.T) {
	tables := NewTables(1)
	msg := []byte("m")
	var keys []*Key
	for range 2 {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		k, _ := NewKey(pub, tables)
		sig := ed25519.Sign(priv, msg)
		for range 2 * HotAfter {
			if !k.Verify(msg, sig) {
				t.Fatal("genuine signature refused")
			}
		}
		keys = append(keys, k)
	}
	if keys[0].table.Load() == nil || keys[1].table.Load() != nil {
		t.Errorf("tables: first %v, second %v; want only the first", keys[0].table.Load() != nil, keys[1].table.Load() != nil)
	}
	// A key that is gone gives its table back.
	keys[0] = nil
	deadline := time.Now().Add(5 * time.Second)
	for tables.left.Load() < 1 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if tables.left.Load() != 1 {
		t.Errorf("budget %d after the key with a table was collected, want 1", tables.left.Load())
	}
	if _, err := NewKey(make([]byte, 31), nil); err == nil {
		t.Error("a 31-byte key was accepted")
	}
}

// TestConcurrent verifies from many goroutines while the key turns hot
// (run with -race).
func TestConcurrent(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	k, _ := NewKey(pub, NewTables(4))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 3 * HotAfter {
				msg := []byte(fmt.Sprintf("%d/%d", g, i))
				sig := ed25519.Sign(priv, msg)
				if i%3 == 0 {
					sig[5] ^= 1
				}
				if got := k.Verify(msg, sig); got != (i%3 != 0) {
					t.Errorf("goroutine %d message %d: %v", g, i, got)
				}
			}
		}()
	}
	wg.Wait()
}

func TestNoteVerifier(t *testing.T) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "meter/M")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	v, err := NewNoteVerifier(vkey, NewTables(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := v.(*noteVerifier); !ok {
		t.Fatal("an Ed25519 key did not get a Key")
	}
	std, _ := note.NewVerifier(vkey)
	if v.Name() != std.Name() || v.KeyHash() != std.KeyHash() {
		t.Fatal("name or key hash differ from note's verifier")
	}
	for i := range 2 * HotAfter {
		msg, err := note.Sign(&note.Note{Text: fmt.Sprintf("reading %d\n", i)}, signer)
		if err != nil {
			t.Fatal(err)
		}
		if i%5 == 0 {
			msg[3] ^= 1
		}
		_, errFast := note.Open(msg, note.VerifierList(v))
		_, errStd := note.Open(msg, note.VerifierList(std))
		if (errFast == nil) != (errStd == nil) {
			t.Fatalf("note %d: sigcheck %v, note %v", i, errFast, errStd)
		}
	}
	if _, err := NewNoteVerifier("meter/M+00000000+AQ", nil); err == nil {
		t.Error("a malformed verifier key was accepted")
	}
}

func FuzzKey(f *testing.F) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	msg := []byte("hn-water-reading/v1\n")
	f.Add([]byte(pub), msg, ed25519.Sign(priv, msg))
	f.Add(make([]byte, 32), msg, make([]byte, 64))
	for _, s := range smallOrder {
		p, _ := hex.DecodeString(s)
		f.Add(p, msg, append(p, make([]byte, 32)...))
	}
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte) {
		if len(pub) != ed25519.PublicKeySize {
			return
		}
		agree(t, pub, msg, sig)
	})
}

// secretScalar is the signing scalar a of an Ed25519 private key (RFC 8032
// §5.1.5): its public key is [a]B.
func secretScalar(priv ed25519.PrivateKey) *big.Int {
	h := sha512.Sum512(priv.Seed())
	h[0] &= 248
	h[31] &= 127
	h[31] |= 64
	return new(big.Int).SetBytes(reverse(h[:32]))
}

// holderSign makes the signature (R, s = r + k·a mod ℓ) that the holder of
// a makes with nonce r, whatever point R is given as [r]B.
func holderSign(a, r *big.Int, R, pub, msg []byte) []byte {
	d := sha512.New()
	d.Write(R)
	d.Write(pub)
	d.Write(msg)
	k := new(big.Int).SetBytes(reverse(d.Sum(nil)))
	s := new(big.Int).Mul(k, a)
	s.Add(s, r).Mod(s, order)
	return append(append([]byte(nil), R...), le32(s)...)
}

// FuzzHotKey mutates the message and signature of one key that has its
// table: near-valid signatures, many per second.
func FuzzHotKey(f *testing.F) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	k := hot(f, pub)
	msg := []byte("hn-water-reading/v1\nmeter M\nseq 1\n")
	sig := ed25519.Sign(priv, msg)
	f.Add(msg, sig)
	f.Add(msg, append(sig[:32:32], make([]byte, 32)...))
	for _, s := range smallOrder {
		p, _ := hex.DecodeString(s)
		f.Add(msg, append(p, sig[32:]...))
	}
	f.Fuzz(func(t *testing.T, msg, sig []byte) {
		if got, want := k.Verify(msg, sig), ed25519.Verify(pub, msg, sig); got != want {
			t.Fatalf("with table %v, crypto/ed25519 %v\nmsg %q\nsig %x", got, want, msg, sig)
		}
	})
}

func reverse(b []byte) []byte {
	out := make([]byte, len(b))
	for i := range b {
		out[i] = b[len(b)-1-i]
	}
	return out
}

// le32 is the 32-byte little-endian encoding of n.
func le32(n *big.Int) []byte {
	out := make([]byte, 32)
	copy(out, reverse(n.Bytes()))
	return out
}

// basePointMul returns the encoding of [n]B, 0 ≤ n < ℓ.
func basePointMul(t testing.TB, n *big.Int) []byte {
	t.Helper()
	var s scalar.Scalar
	if _, err := s.SetCanonicalBytes(le32(n)); err != nil {
		t.Fatal(err)
	}
	var p curve.EdwardsPoint
	p.MulBasepoint(curve.ED25519_BASEPOINT_TABLE, &s)
	b, _ := p.MarshalBinary()
	return b
}

// pointAdd returns the encoding of the sum of two encoded points.
func pointAdd(t testing.TB, x, y []byte) []byte {
	t.Helper()
	var p, q curve.EdwardsPoint
	if err := p.UnmarshalBinary(x); err != nil {
		t.Fatal(err)
	}
	if err := q.UnmarshalBinary(y); err != nil {
		t.Fatal(err)
	}
	b, _ := p.Add(&p, &q).MarshalBinary()
	return b
}

// TestKeyLazy: a Key decodes its point on its first Verify, so that a
// directory of keys most of which are never used stays small (a 32-byte
// key decoded takes about 3 KB).
func TestKeyLazy(t *testing.T) {
	const n = 2000
	pubs := make([]ed25519.PublicKey, n)
	var priv ed25519.PrivateKey
	for i := range pubs {
		pub, p, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pubs[i], priv = pub, p
	}
	// The live heap as the collector marked it.
	heap := func() uint64 {
		runtime.GC()
		live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(live)
		return live[0].Value.Uint64()
	}
	before := heap()
	keys := make([]*Key, n)
	for i, pub := range pubs {
		k, err := NewKey(pub, nil)
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = k
	}
	per := float64(heap()-before) / n
	if per > 512 {
		t.Errorf("an unused Key takes %.0f bytes, want at most 512", per)
	}
	k := keys[n-1]
	if k.dec != nil {
		t.Fatal("NewKey decoded the point")
	}
	msg := []byte("reading")
	sig := ed25519.Sign(priv, msg)
	if !k.Verify(msg, sig) || k.dec == nil {
		t.Fatal("first Verify: want true with the point decoded")
	}
	sig[0] ^= 1
	if k.Verify(msg, sig) || keys[0].Verify(msg, ed25519.Sign(priv, msg)) {
		t.Error("a wrong signature or key verifies")
	}
	runtime.KeepAlive(keys)
}
