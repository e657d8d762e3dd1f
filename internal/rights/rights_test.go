package rights

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/certificate"
	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/ledger"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// fakeStatements stands in for helper mv's statement store.
type fakeStatements map[string]StatementRef

func (f fakeStatements) Statement(_ context.Context, id string) (StatementRef, error) {
	s, ok := f[id]
	if !ok {
		return StatementRef{}, fmt.Errorf("statement %s: %w", id, store.ErrNotFound)
	}
	return s, nil
}

// statement makes a statement of enterprise EN-A whose ID follows from its
// digest as the contract says.
func statement(seed string, savings, uncertainty float64, meets bool) StatementRef {
	sum := sha256.Sum256([]byte(seed))
	d := hex.EncodeToString(sum[:])
	return StatementRef{ID: "mvs-" + d[:16], Contract: "ct-1", Enterprise: "EN-A",
		From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
		AdjustedBaselineM3: 10000, ReportingM3: 10000 - savings, SavingsM3: savings, UncertaintyM3: uncertainty,
		MeetsGuideline14: meets, CheckpointSize: 1, CheckpointRoot: d, Digest: d}
}

type harness struct {
	svc   *Service
	st    *sqlite.Store
	lg    *ledger.Log
	dir   string
	good  StatementRef // savings 1000.7 ± 200.2 → allowance 800
	weak  StatementRef // does not meet Guideline 14
	small StatementRef // savings within the uncertainty
}

