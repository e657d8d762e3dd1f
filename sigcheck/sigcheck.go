// Package sigcheck checks Ed25519 signatures (RFC 8032) of signed notes
// (c2sp.org/signed-note) with exactly the verdicts of Go's crypto/ed25519 —
// and so of golang.org/x/mod/sumdb/note — in less than half its CPU time
// for a key that signs many notes, as a meter or a gateway key does
// (BenchmarkSignature).
//
// crypto/ed25519 accepts a signature (R, s) by public key A on message M
// when s < ℓ and R is, byte for byte, the encoding of [s]B − [k]A with
// k = SHA-512(R ‖ A ‖ M) mod ℓ: the cofactorless equation. A Key computes
// that same equation with the same encodings; what it changes is how the
// two scalar multiplications are done. After a key's first verifications
// (HotAfter) it gets a fixed-base table of its point, as the base point B
// has one, so that [k]A costs about what [s]B costs (curve25519-voi's
// EdwardsBasepointTable); before that, and for a key no table is spent on,
// it uses curve25519-voi's verifier with the options that match the
// standard library. A key curve25519-voi cannot decode is checked by
// crypto/ed25519 itself. All arithmetic is curve25519-voi's.
//
// Why not batch verification: a batch (curve25519-voi's BatchVerifier, like
// ed25519consensus) checks the cofactored equation [8]([s]B − R − [k]A) = 0
// over a random combination of signatures. That accepts a signature whose R
// has a small-order component, which crypto/ed25519 rejects (the key's
// holder can make one: TestTorsionedR). Without the factor 8, the
// small-order components of two such signatures cancel in a random
// combination with probability up to 1/2, so no batch equation rules them
// out; checking [ℓ]R = 0 for each signature does, but costs more than the
// whole check with a table (BenchmarkSignature, CPU time per signature:
// batches of 64 and 1024 take 0.74 and 0.52 of the table check's; with the
// subgroup check, 2.1 times it, as much as crypto/ed25519). Exact agreement
// with crypto/ed25519 is what lets the server, the verifier and anyone's
// note.Open agree on every reading, so this package keeps it.
//
// Why the table's look-ups stay constant-time, though a check handles only
// public values: curve25519-voi does not export its table's point format,
// and a table with direct look-ups on arithmetic of this package's own, on
// filippo.io/edwards25519's field elements, took 1.4 times as long
// (docs/architecture.md, "A session per meter"): voi's table adds points
// with AVX2, four coordinates at a time.
package sigcheck

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// HotAfter is the number of verifications after which a key gets its
// table: building one costs about as much as a few verifications with it.
const HotAfter = 32

// TableBytes is about the memory one key's table takes
// (BenchmarkSignature/new-table).
const TableBytes = 43 << 10

// stdlibRules makes curve25519-voi accept exactly the signatures that
// crypto/ed25519 accepts: cofactorless, canonical s, and the same treatment
// of small-order and non-canonical points.
var stdlibRules = &voi.Options{Verify: voi.VerifyOptionsStdLib}

// Tables is the memory budget for keys' tables: a Key gets a table only
// while the budget lasts, and gives it back when it is garbage-collected.
// A nil *Tables gives no key a table. One Tables is shared by every Key of
// a directory (a province has many meters).
type Tables struct {
	left atomic.Int64
}

// NewTables returns a budget of max tables (TableBytes each).
func NewTables(max int) *Tables {
	t := &Tables{}
	t.left.Store(int64(max))
	return t
}

// take reserves one table; false when the budget is spent.
func (t *Tables) take() bool {
	if t == nil {
		return false
	}
	if t.left.Add(-1) < 0 {
		t.left.Add(1)
		return false
	}
	return true
}

// give returns the table of a key that is gone.
func (t *Tables) give() { t.left.Add(1) }

// Key is an Ed25519 public key prepared for checking many signatures. It is
// safe for concurrent use.
//
// A Key decodes its point on its first Verify, not in NewKey: a directory
// holds a Key for every meter of a province, and a process that never
// checks most of them (the bus sequencer: the edges checked the readings)
// would otherwise keep about 3 KB of decoded point per meter, 1.5 GB for
// 500,000 meters (TestKeyLazy).
type Key struct {
	pub    [ed25519.PublicKeySize]byte // in the Key: one object less per meter for the collector
	tables *Tables
	prep   sync.Once
	dec    *voi.ExpandedPublicKey // set by prep; nil if curve25519-voi cannot decode pub
	uses   atomic.Int64
	once   sync.Once
	table  atomic.Pointer[curve.EdwardsBasepointTable]
}

