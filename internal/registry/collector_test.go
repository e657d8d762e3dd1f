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
	"github.com/shuixiao/shuixiao/internal/ledger"
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

	fresh := freshStore(t, st)
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
// order leaves the collector the last entry names, and the serial, model
// and interval the first one was applied with; applying one again changes
// nothing.
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
		var extra meter.Meter // catch-up: none, and the meter keeps its own
		if i == 0 {
			extra = meter.Meter{Serial: "S-9", Model: "DN50", Interval: time.Minute}
		}
		if err := ingest.ApplyKeyEntry(ctx, st, tc.ke, extra); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if m, err := st.Meter(ctx, "M-9"); err != nil || m.Collector != tc.want || m.Interval != time.Minute || m.Serial != "S-9" || m.Model != "DN50" {
			t.Fatalf("after entry %d: %+v %v; want collector %q", i, m, err, tc.want)
		}
	}
}

// keyEntries returns the meters' key entries in the ledger, in ledger
// order, each checked to be signed by the log key.
func keyEntries(t *testing.T, lg *ledger.Log) []*reading.KeyEntry {
	t.Helper()
	var out []*reading.KeyEntry
	for _, ke := range logEntries(t, lg, reading.KeyHeader, reading.ParseKeyEntry) {
		if !ke.IsGateway() {
			out = append(out, ke)
		}
	}
	return out
}

// freshStore is an empty store holding only st's region, park, enterprise
// and point PT-1 (which predates point entries: setup stores it directly),
// for a registry rebuilt from the ledger.
func freshStore(t *testing.T, st *sqlite.Store) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	fresh, err := sqlite.Open(filepath.Join(t.TempDir(), "store.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fresh.Close() })
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
	return fresh
}

// failingSequencer sequences entries until it has sequenced n, then fails:
// a start that stops half-way through a migration.
type failingSequencer struct {
	Sequencer
	n int
}

func (f *failingSequencer) SubmitEntry(ctx context.Context, e ingest.Entry) (uint64, error) {
	if f.n == 0 {
		return 0, errors.New("stopped")
	}
	f.n--
	return f.Sequencer.SubmitEntry(ctx, e)
}

// TestMigrateCollectorsOnce: meters registered behind a collector before
// key entries named one (the collector in the store only) get their
// registration re-stated with the collector, once, even when the first run
// stops half-way (the next sequences the rest together); a meter whose
// collector is revoked, a revoked meter and a meter whose entry names its
// collector get nothing; the store keeps what the entries do not carry,
// and a registry rebuilt from the ledger has the collectors.
func TestMigrateCollectorsOnce(t *testing.T) {
	ms, st, lg, _ := setup(t)
	ctx := context.Background()
	for _, id := range []string{"C-1", "C-2"} {
		_, gkey, _ := note.GenerateKey(rand.Reader, reading.GatewayKeyName(id))
		if _, _, err := ms.RegisterGateway(ctx, GatewayRegistration{ID: id, Key: gkey, Enterprise: "EN"}); err != nil {
			t.Fatal(err)
		}
	}
	// The old way: registered behind no collector on the ledger, the
	// collector in the store alone.
	old := map[string]string{"M-1": "C-1", "M-2": "C-1", "M-3": "C-2", "M-4": "C-1", "M-6": "C-1"}
	for _, id := range []string{"M-1", "M-2", "M-3", "M-4", "M-6"} {
		if _, err := ms.Register(ctx, Registration{ID: id, Point: "PT-1", Key: key(t, id), Serial: "S-" + id, Model: "DN50", Interval: time.Minute}); err != nil {
			t.Fatal(err)
		}
		m, err := st.Meter(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		m.Collector = old[id]
		if err := st.UpdateMeter(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ms.RevokeGateway(ctx, "C-2", "retired"); err != nil {
		t.Fatal(err)
	}
	if _, err := ms.Revoke(ctx, "M-4", "removed"); err != nil {
		t.Fatal(err)
	}
	if _, err := ms.Register(ctx, Registration{ID: "M-5", Point: "PT-1", Key: key(t, "M-5"), Collector: "C-1"}); err != nil {
		t.Fatal(err)
	}
	before := map[string]meter.Meter{}
	for id := range old {
		before[id], _ = st.Meter(ctx, id)
	}
	entriesBefore := len(keyEntries(t, lg))

	half := *ms
	half.Ingest = &failingSequencer{Sequencer: ms.Ingest, n: 1}
	if res, err := half.MigrateCollectors(ctx, lg); err == nil || res.Added != 1 {
		t.Fatalf("migration stopped half-way: %+v, %v", res, err)
	}
	res, err := ms.MigrateCollectors(ctx, lg)
	if err != nil || res.Added != 2 || len(res.Left) != 1 {
		t.Fatalf("migration resumed: %+v, %v; want 2 added (together), M-3 left", res, err)
	}
	if res, err := ms.MigrateCollectors(ctx, lg); err != nil || res.Added != 0 {
		t.Fatalf("migration run again: %+v, %v; want nothing added", res, err)
	}
	added := keyEntries(t, lg)[entriesBefore:]
	if len(added) != 3 {
		t.Fatalf("%d key entries added, want 3: %+v", len(added), added)
	}
	for _, ke := range added {
		was := before[ke.Meter]
		if ke.Action != reading.ActionRegister || ke.Collector != old[ke.Meter] || ke.Key != was.Key || ke.Point != was.Point ||
			ke.Enterprise != "EN" || ke.Signed != "meter" || !ke.Time.Equal(was.Registered) {
			t.Errorf("re-stated entry %+v; meter was %+v", ke, was)
		}
	}
	for id, want := range map[string]string{"M-1": "C-1", "M-2": "C-1", "M-3": "C-2", "M-6": "C-1"} {
		m, err := st.Meter(ctx, id)
		was := before[id]
		if err != nil || m.Collector != want || m.Serial != was.Serial || m.Model != was.Model || m.Interval != was.Interval || !m.Registered.Equal(was.Registered) {
			t.Errorf("after the migration %s: %+v, %v; was %+v", id, m, err, was)
		}
	}

	fresh := freshStore(t, st)
	logKey, _ := note.NewVerifier(lg.VerifierKey())
	if _, quarantined, err := ingest.CatchUp(ctx, lg, fresh, logKey, ingest.NewDirectory(), ingest.Policy{}, nil, nil, ms.Now(), nil); err != nil || len(quarantined) != 0 {
		t.Fatalf("catch-up: %v quarantined, %v", quarantined, err)
	}
	for id, want := range map[string]string{"M-1": "C-1", "M-2": "C-1", "M-3": "", "M-5": "C-1", "M-6": "C-1"} {
		if m, err := fresh.Meter(ctx, id); err != nil || m.Collector != want || m.Revoked {
			t.Errorf("rebuilt %s: %+v, %v; want collector %q", id, m, err, want)
		}
	}
}
