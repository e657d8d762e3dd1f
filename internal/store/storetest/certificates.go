package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/certificate"
	"github.com/shuixiao/shuixiao/internal/store"
)

// certificateStore is a store that keeps certificate entries.
type certificateStore interface {
	store.Store
	store.Certificates
}

// testCertificates: entries come back in ledger order and as written; the
// same entry at its index again is harmless (catch-up), another entry at a
// kept index or a kept operation ID at another index is ErrConflict, and an
// invalid entry is ErrInvalid — none of which changes what is kept.
func testCertificates(t *testing.T, s certificateStore) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	issue := &certificate.Entry{Op: certificate.OpIssue, ID: "op-1", Certificate: "wrc-1", Statement: "mvs-1",
		Digest: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", Checkpoint: 7, Allowance: 500, Volume: 400,
		Holder: "E-XT-1", Actor: "监管 regulator", Time: t0}
	move := &certificate.Entry{Op: certificate.OpTransfer, ID: "op-2", Certificate: "wrc-1", From: "E-XT-1", To: "E-CS-1",
		Volume: 150, Actor: "tok-1", Time: t0.Add(time.Second)}
	must(t, s.PutCertificateEvent(ctx, certificate.Event{Index: 12, Entry: move}))
	must(t, s.PutCertificateEvent(ctx, certificate.Event{Index: 9, Entry: issue}))
	must(t, s.PutCertificateEvent(ctx, certificate.Event{Index: 12, Entry: move})) // applied again

	other := *move
	other.ID = "op-3"
	wantErr(t, "another entry at a kept index", s.PutCertificateEvent(ctx, certificate.Event{Index: 12, Entry: &other}), store.ErrConflict)
	wantErr(t, "a kept operation at another index", s.PutCertificateEvent(ctx, certificate.Event{Index: 13, Entry: move}), store.ErrConflict)
	bad := *move
	bad.ID, bad.Volume = "op-4", 0
	wantErr(t, "an invalid entry", s.PutCertificateEvent(ctx, certificate.Event{Index: 14, Entry: &bad}), store.ErrInvalid)
	wantErr(t, "no entry", s.PutCertificateEvent(ctx, certificate.Event{Index: 15}), store.ErrInvalid)

	evs, err := s.CertificateEvents(ctx)
	must(t, err)
	if len(evs) != 2 || evs[0].Index != 9 || evs[1].Index != 12 {
		t.Fatalf("events %+v, want indices 9 and 12", evs)
	}
	if evs[0].Entry.Text() != issue.Text() || evs[1].Entry.Text() != move.Text() {
		t.Errorf("kept entries differ from those written:\n%s\n%s", evs[0].Entry.Text(), evs[1].Entry.Text())
	}
	st, err := certificate.Fold(evs)
	must(t, err)
	if c, _ := st.Certificate("wrc-1"); c.Holdings["E-CS-1"] != 150 || c.Holdings["E-XT-1"] != 250 {
		t.Errorf("holdings from the kept entries: %v", c.Holdings)
	}
}
