package registry

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/devicecred"
	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// bulkDevices is devices that also takes meters in bulk (meterDirectory).
type bulkDevices struct{ *devices }

func (d bulkDevices) SecretsStored(secrets []store.DeviceSecret) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range secrets {
		d.stored = append(d.stored, s.Device)
	}
}

func (d bulkDevices) PutMeters(ms []meter.Meter, _ []meter.Point, secrets []store.DeviceSecret) error {
	d.SecretsStored(secrets)
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range ms {
		d.registered = append(d.registered, m.ID)
	}
	return nil
}

func bulkPoints(n int, parent string) []meter.Point {
	var pts []meter.Point
	for i := range n {
		pts = append(pts, meter.Point{ID: fmt.Sprintf("BP-%d", i), Enterprise: "EN", Name: "分表", Level: meter.Level3, Stage: meter.StageUse,
			Parent: parent, Channels: []meter.Channel{{Name: "total_m3", Quantity: "volume", Unit: "m3", Kind: meter.Total, Min: 0, Max: 1e9}}})
	}
	return pts
}

// TestBulkRegistration: a batch of points and meters is registered whole,
// its entries on the ledger, the meters in the key directory with their
// collector; a batch with bad items is refused whole, each bad item named
// by index and field, and leaves the ledger and the registry as they were.
func TestBulkRegistration(t *testing.T) {
	for _, bulkDir := range []bool{true, false} {
		t.Run(fmt.Sprintf("bulkDirectory=%v", bulkDir), func(t *testing.T) {
			ms, st, lg, d := setup(t)
			if bulkDir {
				ms.Devices = bulkDevices{d}
			}
			ctx := context.Background()
			ps := &Points{Store: st, Ledger: lg, Ingest: ms.Ingest, Now: ms.Now}
			seq := ms.Ingest.(BatchSequencer)
			gkey := func(id string) string {
				_, k, _ := note.GenerateKey(rand.Reader, reading.GatewayKeyName(id))
				return k
			}
			for _, g := range []string{"C-1", "C-2"} {
				if _, _, err := ms.RegisterGateway(ctx, GatewayRegistration{ID: g, Key: gkey(g), Enterprise: "EN"}); err != nil {
					t.Fatal(err)
				}
			}
			size0, _ := lg.Size(ctx)

			// Points: the second refers to an unknown enterprise, the fourth
			// repeats the first: nothing stored, both named.
			bad := bulkPoints(4, "PT-1")
			bad[1].Enterprise = "NOPE"
			bad[3].ID = bad[0].ID
			_, err := ps.CreateMany(ctx, bad, seq)
			var be *BatchError
			if !errors.As(err, &be) || len(be.Items) != 2 || be.Items[0].Index != 1 || be.Items[0].Field != "enterprise" ||
				be.Items[1].Index != 3 || be.Items[1].Field != "id" {
				t.Fatalf("bad points: %v", err)
			}
			if _, err := st.Point(ctx, "BP-0"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a refused batch stored a point: %v", err)
			}
			pts := bulkPoints(50, "PT-1")
			pts[49].Parent = "BP-0" // a parent earlier in the batch
			idx, err := ps.CreateMany(ctx, pts, seq)
			if err != nil || len(idx) != 50 || idx[0] != size0 || idx[49] != size0+49 {
				t.Fatalf("points: %v %v", idx, err)
			}
			if p, err := st.Point(ctx, "BP-49"); err != nil || p.Parent != "BP-0" {
				t.Fatalf("point BP-49: %+v %v", p, err)
			}

			reqs := make([]Registration, 50)
			for i := range reqs {
				id := fmt.Sprintf("BM-%d", i)
				reqs[i] = Registration{ID: id, Point: pts[i].ID, Key: key(t, id), Collector: "C-1"}
			}
			reqs[49].Collector = ""
			reqs[49].MQTTPassword = "a-long-enough-password"
			badReqs := append([]Registration{}, reqs...)
			badReqs[2].Point = "NOPE"
			badReqs[5].Collector = "C-9"
			badReqs[7].Key = key(t, "BM-other")
			size1, _ := lg.Size(ctx)
			_, err = ms.RegisterMany(ctx, badReqs, seq)
			if !errors.As(err, &be) || len(be.Items) != 3 {
				t.Fatalf("bad meters: %v", err)
			}
			for k, want := range []struct {
				i     int
				field string
			}{{2, "point"}, {5, "collector"}, {7, "key"}} {
				if it := be.Items[k]; it.Index != want.i || it.Field != want.field {
					t.Errorf("bad item %d: %v, want index %d field %s", k, it, want.i, want.field)
				}
			}
			if !strings.Contains(err.Error(), "item 5, field collector: gateway \"C-9\" is not registered") {
				t.Errorf("message: %v", err)
			}
			if size, _ := lg.Size(ctx); size != size1 {
				t.Fatalf("a refused batch reached the ledger: %d → %d", size1, size)
			}
			if _, err := st.Meter(ctx, "BM-0"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a refused batch stored a meter: %v", err)
			}

			out, err := ms.RegisterMany(ctx, reqs, seq)
			if err != nil || len(out) != 50 || !out[0].Created || out[0].Index != size1 || out[49].Index != size1+49 {
				t.Fatalf("meters: %+v %v", out[:1], err)
			}
			if m, err := st.Meter(ctx, "BM-0"); err != nil || m.Collector != "C-1" || m.Key != reqs[0].Key {
				t.Fatalf("meter BM-0: %+v %v", m, err)
			}
			if len(d.registered) != 2+50 {
				t.Fatalf("devices told of %d", len(d.registered))
			}
			// With bulk devices the password is stored with the meters, in
			// their transaction; else one by one.
			checkPassword(t, st, d, bulkDir, "BM-49", "a-long-enough-password")
			// The same batch again changes nothing but the passwords.
			reqs[0].MQTTPassword = "another-long-password"
			out, err = ms.RegisterMany(ctx, reqs, seq)
			if err != nil || out[0].Created {
				t.Fatalf("again: %+v %v", out[:1], err)
			}
			if size, _ := lg.Size(ctx); size != size1+50 {
				t.Fatalf("ledger %d, want %d", size, size1+50)
			}
			checkPassword(t, st, d, bulkDir, "BM-0", "another-long-password")
			checkPassword(t, st, d, bulkDir, "BM-49", "a-long-enough-password")
		})
	}
}

