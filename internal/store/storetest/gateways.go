package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// testGateways keeps gateways, a meter signed by a gateway and a device
// mapping.
func testGateways(t *testing.T, s store.Store) {
	ctx := context.Background()
	ch, _ := meter.StandardChannel("total_m3")
	must(t, s.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}))
	must(t, s.CreatePark(ctx, meter.Park{ID: "PK", Name: "园区", Region: "430000"}))
	must(t, s.CreateEnterprise(ctx, meter.Enterprise{ID: "E", Name: "企业", Park: "PK", Region: "430000", Industry: "3120"}))
	must(t, s.CreatePoint(ctx, meter.Point{ID: "P1", Enterprise: "E", Name: "取水", Level: meter.Level1, Stage: meter.StageIntake,
		Source: meter.SourceSurface, Channels: []meter.Channel{ch}}))
	_, mkey, _ := note.GenerateKey(rand.Reader, reading.KeyName("M-OLD"))
	must(t, s.CreateMeter(ctx, meter.Meter{ID: "M-OLD", Point: "P1", Key: mkey, Signed: meter.SignedByMeter}))
	if m, err := s.Meter(ctx, "M-OLD"); err != nil || m.Gateway != "" || m.Trust() != reading.TrustMeter {
		t.Fatalf("meter with its own key: %+v, %v", m, err)
	}
	_, gkey, _ := note.GenerateKey(rand.Reader, reading.GatewayKeyName("GW-1"))
	if err := s.CreateGateway(ctx, meter.Gateway{ID: "GW-1", Key: mkey}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("gateway with a meter's key: %v", err)
	}
	reg := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	must(t, s.CreateGateway(ctx, meter.Gateway{ID: "GW-1", Key: gkey, Enterprise: "E", Registered: reg}))
	if err := s.CreateGateway(ctx, meter.Gateway{ID: "GW-1", Key: gkey}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second create: %v", err)
	}
	if err := s.CreateMeter(ctx, meter.Meter{ID: "M-GW", Point: "P1", Key: mkey, Signed: meter.SignedByGateway, Gateway: "GW-1"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("a gateway meter with a key of its own: %v", err)
	}
	must(t, s.CreateMeter(ctx, meter.Meter{ID: "M-GW", Point: "P1", Signed: meter.SignedByGateway, Gateway: "GW-1"}))
	if m, err := s.Meter(ctx, "M-GW"); err != nil || m.Gateway != "GW-1" || m.Trust() != reading.TrustGateway {
		t.Fatalf("gateway meter: %+v, %v", m, err)
	}
	must(t, s.RevokeGateway(ctx, "GW-1"))
	if gs, err := s.Gateways(ctx); err != nil || len(gs) != 1 || !gs[0].Revoked || !gs[0].Registered.Equal(reg) || gs[0].Enterprise != "E" {
		t.Fatalf("gateways: %+v, %v", gs, err)
	}
	d := meter.DeviceMapping{Protocol: "hj212", Device: "88888880000001", Password: "123456", Gateway: "GW-1",
		Fields: []meter.FieldMapping{{Field: "w00000-Cou", Meter: "M-GW", Channel: "total_m3", Kind: meter.Interval}}}
	must(t, s.PutDeviceMapping(ctx, d))
	d.Password = "654321"
	must(t, s.PutDeviceMapping(ctx, d))
	bad := d
	bad.Fields = nil
	if err := s.PutDeviceMapping(ctx, bad); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("mapping without fields: %v", err)
	}
	if got, err := s.DeviceMapping(ctx, "hj212", "88888880000001"); err != nil || got.Password != "654321" || len(got.Fields) != 1 {
		t.Fatalf("mapping: %+v, %v", got, err)
	}
	if l, err := s.DeviceMappings(ctx, "GW-2"); err != nil || len(l) != 0 {
		t.Fatalf("other gateway's mappings: %+v, %v", l, err)
	}
	must(t, s.DeleteDeviceMapping(ctx, "hj212", "88888880000001"))
	if _, err := s.DeviceMapping(ctx, "hj212", "88888880000001"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted mapping: %v", err)
	}
}
