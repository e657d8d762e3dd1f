package rights

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/certificate"
)

// BenchmarkTransfer moves 1 m³ back and forth between two holders: one
// operation each, checked, signed, on the ledger (synced) and in the
// store. The history is certificate entries already on the ledger and in
// the store (certificates of 1,000 m³ on their own statements, each
// followed by three transfers and a retirement) that the operation must
// not read again: its cost should not grow with them.
func BenchmarkTransfer(b *testing.B) {
	for _, n := range []int{0, 10000} {
		b.Run(fmt.Sprintf("history=%d", n), func(b *testing.B) {
			h := setup(b)
			ctx := context.Background()
			seedHistory(b, h, n)
			iss, err := h.svc.Issue(ctx, Issue{Statement: h.good.ID, Volume: 800, Issuer: "regulator"})
			if err != nil {
				b.Fatal(err)
			}
			from, to := "EN-A", "EN-B"
			cpu0 := cpuTime()
			b.ResetTimer()
			for b.Loop() {
				if _, err := h.svc.Transfer(ctx, Transfer{Certificate: iss.Entry.Certificate, From: from, To: to, Volume: 1, Actor: "bench"}); err != nil {
					b.Fatal(err)
				}
				from, to = to, from
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// seedHistory puts n certificate entries on the ledger (one append) and
// in the store at their indices, as a catch-up would.
func seedHistory(b *testing.B, h *harness, n int) {
	ctx := context.Background()
	at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	var evs []*certificate.Entry
	for i := 0; len(evs) < n; i++ {
		cert, stmt := fmt.Sprintf("wrc-h%d", i), fmt.Sprintf("mvs-h%d", i)
		sum := sha256.Sum256([]byte(stmt))
		evs = append(evs,
			&certificate.Entry{Op: certificate.OpIssue, ID: fmt.Sprintf("op-h%d-i", i), Certificate: cert, Statement: stmt, Digest: hex.EncodeToString(sum[:]),
				Checkpoint: 1, Allowance: 1000, Volume: 1000, Holder: "EN-B", Actor: "regulator", Time: at},
			&certificate.Entry{Op: certificate.OpTransfer, ID: fmt.Sprintf("op-h%d-t1", i), Certificate: cert, From: "EN-B", To: "EN-C", Volume: 400, Actor: "tok-b", Time: at},
			&certificate.Entry{Op: certificate.OpTransfer, ID: fmt.Sprintf("op-h%d-t2", i), Certificate: cert, From: "EN-C", To: "EN-A", Volume: 100, Actor: "tok-c", Time: at},
			&certificate.Entry{Op: certificate.OpTransfer, ID: fmt.Sprintf("op-h%d-t3", i), Certificate: cert, From: "EN-B", To: "EN-A", Volume: 100, Actor: "tok-b", Time: at},
			&certificate.Entry{Op: certificate.OpRetire, ID: fmt.Sprintf("op-h%d-r", i), Certificate: cert, Holder: "EN-C", Volume: 50, Purpose: "offset", Actor: "tok-c", Time: at})
	}
	evs = evs[:n]
	notes := make([][]byte, len(evs))
	for i, e := range evs {
		var err error
		if notes[i], err = h.lg.SignNote(e.Text()); err != nil {
			b.Fatal(err)
		}
	}
	idx, err := h.lg.Append(ctx, notes)
	if err != nil {
		b.Fatal(err)
	}
	for i, e := range evs {
		if err := h.st.PutCertificateEvent(ctx, certificate.Event{Index: idx[i], Entry: e}); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime is the process's user and system CPU time (ns).
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