// checkPassword checks that meter id's password is pw: in the store if the
// registry stored it itself (bulk), else as the devices were told it.
func checkPassword(t *testing.T, st store.DeviceSecrets, d *devices, bulk bool, id, pw string) {
	t.Helper()
	d.mu.Lock()
	told, stored := d.secrets[id], slices.Contains(d.stored, id)
	d.mu.Unlock()
	if !bulk {
		if !d.told(id, pw) || stored {
			t.Errorf("password of %s told %q, stored by the registry %v; want %q told", id, told, stored, pw)
		}
		return
	}
	rec, err := st.DeviceSecret(context.Background(), id)
	if err != nil || !devicecred.SecretMatches(rec, id, []byte(pw)) || told != "" || !stored {
		t.Errorf("password of %s: record %q %v, told %q, stored by the registry %v; want %q stored", id, rec, err, told, stored, pw)
	}
}

// TestBulkRegistrationTellsEachDeviceOnce: a bulk registration with MQTT
// passwords tells the credentials' listener (bus mode publishes each call
// to the edges, shuixiao.keys) of each new meter once, in one call a store
// transaction; registering the batch again with new passwords tells of
// each once more.
func TestBulkRegistrationTellsEachDeviceOnce(t *testing.T) {
	ms, st, lg, _ := setup(t)
	creds := devicecred.New(st, ingest.NewDirectory())
	var mu sync.Mutex
	var calls [][]string
	creds.OnCredentialChange = func(ids ...string) {
		mu.Lock()
		calls = append(calls, slices.Clone(ids))
		mu.Unlock()
	}
	ms.Devices = creds
	ctx := context.Background()
	seq := ms.Ingest.(BatchSequencer)
	pts := bulkPoints(20, "PT-1")
	if _, err := (&Points{Store: st, Ledger: lg, Ingest: ms.Ingest, Now: ms.Now}).CreateMany(ctx, pts, seq); err != nil {
		t.Fatal(err)
	}
	reqs := make([]Registration, len(pts))
	for i := range reqs {
		id := fmt.Sprintf("BM-%d", i)
		reqs[i] = Registration{ID: id, Point: pts[i].ID, Key: key(t, id), MQTTPassword: "a-long-enough-password-" + id}
	}
	check := func(round string) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		told := map[string]int{}
		for _, ids := range calls {
			for _, id := range ids {
				told[id]++
			}
		}
		for _, r := range reqs {
			if told[r.ID] != 1 {
				t.Errorf("%s: %s told %d times, want once", round, r.ID, told[r.ID])
			}
		}
		if len(told) != len(reqs) {
			t.Errorf("%s: told of %d devices, want %d", round, len(told), len(reqs))
		}
		calls = nil
	}
	if out, err := ms.RegisterMany(ctx, reqs, seq); err != nil || !out[0].Created {
		t.Fatalf("register: %v", err)
	}
	check("new meters")
	old := reqs[0].MQTTPassword
	if !creds.Authenticate(reqs[0].ID, []byte(old)) { // and cached
		t.Fatal("the password registered is refused")
	}
	for i := range reqs {
		reqs[i].MQTTPassword += "-2"
	}
	if out, err := ms.RegisterMany(ctx, reqs, seq); err != nil || out[0].Created {
		t.Fatalf("again: %v", err)
	}
	check("new passwords")
	if !creds.Authenticate(reqs[0].ID, []byte(reqs[0].MQTTPassword)) || creds.Authenticate(reqs[0].ID, []byte(old)) {
		t.Error("the new password is refused or the old one still accepted")
	}
}

