package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// testBulkRegistry checks store.BulkRegistry: many points and meters in one
// call, a parent earlier in the same call, all or none, and the collector a
// meter is registered behind kept through create, update and list.
func testBulkRegistry(t *testing.T, s store.Store) {
	bulk, ok := s.(store.BulkRegistry)
	if !ok {
		t.Fatal("the store does not implement store.BulkRegistry")
	}
	ctx := context.Background()
	ch, _ := meter.StandardChannel("total_m3")
	must(t, s.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}))
	must(t, s.CreatePark(ctx, meter.Park{ID: "PK", Name: "园区", Region: "430000"}))
	must(t, s.CreateEnterprise(ctx, meter.Enterprise{ID: "E", Name: "企业", Park: "PK", Region: "430000", Industry: "3120"}))
	_, gkey, _ := note.GenerateKey(rand.Reader, reading.GatewayKeyName("C-1"))
	must(t, s.CreateGateway(ctx, meter.Gateway{ID: "C-1", Key: gkey, Enterprise: "E"}))
	// A collector logs in to the broker with a password of its own.
	if ds, ok := s.(store.DeviceSecrets); ok {
		must(t, ds.SetDeviceSecret(ctx, "C-1", "salt$hash"))
		if rec, err := ds.DeviceSecret(ctx, "C-1"); err != nil || rec != "salt$hash" {
			t.Fatalf("collector's secret %q, %v", rec, err)
		}
		if err := ds.SetDeviceSecret(ctx, "NOBODY", "salt$hash"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("secret of no device: %v", err)
		}
	}
	pts := []meter.Point{{ID: "B-TOP", Enterprise: "E", Name: "总表", Level: meter.Level1, Stage: meter.StageIntake, Source: meter.SourceSurface, Channels: []meter.Channel{ch}}}
	for i := range 3 {
		pts = append(pts, meter.Point{ID: fmt.Sprintf("B-%d", i), Enterprise: "E", Name: "分表", Level: meter.Level3, Stage: meter.StageUse, Parent: "B-TOP", Channels: []meter.Channel{ch}})
	}
	// A bad point last: nothing of the call is stored.
	bad := append(append([]meter.Point{}, pts...), meter.Point{ID: "B-X", Enterprise: "NOPE", Name: "x", Level: meter.Level3, Stage: meter.StageUse, Channels: []meter.Channel{ch}})
	if err := bulk.CreatePoints(ctx, bad); !refused(err) {
		t.Fatalf("points of an unknown enterprise: %v", err)
	}
	if _, err := s.Point(ctx, "B-TOP"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused call stored its first point: %v", err)
	}
	must(t, bulk.CreatePoints(ctx, pts))
	if got, err := s.Points(ctx, store.Filter{Enterprise: "E"}); err != nil || len(got) != 4 || got[1].Parent != "B-TOP" {
		t.Fatalf("points %+v, %v", got, err)
	}
	if err := bulk.CreatePoints(ctx, pts[1:2]); !refused(err) {
		t.Fatalf("a point again: %v", err)
	}
	var ms []meter.Meter
	for i := range 3 {
		id := fmt.Sprintf("BM-%d", i)
		_, k, _ := note.GenerateKey(rand.Reader, reading.KeyName(id))
		ms = append(ms, meter.Meter{ID: id, Point: pts[i+1].ID, Key: k, Signed: meter.SignedByMeter, Collector: "C-1"})
	}
	ms[2].Collector = ""
	_, xkey, _ := note.GenerateKey(rand.Reader, reading.KeyName("BM-X"))
	badM := append(append([]meter.Meter{}, ms...), meter.Meter{ID: "BM-X", Point: "NOPE", Key: xkey, Signed: meter.SignedByMeter})
	if err := bulk.CreateMeters(ctx, badM, nil); !refused(err) {
		t.Fatalf("a meter on an unknown point: %v", err)
	}
	if _, err := s.Meter(ctx, "BM-0"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused call stored its first meter: %v", err)
	}
	must(t, bulk.CreateMeters(ctx, ms, nil))
	got, err := s.Meters(ctx, store.Filter{Enterprise: "E"})
	if err != nil || len(got) != 3 || got[0].Collector != "C-1" || got[1].Collector != "C-1" || got[2].Collector != "" {
		t.Fatalf("meters %+v, %v", got, err)
	}
	m := got[0]
	m.Collector = ""
	must(t, s.UpdateMeter(ctx, m))
	if m, err := s.Meter(ctx, "BM-0"); err != nil || m.Collector != "" {
		t.Fatalf("collector after an update without one: %+v, %v", m, err)
	}
}

