package sigcheck

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// BenchmarkSignature is the single-core cost of one reading-sized
// signature check by one key, each way (µs/sig):
//
//   - crypto/ed25519: the reference;
//   - voi: curve25519-voi's verifier, key expanded once (a Key's first
//     HotAfter checks);
//   - table: a Key with its table (what sigcheck does after that);
//   - first-use: a new Key's first check (its point decoded, then voi);
//   - batch-N: curve25519-voi's BatchVerifier over N signatures — the
//     cofactored equation, which accepts what crypto/ed25519 rejects
//     (TestTorsionedR), shown for comparison only;
//   - batch-N+subgroup: that batch plus the check [ℓ]R = 0 per signature
//     that would make it agree with crypto/ed25519.
func BenchmarkSignature(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	const n = 1024
	msgs := make([][]byte, n)
	sigs := make([][]byte, n)
	for i := range n {
		msgs[i] = fmt.Appendf(nil, "%250d", i) // a reading is about 250 bytes
		sigs[i] = ed25519.Sign(priv, msgs[i])
	}
	// Wall time on a shared machine counts other processes' time slices;
	// CPU time (this process's) does not, so both are reported.
	var cpu0 time.Duration
	perSig := func(b *testing.B, per int) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(b.N*per), "µs/sig")
		b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1e3/float64(b.N*per), "cpu-µs/sig")
	}
	b.Run("crypto-ed25519", func(b *testing.B) {
		i := 0
		cpu0 = cpuTime()
		for b.Loop() {
			if !ed25519.Verify(pub, msgs[i%n], sigs[i%n]) {
				b.Fatal("refused")
			}
			i++
		}
		perSig(b, 1)
	})
	cold, _ := NewKey(pub, nil)
	b.Run("voi", func(b *testing.B) {
		i := 0
		cpu0 = cpuTime()
		for b.Loop() {
			if !cold.Verify(msgs[i%n], sigs[i%n]) {
				b.Fatal("refused")
			}
			i++
		}
		perSig(b, 1)
	})
	k := hot(b, pub)
	b.Run("table", func(b *testing.B) {
		i := 0
		cpu0 = cpuTime()
		for b.Loop() {
			if !k.Verify(msgs[i%n], sigs[i%n]) {
				b.Fatal("refused")
			}
			i++
		}
		perSig(b, 1)
	})
	epk, _ := voi.NewExpandedPublicKey(voi.PublicKey(pub))
	var lMinus1 scalar.Scalar
	lMinus1.Sub(scalar.NewFromUint64(0), scalar.NewFromUint64(1))
	for _, size := range []int{64, 1024} {
		for _, subgroup := range []bool{false, true} {
			name := fmt.Sprintf("batch-%d", size)
			if subgroup {
				name += "+subgroup"
			}
			b.Run(name, func(b *testing.B) {
				cpu0 = cpuTime()
				for b.Loop() {
					bv := voi.NewBatchVerifierWithCapacity(size)
					for i := range size {
						bv.AddExpanded(epk, msgs[i], sigs[i])
					}
					if !bv.VerifyBatchOnly(rand.Reader) {
						b.Fatal("refused")
					}
					if !subgroup {
						continue
					}
					for i := range size { // [ℓ]R = [ℓ−1]R + R = 0
						var c curve.CompressedEdwardsY
						var r, p curve.EdwardsPoint
						c.SetBytes(sigs[i][:32])
						r.SetCompressedY(&c)
						p.DoubleScalarMulBasepointVartime(&lMinus1, &r, scalar.NewFromUint64(0))
						if !p.Add(&p, &r).IsIdentity() {
							b.Fatal("R has a small-order component")
						}
					}
				}
				perSig(b, size)
			})
		}
	}
	// A key's first check: its point decoded, then voi. What a meter's
	// first reading costs at an edge, paid once per meter (per process).
	b.Run("first-use", func(b *testing.B) {
		i := 0
		cpu0 = cpuTime()
		for b.Loop() {
			k, _ := NewKey(pub, nil)
			if !k.Verify(msgs[i%n], sigs[i%n]) {
				b.Fatal("refused")
			}
			i++
		}
		perSig(b, 1)
	})
	b.Run("new-table", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			k, _ := NewKey(pub, NewTables(1))
			k.once.Do(func() { k.table.Store(k.newTable()) })
		}
	})
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
