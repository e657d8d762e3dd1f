package dispatch_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/dispatch"
	"github.com/shuixiao/shuixiao/internal/netmon"
	"github.com/shuixiao/shuixiao/internal/netmon/netmontest"
	"github.com/shuixiao/shuixiao/internal/netreg"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/workorder"
)

// A leak alarm becomes a work order named after its first candidate pipe;
// making it acknowledges the alarm; closing it with the repaired pipe
// records the water lost in the network's clock and clears the alarm.
func TestLeakAlarmToClosedOrder(t *testing.T) {
	ctx := context.Background()
	p := netmontest.NewPark(t, t.TempDir(), 1, 1, true)
	clk := netmontest.NewFakeNow(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	var told []alarm.Alarm
	d := &dispatch.Dispatch{Store: p.Store, Nets: netreg.New(p.Store, nil, clk.Now), Now: clk.Now,
		Notify: func(a alarm.Alarm) { told = append(told, a) }}

	a, _, err := p.Store.RaiseAlarm(ctx, alarm.Alarm{Kind: netmon.KindLeak, Severity: alarm.SeverityMajor,
		Enterprise: netmontest.UtilityID, Raised: clk.Now(), Message: "leak"})
	if err != nil {
		t.Fatal(err)
	}
	start := clk.Now().Add(-2 * time.Hour)
	if err := p.Store.RecordLeak(ctx, alarm.Leak{Alarm: a.ID, Network: netmontest.NetworkID, Start: start, Raised: clk.Now(),
		FlowM3H: 6, Candidates: []alarm.LeakCandidate{{Link: "P-IN"}}}); err != nil {
		t.Fatal(err)
	}
	wo, err := d.Prepare(ctx, dispatch.Request{Alarm: a.ID, By: "crew lead"})
	if err != nil {
		t.Fatal(err)
	}
	if wo.Network != netmontest.NetworkID || !wo.LeakStart.Equal(start) || wo.LeakFlowM3H != 6 || !strings.Contains(wo.Title, "P-IN") {
		t.Fatalf("prepared %+v", wo)
	}
	if wo, err = d.Create(ctx, wo); err != nil {
		t.Fatal(err)
	}
	if wo.Park != netmontest.ParkID || wo.Enterprise != netmontest.UtilityID || len(told) != 1 || told[0].State != alarm.Acked {
		t.Fatalf("created %+v, told %+v", wo, told)
	}
	lost, why := d.WaterLost(ctx, wo)
	if lost == nil || *lost < 11.9 || *lost > 12.1 || why != "" {
		t.Fatalf("water lost so far %v (%s), want 12 m³ (6 m³/h for 2 h)", lost, why)
	}
	if _, err := d.Close(ctx, wo, "crew lead", "NO-SUCH-PIPE", ""); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("closing with an unknown pipe: %v", err)
	}
	clk.Set(clk.Now().Add(time.Hour))
	closed, err := d.Close(ctx, wo, "crew lead", "P-IN", "clamp fitted")
	if err != nil {
		t.Fatal(err)
	}
	if closed.State != workorder.Closed || closed.WaterLostM3 < 17.9 || closed.WaterLostM3 > 18.1 || closed.RepairedLink != "P-IN" {
		t.Fatalf("closed %+v", closed)
	}
	if len(told) != 2 || told[1].State != alarm.Cleared {
		t.Fatalf("alarm not cleared: %+v", told)
	}
	if _, err := d.Close(ctx, closed, "crew lead", "", ""); !errors.Is(err, store.ErrConflict) {
		t.Errorf("closing twice: %v", err)
	}
}

// Requests that cannot make an order are refused with the reason; an
// order stored with leak inputs out of bounds is served without a figure
// and still closed.
func TestRefusalsAndBadStoredOrder(t *testing.T) {
	ctx := context.Background()
	p := netmontest.NewPark(t, t.TempDir(), 1, 1, true)
	clk := netmontest.NewFakeNow(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	d := &dispatch.Dispatch{Store: p.Store, Nets: netreg.New(p.Store, nil, clk.Now), Now: clk.Now}
	for name, req := range map[string]dispatch.Request{
		"neither alarm nor network": {},
		"not a leak alarm":          {Alarm: 999},
	} {
		if _, err := d.Prepare(ctx, req); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := d.Assign(ctx, 1, "", "x", ""); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("assign without assignee: %v", err)
	}
	bad, err := p.Store.CreateWorkOrder(ctx, workorder.Order{Network: netmontest.NetworkID, Park: netmontest.ParkID,
		Enterprise: netmontest.UtilityID, Title: "old", Created: clk.Now(), CreatedBy: "x",
		LeakStart: time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), LeakFlowM3H: 1e308})
	if err != nil {
		t.Fatal(err)
	}
	if lost, why := d.WaterLost(ctx, bad); lost != nil || why == "" {
		t.Errorf("bad stored order: lost %v, reason %q", lost, why)
	}
	closed, err := d.Close(ctx, bad, "x", "", "")
	if err != nil || closed.WaterLostM3 != 0 || !strings.Contains(closed.Note, "water lost not computed") {
		t.Errorf("closing the bad order: %+v, %v", closed, err)
	}
}