// refused reports whether err is how a bulk call refuses an item.
func refused(err error) bool {
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrConflict)
}

// testBulkSecrets checks that store.BulkRegistry.CreateMeters stores the
// credential records given with the meters in the same transaction: a
// record of no device refuses the whole call (no meter, no record), and a
// call may also replace the records of meters and gateways registered
// before, with no new meter.
func testBulkSecrets(t *testing.T, s store.Store) {
	bulk, ok1 := s.(store.BulkRegistry)
	ds, ok2 := s.(store.DeviceSecrets)
	if !ok1 || !ok2 {
		t.Fatal("the store does not implement store.BulkRegistry and store.DeviceSecrets")
	}
	ctx := context.Background()
	ch, _ := meter.StandardChannel("total_m3")
	must(t, s.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}))
	must(t, s.CreatePark(ctx, meter.Park{ID: "PK", Name: "园区", Region: "430000"}))
	must(t, s.CreateEnterprise(ctx, meter.Enterprise{ID: "E", Name: "企业", Park: "PK", Region: "430000", Industry: "3120"}))
	_, gkey, _ := note.GenerateKey(rand.Reader, reading.GatewayKeyName("C-1"))
	must(t, s.CreateGateway(ctx, meter.Gateway{ID: "C-1", Key: gkey, Enterprise: "E"}))
	var pts []meter.Point
	var ms []meter.Meter
	var secrets []store.DeviceSecret
	for i := range 3 {
		pts = append(pts, meter.Point{ID: fmt.Sprintf("S-%d", i), Enterprise: "E", Name: "分表", Level: meter.Level3, Stage: meter.StageUse, Channels: []meter.Channel{ch}})
		id := fmt.Sprintf("SM-%d", i)
		_, k, _ := note.GenerateKey(rand.Reader, reading.KeyName(id))
		ms = append(ms, meter.Meter{ID: id, Point: pts[i].ID, Key: k, Signed: meter.SignedByMeter})
		secrets = append(secrets, store.DeviceSecret{Device: id, Record: "salt$" + id})
	}
	must(t, bulk.CreatePoints(ctx, pts))
	bad := append(append([]store.DeviceSecret{}, secrets...), store.DeviceSecret{Device: "NOBODY", Record: "salt$x"})
	if err := bulk.CreateMeters(ctx, ms, bad); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a secret of no device: %v", err)
	}
	if _, err := s.Meter(ctx, "SM-0"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused call stored its first meter: %v", err)
	}
	if rec, err := ds.DeviceSecret(ctx, "SM-0"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused call stored its first secret: %q %v", rec, err)
	}
	must(t, bulk.CreateMeters(ctx, ms, secrets[:2])) // SM-2 has no password
	for i, want := range []string{"salt$SM-0", "salt$SM-1", ""} {
		rec, err := ds.DeviceSecret(ctx, ms[i].ID)
		if want == "" && !errors.Is(err, store.ErrNotFound) || want != "" && (err != nil || rec != want) {
			t.Errorf("secret of %s: %q %v, want %q", ms[i].ID, rec, err, want)
		}
	}
	// Passwords alone, of registered meters and a gateway; the last of a
	// device given twice wins.
	must(t, bulk.CreateMeters(ctx, nil, []store.DeviceSecret{{Device: "SM-0", Record: "salt$new"}, {Device: "C-1", Record: "salt$gw"},
		{Device: "SM-2", Record: "salt$a"}, {Device: "SM-2", Record: "salt$b"}}))
	for id, want := range map[string]string{"SM-0": "salt$new", "SM-1": "salt$SM-1", "SM-2": "salt$b", "C-1": "salt$gw"} {
		if rec, err := ds.DeviceSecret(ctx, id); err != nil || rec != want {
			t.Errorf("secret of %s: %q %v, want %q", id, rec, err, want)
		}
	}
}