func setup(t testing.TB) *harness {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "store.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	lg, err := ledger.Open(ctx, ledger.Options{Dir: filepath.Join(dir, "ledger"), Origin: "test.example/rights"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lg.Close(context.Background()) })
	p, err := ingest.New(ingest.Options{Ledger: lg, Store: st, Directory: ingest.NewDirectory()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	must(t, st.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}))
	must(t, st.CreatePark(ctx, meter.Park{ID: "PK", Name: "园区", Region: "430000"}))
	for _, id := range []string{"EN-A", "EN-B", "EN-C"} {
		must(t, st.CreateEnterprise(ctx, meter.Enterprise{ID: id, Name: "企业 " + id, Park: "PK", Region: "430000"}))
	}
	// A first entry so that the statements' checkpoint (size 1) exists.
	first, err := lg.SignNote(reading.PointHeader + "\nplaceholder\n")
	must(t, err)
	if _, err := lg.Append(ctx, [][]byte{first}); err != nil {
		t.Fatal(err)
	}
	h := &harness{st: st, lg: lg, dir: dir, good: statement("good", 1000.7, 200.2, true),
		weak: statement("weak", 1000, 10, false), small: statement("small", 100, 120, true)}
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	n := 0
	var mu sync.Mutex
	h.svc = &Service{Store: st, Statements: fakeStatements{h.good.ID: h.good, h.weak.ID: h.weak, h.small.ID: h.small},
		Ledger: lg, Ingest: p, Now: func() time.Time { return now },
		NewID: func(prefix string) string { mu.Lock(); defer mu.Unlock(); n++; return fmt.Sprintf("%s%d", prefix, n) }}
	return h
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// ledgerRights returns the certificate entries on the ledger, each checked
// to be signed by the log key.
func (h *harness) ledgerRights(t *testing.T) []certificate.Event {
	t.Helper()
	ctx := context.Background()
	size, err := h.lg.Size(ctx)
	must(t, err)
	logKey, err := note.NewVerifier(h.lg.VerifierKey())
	must(t, err)
	var out []certificate.Event
	must(t, h.lg.Entries(ctx, 0, size, func(i uint64, e []byte) error {
		if reading.Kind(e) != reading.RightHeader {
			return nil
		}
		if _, err := note.Open(e, note.VerifierList(logKey)); err != nil {
			t.Errorf("entry %d is not signed by the log key: %v", i, err)
		}
		ce, err := certificate.Parse(e)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		out = append(out, certificate.Event{Index: i, Entry: ce})
		return nil
	}))
	return out
}

// agree fails unless the store holds exactly the ledger's certificate
// entries: nothing half-written.
func (h *harness) agree(t *testing.T, what string, want int) {
	t.Helper()
	onLedger := h.ledgerRights(t)
	kept, err := h.st.CertificateEvents(context.Background())
	must(t, err)
	if len(onLedger) != want || len(kept) != want {
		t.Fatalf("%s: %d entries on the ledger, %d in the store, want %d", what, len(onLedger), len(kept), want)
	}
	for i := range kept {
		if kept[i].Index != onLedger[i].Index || kept[i].Entry.Text() != onLedger[i].Entry.Text() {
			t.Fatalf("%s: store entry %d differs from the ledger's", what, i)
		}
	}
}

func TestIssueTransferRetire(t *testing.T) {
	h := setup(t)
	ctx := context.Background()
	iss, err := h.svc.Issue(ctx, Issue{Statement: h.good.ID, Volume: 600, Issuer: "regulator"})
	must(t, err)
	if iss.Entry.Allowance != 800 || iss.Entry.Holder != "EN-A" || iss.Entry.Digest != h.good.Digest || iss.Entry.Checkpoint != 1 {
		t.Fatalf("issue entry %+v", iss.Entry)
	}
	tr, err := h.svc.Transfer(ctx, Transfer{Certificate: iss.Entry.Certificate, From: "EN-A", To: "EN-B", Volume: 250, Actor: "tok-a"})
	must(t, err)
	ret, err := h.svc.Retire(ctx, Retire{Certificate: iss.Entry.Certificate, Holder: "EN-B", Volume: 50, Purpose: "offset", Actor: "tok-b"})
	must(t, err)
	if !(iss.Index < tr.Index && tr.Index < ret.Index) {
		t.Errorf("indices %d, %d, %d not in order", iss.Index, tr.Index, ret.Index)
	}
	h.agree(t, "after issue, transfer, retire", 3)
	state, err := h.svc.State(ctx)
	must(t, err)
	c, _ := state.Certificate(iss.Entry.Certificate)
	if c.Holdings["EN-A"] != 350 || c.Holdings["EN-B"] != 200 || c.Retired != 50 {
		t.Errorf("holdings %v retired %d", c.Holdings, c.Retired)
	}
	// The rest of the allowance (200 m³) with volume 0.
	rest, err := h.svc.Issue(ctx, Issue{Statement: h.good.ID, Issuer: "regulator"})
	must(t, err)
	if rest.Entry.Volume != 200 {
		t.Errorf("rest of the allowance: %d m³, want 200", rest.Entry.Volume)
	}
	h.agree(t, "after the second issue", 4)
}

// TestRefusals: each refused request leaves ledger and store as they were.
func TestRefusals(t *testing.T) {
	h := setup(t)
	ctx := context.Background()
	iss, err := h.svc.Issue(ctx, Issue{Statement: h.good.ID, Certificate: "wrc-1", Operation: "op-first", Volume: 500, Issuer: "regulator"})
	must(t, err)
	cert := iss.Entry.Certificate
	for _, c := range []struct {
		name string
		do   func() error
		kind error
	}{
		{"over-issue", func() error {
			_, err := h.svc.Issue(ctx, Issue{Statement: h.good.ID, Volume: 301, Issuer: "regulator"})
			return err
		}, certificate.ErrOverIssue},
		{"savings within their uncertainty", func() error {
			_, err := h.svc.Issue(ctx, Issue{Statement: h.small.ID, Volume: 1, Issuer: "regulator"})
			return err
		}, certificate.ErrUnverifiable},
		{"statement not meeting Guideline 14", func() error {
			_, err := h.svc.Issue(ctx, Issue{Statement: h.weak.ID, Issuer: "regulator"})
			return err
		}, certificate.ErrUnverifiable},
		{"unknown statement", func() error {
			_, err := h.svc.Issue(ctx, Issue{Statement: "mvs-0000000000000000", Issuer: "regulator"})
			return err
		}, store.ErrNotFound},
		{"certificate ID issued twice", func() error {
			_, err := h.svc.Issue(ctx, Issue{Statement: h.good.ID, Certificate: "wrc-1", Volume: 1, Issuer: "regulator"})
			return err
		}, certificate.ErrExists},
		{"replayed operation", func() error {
			_, err := h.svc.Issue(ctx, Issue{Statement: h.good.ID, Operation: "op-first", Volume: 1, Issuer: "regulator"})
			return err
		}, certificate.ErrReplayed},
		{"transfer by a non-holder", func() error {
			_, err := h.svc.Transfer(ctx, Transfer{Certificate: cert, From: "EN-B", To: "EN-C", Volume: 1, Actor: "tok-b"})
			return err
		}, certificate.ErrNotHolder},
		{"transfer beyond the holding", func() error {
			_, err := h.svc.Transfer(ctx, Transfer{Certificate: cert, From: "EN-A", To: "EN-C", Volume: 501, Actor: "tok-a"})
			return err
		}, certificate.ErrNotHolder},
		{"transfer to an unknown enterprise", func() error {
			_, err := h.svc.Transfer(ctx, Transfer{Certificate: cert, From: "EN-A", To: "EN-Z", Volume: 1, Actor: "tok-a"})
			return err
		}, store.ErrNotFound},
		{"retire beyond the holding", func() error {
			_, err := h.svc.Retire(ctx, Retire{Certificate: cert, Holder: "EN-A", Volume: 501, Purpose: "offset", Actor: "tok-a"})
			return err
		}, certificate.ErrNotHolder},
		{"retire without purpose", func() error {
			_, err := h.svc.Retire(ctx, Retire{Certificate: cert, Holder: "EN-A", Volume: 1, Actor: "tok-a"})
			return err
		}, ErrInvalid},
		{"unknown certificate", func() error {
			_, err := h.svc.Retire(ctx, Retire{Certificate: "wrc-9", Holder: "EN-A", Volume: 1, Purpose: "offset", Actor: "tok-a"})
			return err
		}, certificate.ErrUnknown},
	} {
		err := c.do()
		if !errors.Is(err, c.kind) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.kind)
		}
		h.agree(t, c.name, 1)
	}
	// Spent once, refused the second time.
	_, err = h.svc.Transfer(ctx, Transfer{Certificate: cert, From: "EN-A", To: "EN-B", Volume: 500, Actor: "tok-a"})
	must(t, err)
	_, err = h.svc.Retire(ctx, Retire{Certificate: cert, Holder: "EN-A", Volume: 1, Purpose: "offset", Actor: "tok-a"})
	if !errors.Is(err, certificate.ErrNotHolder) {
		t.Errorf("retire after giving everything away: %v", err)
	}
	h.agree(t, "after the double spend", 2)
}

