package rights

import (
	"context"
	"testing"
)

// BenchmarkTransfer moves 1 m³ back and forth between two holders: one
// operation each, checked, signed, on the ledger (synced) and in the
// store, with the stored entries read and folded every time.
func BenchmarkTransfer(b *testing.B) {
	h := setup(b)
	ctx := context.Background()
	iss, err := h.svc.Issue(ctx, Issue{Statement: h.good.ID, Volume: 800, Issuer: "regulator"})
	if err != nil {
		b.Fatal(err)
	}
	from, to := "EN-A", "EN-B"
	b.ResetTimer()
	for b.Loop() {
		if _, err := h.svc.Transfer(ctx, Transfer{Certificate: iss.Entry.Certificate, From: from, To: to, Volume: 1, Actor: "bench"}); err != nil {
			b.Fatal(err)
		}
		from, to = to, from
	}
}