// NewKey prepares a 32-byte Ed25519 public key; tables is the budget its
// table comes from (nil: none). Any 32 bytes make a Key: one that is not a
// point on the curve verifies nothing, as with crypto/ed25519.
func NewKey(pub []byte, tables *Tables) (*Key, error) {
	if err := checkPublicKey(pub); err != nil {
		return nil, err
	}
	k := &Key{}
	k.init(pub, tables)
	return k, nil
}

// checkPublicKey is NewKey's rule: a key of 32 bytes.
func checkPublicKey(pub []byte) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("sigcheck: Ed25519 public key of %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	return nil
}

// init sets a zero Key to the 32-byte key pub.
func (k *Key) init(pub []byte, tables *Tables) {
	copy(k.pub[:], pub)
	k.tables = tables
}

// decode returns k's point in curve25519-voi's expanded form, decoding it
// the first time; nil if curve25519-voi cannot decode it.
func (k *Key) decode() *voi.ExpandedPublicKey {
	k.prep.Do(func() {
		if epk, err := voi.NewExpandedPublicKey(voi.PublicKey(k.pub[:])); err == nil {
			k.dec = epk
		}
	})
	return k.dec
}

// newTable returns the fixed-base table of k's point A; nil if it does not
// decode. The point is decoded here, for the few keys that get a table,
// not kept by every decoded key: decode's expanded form holds −A in
// another form, and decoding every key twice cost a tenth of its first
// check (BenchmarkSignature/first-use, CPU: 41 → 37 µs), paid once for
// every meter an edge hears from.
func (k *Key) newTable() *curve.EdwardsBasepointTable {
	var c curve.CompressedEdwardsY
	var a curve.EdwardsPoint
	if _, err := c.SetBytes(k.pub[:]); err != nil {
		return nil
	}
	if _, err := a.SetCompressedY(&c); err != nil {
		return nil
	}
	return curve.NewEdwardsBasepointTable(&a)
}

// Verify reports whether sig is a valid signature of msg by k, exactly as
// crypto/ed25519.Verify does.
func (k *Key) Verify(msg, sig []byte) bool {
	d := k.decode()
	if d == nil {
		return ed25519.Verify(k.pub[:], msg, sig)
	}
	if t := k.table.Load(); t != nil {
		return k.verifyTable(t, msg, sig)
	}
	if k.uses.Add(1) >= HotAfter {
		k.once.Do(func() {
			if !k.tables.take() {
				return
			}
			t := k.newTable()
			if t == nil { // cannot be: decode decoded the same point
				k.tables.give()
				return
			}
			k.table.Store(t)
			// The budget counts live tables: a key dropped (rotated,
			// revoked, reloaded) gives its table back.
			runtime.AddCleanup(k, (*Tables).give, k.tables)
		})
	}
	return voi.VerifyExpandedWithOptions(d, msg, sig, stdlibRules)
}

// verifyTable checks crypto/ed25519's equation: s < ℓ and
// sig[:32] = encode([s]B − [k]A), k = SHA-512(R ‖ A ‖ M) mod ℓ, with A's
// table for [k]A and the base point's for [s]B.
func (k *Key) verifyTable(t *curve.EdwardsBasepointTable, msg, sig []byte) bool {
	if len(sig) != ed25519.SignatureSize || !scalar.ScMinimalVartime(sig[32:]) {
		return false
	}
	var s, h scalar.Scalar
	if _, err := s.SetCanonicalBytes(sig[32:]); err != nil {
		return false
	}
	var digest [sha512.Size]byte
	d := sha512.New()
	d.Write(sig[:32])
	d.Write(k.pub[:])
	d.Write(msg)
	d.Sum(digest[:0])
	if _, err := h.SetBytesModOrderWide(digest[:]); err != nil {
		return false
	}
	var sB, hA curve.EdwardsPoint
	sB.MulBasepoint(curve.ED25519_BASEPOINT_TABLE, &s)
	hA.MulBasepoint(t, &h)
	sB.Sub(&sB, &hA)
	var r curve.CompressedEdwardsY
	r.SetEdwardsPoint(&sB)
	return bytes.Equal(r[:], sig[:32])
}