// TestConcurrentIssue: of many concurrent requests each for the whole
// allowance of one statement, exactly one is issued; of many concurrent
// transfers and retirements of the whole holding, exactly one passes.
func TestConcurrentIssue(t *testing.T) {
	h := setup(t)
	ctx := context.Background()
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = h.svc.Issue(ctx, Issue{Statement: h.good.ID, Volume: 800, Issuer: fmt.Sprintf("regulator-%d", i)})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, certificate.ErrOverIssue):
			t.Errorf("refusal %v is not an over-issue", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent issues of the whole allowance succeeded, want 1", ok, n)
	}
	h.agree(t, "after concurrent issues", 1)

	// The whole holding spent concurrently to different buyers: once.
	state, err := h.svc.State(ctx)
	must(t, err)
	cert := state.Certificates()[0].ID
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			to := []string{"EN-B", "EN-C"}[i%2]
			if i%3 == 0 {
				_, errs[i] = h.svc.Retire(ctx, Retire{Certificate: cert, Holder: "EN-A", Volume: 800, Purpose: "offset", Actor: "tok-a"})
			} else {
				_, errs[i] = h.svc.Transfer(ctx, Transfer{Certificate: cert, From: "EN-A", To: to, Volume: 800, Actor: "tok-a"})
			}
		}()
	}
	wg.Wait()
	ok = 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, certificate.ErrNotHolder):
			t.Errorf("refusal %v is not a spend beyond the holding", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent spends of the whole holding succeeded, want 1", ok, n)
	}
	h.agree(t, "after concurrent spends", 2)
}

