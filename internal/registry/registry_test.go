package registry

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/devicecred"
	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/ledger"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// devices records what the registry told it.
type devices struct {
	mu                  sync.Mutex
	registered, revoked []string
	secrets             map[string]string // passwords set one by one (SetSecret), or their records given with a registration
	stored              []string          // devices whose password records the registry stored (bulkDevices)
}

func (d *devices) Registered(_ context.Context, id, secret string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.registered = append(d.registered, id)
	if secret != "" {
		d.secrets[id] = secret
	}
	return nil
}

func (d *devices) Revoked(_ context.Context, id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.revoked = append(d.revoked, id)
}

func (d *devices) KeyApplied(_ context.Context, ke *reading.KeyEntry, secret string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.registered = append(d.registered, ke.Subject())
	if secret != "" {
		d.secrets[ke.Subject()] = secret
	}
	return nil
}

// told reports whether the devices were given id's password pw: set
// (SetSecret), or its record with the registration.
func (d *devices) told(id, pw string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.secrets[id]
	return s == pw || devicecred.SecretMatches(s, id, []byte(pw))
}

func (d *devices) SetSecret(_ context.Context, id, pw string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.secrets[id] = pw
	return nil
}

// setup opens a real store, ledger and ingest pipeline with one point, PT-1.
func setup(t *testing.T) (*Meters, *sqlite.Store, *ledger.Log, *devices) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "store.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	lg, err := ledger.Open(ctx, ledger.Options{Dir: filepath.Join(dir, "ledger"), Origin: "test.example/registry"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lg.Close(context.Background()) })
	p, err := ingest.New(ingest.Options{Ledger: lg, Store: st, Directory: ingest.NewDirectory()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	for _, err := range []error{
		st.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}),
		st.CreatePark(ctx, meter.Park{ID: "PK", Name: "园区", Region: "430000"}),
		st.CreateEnterprise(ctx, meter.Enterprise{ID: "EN", Name: "企业", Park: "PK", Region: "430000"}),
		st.CreatePoint(ctx, meter.Point{ID: "PT-1", Enterprise: "EN", Name: "取水", Level: meter.Level1,
			Stage: meter.StageIntake, Source: meter.SourceMunicipal, Channels: []meter.Channel{{Name: "total_m3", Quantity: "volume",
				Unit: "m3", Kind: meter.Total, Min: 0, Max: 1e9}}}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	d := &devices{secrets: map[string]string{}}
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	return &Meters{Store: st, Ledger: lg, Ingest: p, Devices: d, Now: func() time.Time { return now }}, st, lg, d
}

func key(t *testing.T, id string) string {
	t.Helper()
	_, vkey, err := note.GenerateKey(rand.Reader, reading.KeyName(id))
	if err != nil {
		t.Fatal(err)
	}
	return vkey
}

func TestRegisterPutsTheKeyOnTheLedgerThenInTheRegistry(t *testing.T) {
	ms, st, lg, d := setup(t)
	ctx := context.Background()
	k := key(t, "M-1")
	got, err := ms.Register(ctx, Registration{ID: "M-1", Point: "PT-1", Key: k, Interval: time.Minute, Serial: "S1",
		MQTTPassword: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Created || got.Enterprise != "EN" || got.Meter.Key != k || got.Meter.Signed != meter.SignedByMeter ||
		got.Meter.Interval != time.Minute || got.Meter.Serial != "S1" {
		t.Fatalf("registered %+v", got)
	}
	size, err := lg.Size(ctx)
	if err != nil || size != got.Index+1 {
		t.Fatalf("ledger size %d (%v), key entry at %d", size, err, got.Index)
	}
	if m, err := st.Meter(ctx, "M-1"); err != nil || m.Key != k {
		t.Fatalf("store: %+v, %v", m, err)
	}
	if len(d.registered) != 1 || !d.told("M-1", "correct horse battery") {
		t.Fatalf("devices: %+v", d)
	}

	// The same meter again: nothing new on the ledger, the password changes.
	again, err := ms.Register(ctx, Registration{ID: "M-1", Point: "PT-1", Key: k, MQTTPassword: "another long password"})
	if err != nil || again.Created || again.Meter.Interval != time.Minute {
		t.Fatalf("again: %+v, %v", again, err)
	}
	if s2, _ := lg.Size(ctx); s2 != size || !d.told("M-1", "another long password") {
		t.Fatalf("ledger %d -> %d, secret %q", size, s2, d.secrets["M-1"])
	}

	// Another key for the same ID is a conflict.
	if _, err := ms.Register(ctx, Registration{ID: "M-1", Point: "PT-1", Key: key(t, "M-1")}); !errors.Is(err, ErrConflict) {
		t.Fatalf("another key: %v", err)
	}

	idx, err := ms.Revoke(ctx, "M-1", "replaced")
	if err != nil || idx != got.Index+1 {
		t.Fatalf("revoke: %d, %v", idx, err)
	}
	if m, err := st.Meter(ctx, "M-1"); err != nil || !m.Revoked {
		t.Fatalf("after revoke: %+v, %v", m, err)
	}
	if len(d.revoked) != 1 {
		t.Fatalf("devices not told of the revocation: %+v", d)
	}
	if _, err := ms.Revoke(ctx, "M-1", ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("second revoke: %v", err)
	}
	if _, err := ms.Revoke(ctx, "M-9", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown meter: %v", err)
	}
}

func TestRegisterRefusesBadRequests(t *testing.T) {
	ms, _, lg, _ := setup(t)
	ctx := context.Background()
	for name, req := range map[string]Registration{
		"bad id":         {ID: "M 1", Point: "PT-1", Key: key(t, "M 1")},
		"no such point":  {ID: "M-2", Point: "PT-9", Key: key(t, "M-2")},
		"key of another": {ID: "M-2", Point: "PT-1", Key: key(t, "M-3")},
		"not a key":      {ID: "M-2", Point: "PT-1", Key: "M-2+00000000+AAAA"},
		"short password": {ID: "M-2", Point: "PT-1", Key: key(t, "M-2"), MQTTPassword: "short"},
		"interval":       {ID: "M-2", Point: "PT-1", Key: key(t, "M-2"), Interval: MaxInterval + time.Second},
		"signing site":   {ID: "M-2", Point: "PT-1", Key: key(t, "M-2"), Signed: "elsewhere"},
	} {
		if _, err := ms.Register(ctx, req); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if size, err := lg.Size(ctx); err != nil || size != 0 {
		t.Fatalf("refused requests reached the ledger: size %d, %v", size, err)
	}
}
