package ingest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"math/big"
	"testing"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
	"golang.org/x/mod/sumdb/note"
)

// vkeyFor makes a note verifier key for an Ed25519 public key.
func vkeyFor(t testing.TB, name string, pub []byte) string {
	t.Helper()
	v, err := note.NewEd25519VerifierKey(name, ed25519.PublicKey(pub))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// agree checks that the fast verifier and crypto/ed25519 give the same
// answer for (pub, msg, sig), and returns it.
func agree(t testing.TB, pub, msg, sig []byte) bool {
	t.Helper()
	v, err := newMeterVerifier(vkeyFor(t, "meter/M", pub))
	if err != nil {
		// A key voi cannot expand must be one the standard library rejects too.
		if ed25519.Verify(ed25519.PublicKey(pub), msg, sig) {
			t.Fatalf("fast verifier refused a key whose signature verifies: %v", err)
		}
		return false
	}
	if _, ok := v.(*meterVerifier); !ok {
		t.Fatal("an Ed25519 key did not get the fast verifier")
	}
	got, want := v.Verify(msg, sig), ed25519.Verify(ed25519.PublicKey(pub), msg, sig)
	if got != want {
		t.Fatalf("fast verifier says %v, crypto/ed25519 says %v\npub %x\nmsg %q\nsig %x", got, want, pub, msg, sig)
	}
	return got
}

func TestMeterVerifierMatchesStdlib(t *testing.T) {
	msg := []byte("hn-water-reading/v1\nmeter M\nseq 1\n")
	for k := 0; k < 20; k++ {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		sig := ed25519.Sign(priv, msg)
		if !agree(t, pub, msg, sig) {
			t.Fatal("a genuine signature did not verify")
		}
		// Every single-bit change of the signature, and of the message.
		for bit := 0; bit < 8*len(sig); bit++ {
			bad := append([]byte(nil), sig...)
			bad[bit/8] ^= 1 << (bit % 8)
			if agree(t, pub, msg, bad) {
				t.Fatalf("flipped bit %d verified", bit)
			}
		}
		bad := append([]byte(nil), msg...)
		bad[k%len(bad)] ^= 0x20
		if agree(t, pub, bad, sig) {
			t.Fatal("changed message verified")
		}
	}
	// Non-canonical s (s + L): both refuse.
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	sig := ed25519.Sign(priv, msg)
	L, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	s := new(big.Int).SetBytes(reverse(sig[32:]))
	s.Add(s, L)
	nc := append(append([]byte(nil), sig[:32]...), pad32(reverse(s.Bytes()))...)
	if agree(t, pub, msg, nc) {
		t.Fatal("non-canonical s verified")
	}
	// The identity as public key: R = [s]B verifies for any message under
	// cofactorless rules; both implementations must say so.
	identity := make([]byte, 32)
	identity[0] = 1
	scalar := make([]byte, 32)
	scalar[0] = 7
	if !agree(t, identity, msg, append(basePointMul(t, 7), scalar...)) {
		t.Fatal("R = [s]B with the identity as key must verify under cofactorless rules")
	}
	// Small-order R and all-zero signatures.
	agree(t, pub, msg, make([]byte, 64))
	agree(t, pub, msg, append(identity, make([]byte, 32)...))
}

func reverse(b []byte) []byte {
	out := make([]byte, len(b))
	for i := range b {
		out[i] = b[len(b)-1-i]
	}
	return out
}

func pad32(b []byte) []byte {
	out := make([]byte, 32)
	copy(out, b)
	return out
}

// basePointMul returns the encoding of [n]B.
func basePointMul(t testing.TB, n uint64) []byte {
	t.Helper()
	var p curve.EdwardsPoint
	p.MulBasepoint(curve.ED25519_BASEPOINT_TABLE, scalar.NewFromUint64(n))
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzMeterVerifier(f *testing.F) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	msg := []byte("hn-water-reading/v1\n")
	f.Add([]byte(pub), msg, ed25519.Sign(priv, msg))
	f.Add(make([]byte, 32), msg, make([]byte, 64))
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte) {
		if len(pub) != ed25519.PublicKeySize {
			return
		}
		if _, err := base64.StdEncoding.DecodeString(base64.StdEncoding.EncodeToString(pub)); err != nil {
			return
		}
		agree(t, pub, msg, sig)
	})
}

func BenchmarkVerifier(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	msg := make([]byte, 250)
	sig := ed25519.Sign(priv, msg)
	v, _ := newMeterVerifier(vkeyFor(b, "meter/M", pub))
	b.Run("curve25519-voi", func(b *testing.B) {
		for b.Loop() {
			if !v.Verify(msg, sig) {
				b.Fatal()
			}
		}
	})
	b.Run("crypto/ed25519", func(b *testing.B) {
		for b.Loop() {
			if !ed25519.Verify(pub, msg, sig) {
				b.Fatal()
			}
		}
	})
}