// TestCatchUpReapplies: an entry on the ledger that the store lost (a crash
// between the ledger's sync and the store's commit) is applied by the
// catch-up of the restarted service, once, however often it runs, and its
// kept fold knows it.
func TestCatchUpReapplies(t *testing.T) {
	h := setup(t)
	ctx := context.Background()
	_, err := h.svc.Issue(ctx, Issue{Statement: h.good.ID, Certificate: "wrc-1", Volume: 500, Issuer: "regulator"})
	must(t, err)
	// The transfer reaches the ledger only, as if the process died then.
	e := &certificate.Entry{Op: certificate.OpTransfer, ID: "op-lost", Certificate: "wrc-1", From: "EN-A", To: "EN-B",
		Volume: 120, Actor: "tok-a", Time: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	signed, err := h.lg.SignNote(e.Text())
	must(t, err)
	if _, err := h.lg.Append(ctx, [][]byte{signed}); err != nil {
		t.Fatal(err)
	}
	if kept, _ := h.st.CertificateEvents(ctx); len(kept) != 1 {
		t.Fatalf("store holds %d entries before the catch-up, want 1", len(kept))
	}
	logKey, err := note.NewVerifier(h.lg.VerifierKey())
	must(t, err)
	// The restart: a new service over the store, its fold read on first use.
	h.svc = &Service{Store: h.svc.Store, Statements: h.svc.Statements, Ledger: h.svc.Ledger, Ingest: h.svc.Ingest, Now: h.svc.Now, NewID: h.svc.NewID}
	for range 2 {
		_, quarantined, err := ingest.CatchUp(ctx, h.lg, h.st, logKey, ingest.NewDirectory(), ingest.Policy{}, nil,
			func(ctx context.Context, index uint64, entry []byte) error {
				if reading.Kind(entry) == reading.RightHeader {
					return h.svc.ApplyEntry(ctx, index, entry)
				}
				return nil
			}, time.Now(), nil)
		must(t, err)
		if len(quarantined) != 0 {
			t.Fatalf("quarantined %v", quarantined)
		}
	}
	h.agree(t, "after the catch-up", 2)
	// Applying an entry again at its index is harmless; at another index it
	// is a replay.
	kept, _ := h.st.CertificateEvents(ctx)
	must(t, h.svc.Apply(ctx, kept[1].Index, kept[1].Entry))
	if err := h.svc.Apply(ctx, kept[1].Index+5, kept[1].Entry); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("the same entry at another index: %v", err)
	}
	h.agree(t, "after applying again", 2)
	state, _ := h.svc.State(ctx)
	if c, _ := state.Certificate("wrc-1"); c.Holdings["EN-B"] != 120 {
		t.Errorf("holdings after the catch-up: %v", c.Holdings)
	}
	// The fold the operations check against has the caught-up transfer:
	// EN-B can pass on its 120 m³, and not one more.
	if _, err := h.svc.Transfer(ctx, Transfer{Certificate: "wrc-1", From: "EN-B", To: "EN-C", Volume: 121, Actor: "tok-b"}); !errors.Is(err, certificate.ErrNotHolder) {
		t.Errorf("transfer of 121 m³ of 120: %v", err)
	}
	_, err = h.svc.Transfer(ctx, Transfer{Certificate: "wrc-1", From: "EN-B", To: "EN-C", Volume: 120, Actor: "tok-b"})
	must(t, err)
	h.agree(t, "after the transfer of what was caught up", 3)
}

func TestSeedDemo(t *testing.T) {
	h := setup(t)
	ctx := context.Background()
	for range 2 { // a restarted demo adds nothing
		must(t, SeedDemo(ctx, h.svc, h.good.ID, "EN-B"))
	}
	h.agree(t, "demo", 2)
	state, _ := h.svc.State(ctx)
	c, ok := state.Certificate("wrc-" + h.good.ID[4:])
	if !ok || c.Volume != 800 || c.Holdings["EN-A"] != 400 || c.Holdings["EN-B"] != 400 {
		t.Fatalf("demo certificate %+v", c)
	}
	if err := SeedDemo(ctx, h.svc, "statement-1", "EN-B"); err == nil {
		t.Error("a malformed statement ID was seeded")
	}
}

func TestNoStatements(t *testing.T) {
	h := setup(t)
	h.svc.Statements = nil
	_, err := h.svc.Issue(context.Background(), Issue{Statement: h.good.ID, Issuer: "regulator"})
	if !errors.Is(err, ErrNoStatements) {
		t.Fatalf("issue without a statement source: %v", err)
	}
}
