package watercarbon

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"math"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/reading"
)

// One enterprise in a park takes 3 m³/h and discharges 2 m³/h for ten
// hours: 30 m³ × 0.29 + 20 m³ × 0.27 = 14.1 kWh at Central China's
// 0.5395 kg/kWh; a second enterprise outside parks has no meters.
func TestAccountsFromTheStore(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"), sqlite.Options{ManualCompaction: true, Location: production.Zone})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}))
	must(st.CreateRegion(ctx, meter.Region{Code: "430300", Name: "湘潭市", Parent: "430000"}))
	must(st.CreatePark(ctx, meter.Park{ID: "PK", Name: "园区", Region: "430300"}))
	must(st.CreateEnterprise(ctx, meter.Enterprise{ID: "E1", Name: "企业一", Park: "PK", Region: "430300", Industry: "3120"}))
	must(st.CreateEnterprise(ctx, meter.Enterprise{ID: "E2", Name: "企业二", Region: "430300", Industry: "3120"}))
	total, _ := meter.StandardChannel("total_m3")
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	from := time.Date(2026, 3, 2, 0, 0, 0, 0, production.Zone)
	var b store.Batch
	idx := uint64(0)
	for _, p := range []struct {
		pt   meter.Point
		rate float64
	}{
		{meter.Point{ID: "IN", Enterprise: "E1", Name: "取水", Level: 1, Stage: meter.StageIntake, Source: meter.SourceSurface, Channels: []meter.Channel{total}}, 3},
		{meter.Point{ID: "OUT", Enterprise: "E1", Name: "排水", Level: 1, Stage: meter.StageDischarge, Channels: []meter.Channel{total}}, 2},
	} {
		must(st.CreatePoint(ctx, p.pt))
		vkey, _ := note.NewEd25519VerifierKey(reading.KeyName("M"+p.pt.ID), pub)
		must(st.CreateMeter(ctx, meter.Meter{ID: "M" + p.pt.ID, Point: p.pt.ID, Key: vkey, Signed: meter.SignedByMeter, Registered: from.Add(-time.Hour), Interval: time.Hour}))
		for h := 0; h <= 10; h++ {
			at := from.Add(time.Duration(h) * time.Hour)
			r := store.Reading{Meter: "M" + p.pt.ID, Seq: uint64(h + 1), Time: at, Received: at, Index: idx, Values: []store.Value{{Channel: "total_m3", Value: 100 + p.rate*float64(h)}}}
			r.Hash[0], r.Hash[1] = byte(idx), byte(idx>>8)
			b.Readings = append(b.Readings, r)
			idx++
		}
	}
	b.LedgerSize = idx
	must(st.Commit(ctx, &b))
	now := from.Add(10*time.Hour + 20*time.Minute)
	svc := &Service{Src: st, Now: func() time.Time { return now }}
	s, err := svc.Snapshot(ctx, 2026)
	if err != nil {
		t.Fatal(err)
	}
	e := s.Enterprises["E1"]
	if e.IntakeM3 != 30 || e.DischargeM3 != 20 || math.Abs(e.Account.KWh-14.1) > 1e-9 || math.Abs(e.Account.KgCO2-14.1*0.5395) > 1e-9 || e.Incomplete {
		t.Errorf("E1 %+v", e)
	}
	if s.Factors.Grid.Region != "central" || s.Factors.Grid.Verified {
		t.Errorf("grid %+v", s.Factors.Grid)
	}
	if len(s.Parks) != 1 || s.Parks[0].Account.KgCO2 != e.Account.KgCO2 || s.Parks[0].Enterprises != 1 {
		t.Errorf("parks %+v", s.Parks)
	}
	if s.Province.Enterprises != 2 || s.Province.Account.KgCO2 != e.Account.KgCO2 || len(s.ParkEnterprises("PK")) != 1 {
		t.Errorf("province %+v", s.Province)
	}
	if math.Abs(e.KgCO2PerM3-14.1*0.5395/30) > 1e-12 {
		t.Errorf("per m³ %g", e.KgCO2PerM3)
	}
	// A proven saving of 300 m³ at E1's discharge share 20/30: 300 × 0.29
	// + 200 × 0.27 = 141 kWh. E2 has no metered intake: supply side only,
	// 300 × 0.29 = 87 kWh. A negative saving is refused.
	a, err := svc.Avoided(ctx, "E1", 300, 2026)
	if err != nil || math.Abs(a.DischargeShare-2.0/3) > 1e-12 || math.Abs(a.KWh-141) > 1e-9 || math.Abs(a.KgCO2-141*0.5395) > 1e-9 {
		t.Errorf("E1 avoided %+v, %v", a, err)
	}
	if a, err := svc.Avoided(ctx, "E2", 300, 2026); err != nil || a.DischargeShare != 0 || math.Abs(a.KWh-87) > 1e-9 {
		t.Errorf("E2 avoided %+v, %v", a, err)
	}
	if _, err := svc.Avoided(ctx, "E1", -1, 2026); err == nil {
		t.Error("a negative saving was accepted")
	}
}