// TestRegistrationTellsEachDeviceOnce: registering one meter with an MQTT
// password (Register, as POST /api/v1/meters does), meters one by one
// where the devices cannot take them in bulk (RegisterMany's fallback),
// and a gateway with a password, each tell the credentials' listener (bus
// mode publishes each call to the edges, shuixiao.keys) of the device once,
// and the password is then accepted. The old code told of each twice: of
// the registration, then of the password.
func TestRegistrationTellsEachDeviceOnce(t *testing.T) {
	ms, st, _, _ := setup(t)
	creds := devicecred.New(st, ingest.NewDirectory())
	var mu sync.Mutex
	told := map[string]int{}
	creds.OnCredentialChange = func(ids ...string) {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			told[id]++
		}
	}
	ctx := context.Background()
	check := func(how string, pws map[string]string) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		for id, pw := range pws {
			if told[id] != 1 {
				t.Errorf("%s: %s told %d times, want once", how, id, told[id])
			}
			if !creds.Authenticate(id, []byte(pw)) {
				t.Errorf("%s: %s's password refused", how, id)
			}
		}
		if len(told) != len(pws) {
			t.Errorf("%s: told of %v, want %d devices", how, told, len(pws))
		}
		clear(told)
	}

	ms.Devices = creds
	if r, err := ms.Register(ctx, Registration{ID: "M-1", Point: "PT-1", Key: key(t, "M-1"), MQTTPassword: "correct horse battery"}); err != nil || !r.Created {
		t.Fatalf("register: %+v %v", r, err)
	}
	check("Register", map[string]string{"M-1": "correct horse battery"})

	pts := bulkPoints(3, "PT-1")
	seq := ms.Ingest.(BatchSequencer)
	if _, err := (&Points{Store: st, Ledger: ms.Ledger, Ingest: ms.Ingest, Now: ms.Now}).CreateMany(ctx, pts, seq); err != nil {
		t.Fatal(err)
	}
	ms.Devices = struct{ Devices }{creds} // no meterDirectory: one by one
	var reqs []Registration
	pws := map[string]string{}
	for i, p := range pts {
		id := fmt.Sprintf("BM-%d", i)
		reqs = append(reqs, Registration{ID: id, Point: p.ID, Key: key(t, id), MQTTPassword: "a-long-enough-password-" + id})
		pws[id] = reqs[i].MQTTPassword
	}
	if out, err := ms.RegisterMany(ctx, reqs, seq); err != nil || !out[0].Created {
		t.Fatalf("register many: %v", err)
	}
	check("RegisterMany one by one", pws)

	ms.Devices = creds
	_, gkey, err := note.GenerateKey(rand.Reader, reading.GatewayKeyName("GW-1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ms.RegisterGateway(ctx, GatewayRegistration{ID: "GW-1", Key: gkey, Enterprise: "EN", MQTTPassword: "gateway password 1"}); err != nil {
		t.Fatal(err)
	}
	check("RegisterGateway", map[string]string{"GW-1": "gateway password 1"})
}
