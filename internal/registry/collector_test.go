package registry

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// TestCollectorRebuiltFromTheLedger: a meter's data collector is in its key
// entry, registered one by one or in bulk, so a registry rebuilt from the
// ledger alone (catch-up into an empty store) keeps it, and the rebuilt key
// directory lets the collector forward the meter's readings; a meter
// registered behind no collector stays behind none.
func TestCollectorRebuiltFromTheLedger(t *testing.T) {
	ms, st, lg, _ := setup(t)
	ctx := context.Background()
	_, gkey, _ := note.GenerateKey(rand.Reader, reading.GatewayKeyName("C-1"))
	if _, _, err := ms.RegisterGateway(ctx, GatewayRegistration{ID: "C-1", Key: gkey, Enterprise: "EN"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ms.Register(ctx, Registration{ID: "M-1", Point: "PT-1", Key: key(t, "M-1"), Collector: "C-1"}); err != nil {
		t.Fatal(err)
	}
	seq := ms.Ingest.(BatchSequencer)
	k3 := key(t, "M-3")
	if _, err := ms.RegisterMany(ctx, []Registration{
		{ID: "M-2", Point: "PT-1", Key: key(t, "M-2"), Collector: "C-1"},
		{ID: "M-3", Point: "PT-1", Key: k3},
	}, seq); err != nil {
		t.Fatal(err)
	}
	// The same meter behind another collector is still refused.
	if _, err := ms.Register(ctx, Registration{ID: "M-3", Point: "PT-1", Key: k3, Collector: "C-1"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("re-registered M-3 behind a collector: %v", err)
	}

	fresh, err := sqlite.Open(filepath.Join(t.TempDir(), "store.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	// The point predates point entries (setup stores it directly).
	p, err := st.Point(ctx, "PT-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		fresh.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}),
		fresh.CreatePark(ctx, meter.Park{ID: "PK", Name: "园区", Region: "430000"}),
		fresh.CreateEnterprise(ctx, meter.Enterprise{ID: "EN", Name: "企业", Park: "PK", Region: "430000"}),
		fresh.CreatePoint(ctx, p),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	logKey, _ := note.NewVerifier(lg.VerifierKey())
	dir := ingest.NewDirectory()
	onKey := func(ctx context.Context, ke *reading.KeyEntry) error {
		if ke.IsGateway() {
			g, err := fresh.Gateway(ctx, ke.Gateway)
			if err != nil {
				return err
			}
			return dir.PutGateway(g)
		}
		m, err := fresh.Meter(ctx, ke.Meter)
		if err != nil {
			return err
		}
		p, err := fresh.Point(ctx, m.Point)
		if err != nil {
			return err
		}
		return dir.Put(m, p, p.Enterprise)
	}
	applied, quarantined, err := ingest.CatchUp(ctx, lg, fresh, logKey, dir, ingest.Policy{}, onKey, nil, ms.Now(), nil)
	if err != nil || applied != 4 || len(quarantined) != 0 {
		t.Fatalf("catch-up: %d applied, %v quarantined, %v", applied, quarantined, err)
	}
	for id, want := range map[string]string{"M-1": "C-1", "M-2": "C-1", "M-3": ""} {
		m, err := fresh.Meter(ctx, id)
		if err != nil || m.Collector != want {
			t.Errorf("rebuilt %s: collector %q, %v; want %q", id, m.Collector, err, want)
		}
		if old, _ := st.Meter(ctx, id); old.Collector != want {
			t.Errorf("live %s: collector %q, want %q", id, old.Collector, want)
		}
		rd := &reading.Reading{Meter: id}
		if got := dir.Forwards("C-1", rd); got != (want != "") {
			t.Errorf("rebuilt directory: C-1 forwards %s: %v", id, got)
		}
	}
}

// TestApplyKeyEntryCollector: applying a meter's key entries in ledger
// order leaves the collector the last entry names; applying one again
// changes nothing.
func TestApplyKeyEntryCollector(t *testing.T) {
	_, st, _, _ := setup(t)
	ctx := context.Background()
	k := key(t, "M-9")
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	behind := &reading.KeyEntry{Action: reading.ActionRegister, Meter: "M-9", Enterprise: "EN", Point: "PT-1", Key: k, Signed: "meter", Collector: "C-1", Time: at}
	alone := *behind
	alone.Collector, alone.Time = "", at.Add(time.Hour)
	for i, tc := range []struct {
		ke   *reading.KeyEntry
		want string
	}{{behind, "C-1"}, {behind, "C-1"}, {&alone, ""}, {&alone, ""}, {behind, "C-1"}} {
		if err := ingest.ApplyKeyEntry(ctx, st, tc.ke, meter.Meter{Interval: time.Minute}); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if m, err := st.Meter(ctx, "M-9"); err != nil || m.Collector != tc.want || m.Interval != time.Minute {
			t.Fatalf("after entry %d: %+v %v; want collector %q", i, m, err, tc.want)
		}
	}
}
