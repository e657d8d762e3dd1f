package verify

import (
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// BenchmarkReadingSignature is the single-core cost of checking one
// reading's signature (note.Open): the ceiling Audit divides among workers.
func BenchmarkReadingSignature(b *testing.B) {
	m := newTestMeter(b, "HN-1")
	msg := m.next(b)
	v, _ := note.NewVerifier(m.vkey)
	vs := note.VerifierList(v)
	b.ResetTimer()
	for range b.N {
		if _, err := note.Open(msg, vs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
}

// BenchmarkVerifyReceipt is the cost of checking one witnessed receipt offline.
func BenchmarkVerifyReceipt(b *testing.B) {
	k := newTestKeys(b, origin, 2)
	m := newTestMeter(b, "HN-1")
	entries := [][]byte{k.register(b, m)}
	for range 999 {
		entries = append(entries, m.next(b))
	}
	receipt := k.receipt(b, entries, 777)
	pol, _ := ParsePolicy(k.policyText(2))
	mv, _ := note.NewVerifier(m.vkey)
	keys := ReceiptKeys{Log: k.logKey, Policy: pol, Meter: mv}
	b.ResetTimer()
	for range b.N {
		if _, err := VerifyReceipt(receipt, keys); err != nil {
			b.Fatal(err)
		}
	}
}
