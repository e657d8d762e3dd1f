package planuse

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/periodvol"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/waterplan"
)

var jan = time.Date(2026, 1, 1, 0, 0, 0, 0, production.Zone)

// The board's months are the balance's volumes: each month's intake by
// source equals periodvol.Volumes (the enterprise balance's function) over
// the same month, and the shares, permits and park headroom follow.
func TestBoardFromTheStore(t *testing.T) {
	ctx := context.Background()
	hours := 31*24 + 28*24 + 10*24 // to 2026-03-11 00:00
	w := buildWorld(t, 3, jan, hours)
	// A permit for E00000's ground water (1 m³/h) of 1,500 m³ a year.
	must(t, w.st.PutPermit(ctx, waterplan.Permit{ID: "P-0", Enterprise: "E00000", Source: meter.SourceGround, AnnualM3: 1500,
		ValidFrom: jan, ValidTo: jan.AddDate(3, 0, 0)}))
	now := jan.Add(time.Duration(hours) * time.Hour) // at the last reading
	svc := &Service{Src: w.st, Now: func() time.Time { return now }}
	b, err := svc.Board(ctx, 2026)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Rows) != 3 || b.Series != 2*3*(1+1+10) { // January and February whole, March's days one by one
		t.Fatalf("rows %d series %d", len(b.Rows), b.Series)
	}
	pts, _ := w.st.Points(ctx, store.Filter{Enterprise: "E00001"})
	for m := 1; m <= 3; m++ {
		from := time.Date(2026, time.Month(m), 1, 0, 0, 0, 0, production.Zone)
		to := from.AddDate(0, 1, 0)
		if b.Through.Before(to) {
			to = b.Through
		}
		vol, _, err := periodvol.Volumes(ctx, w.st, pts, from, to, production.Zone)
		if err != nil {
			t.Fatal(err)
		}
		got := b.Statuses["E00001"].Months[m-1]
		if got.IntakeM3 != vol["E00001-G"]+vol["E00001-M"] || got.IntakeM3 == 0 {
			t.Errorf("month %d: tracked %g m³, balance volumes %v", m, got.IntakeM3, vol)
		}
	}
	st := b.Statuses["E00001"] // 3 m³/h against 2 m³/h planned
	if st.Through != 3 || math.Abs(st.Months[0].Share-1.5*365.0/365) > 1e-9 || st.Months[0].Coverage != 1 || len(st.IncompleteFor) != 0 {
		t.Errorf("E00001 January %+v", st.Months[0])
	}
	if r := rowOf(b, "E00001"); r.Level != "over" || r.Park != "" || math.Abs(r.ShareToDate-3.0*float64(hours)/(2*8760*90/365.0)) > 1e-9 {
		t.Errorf("row %+v", r)
	}
	// E00000: ground 1 m³/h against a permit of 1,500 m³: over by March.
	r0 := rowOf(b, "E00000")
	ps := b.Statuses["E00000"].Permits
	if len(ps) != 1 || math.Abs(ps[0].IntakeM3-float64(hours)) > 1e-6 || r0.Level != "over" || r0.PermitShare < 1 {
		t.Errorf("E00000 %+v permits %+v", r0, ps)
	}
	// The park holds E00000 and E00002: allocation their annual plans.
	if len(b.Parks) != 1 || b.Parks[0].Enterprises != 2 || b.Parks[0].AllocationM3 != (2.5+5)*8760 {
		t.Fatalf("parks %+v", b.Parks)
	}
	pk := b.Parks[0]
	wantUsed := float64(hours) * (2 + 4)
	if math.Abs(pk.IntakeM3-wantUsed) > 1e-6 || len(pk.Products) != 1 {
		t.Fatalf("park %+v", pk)
	}
	h := pk.Products[0] // intake per tonne: 6 m³/h over 20 t/h
	if math.Abs(h.IntakePerUnit-0.3) > 1e-9 || math.Abs(h.Allowed-(pk.AllocationM3-wantUsed)/0.3) > 1e-6 {
		t.Errorf("headroom %+v", h)
	}
	if b.Province.Enterprises != 3 {
		t.Errorf("province %+v", b.Province)
	}
	// A second board reuses the closed months and March's closed days:
	// only today's two minutes are read.
	now = now.Add(2 * MaxAge)
	b2, err := svc.Board(ctx, 2026)
	if err != nil || b2.Series != 2*3 {
		t.Errorf("second board read %d series (%v), want today's 6", b2.Series, err)
	}
	// An hour on, today's first hour is read (and nothing else); no data
	// in it, so March is incomplete.
	now = now.Add(time.Hour)
	b3, err := svc.Board(ctx, 2026)
	if err != nil || b3.Series != 2*3 || len(b3.Statuses["E00001"].IncompleteFor) != 1 {
		t.Errorf("third board read %d series (%v), status %+v", b3.Series, err, b3.Statuses["E00001"])
	}
	if b3.Statuses["E00001"].IntakeM3 != b.Statuses["E00001"].IntakeM3 {
		t.Errorf("intake changed without new data: %g → %g", b.Statuses["E00001"].IntakeM3, b3.Statuses["E00001"].IntakeM3)
	}
	if _, err := svc.EnterpriseStatus(ctx, "E09999", 2026); err == nil {
		t.Error("status of an enterprise without plan")
	}
}

// Levels at the thresholds, January closed: E00002 takes 4 m³/h against
// 5 planned (80 %: near), E00000 2 against 2.5 (80 %: near), E00001 3
// against 2 (150 %: over).
func TestLevelsAtTheShares(t *testing.T) {
	ctx := context.Background()
	w := buildWorld(t, 3, jan, 40*24)
	b, err := Compute(ctx, w.st, 2026, jan.AddDate(0, 1, 0), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]struct {
		level string
		share float64
	}{"E00000": {"near", 0.8}, "E00001": {"over", 1.5}, "E00002": {"near", 0.8}} {
		r := rowOf(b, id)
		if r.Level != want.level || math.Abs(r.MonthShare-want.share) > 1e-9 || math.Abs(r.ShareToDate-want.share) > 1e-9 {
			t.Errorf("%s: %+v, want %s at %g", id, r, want.level, want.share)
		}
	}
	// With thresholds 0.9 and 1.2 the 80 % enterprises are fine.
	b, err = Compute(ctx, w.st, 2026, jan.AddDate(0, 1, 0), Options{Thresholds: []float64{0.9, 1.2}})
	if err != nil {
		t.Fatal(err)
	}
	if r := rowOf(b, "E00002"); r.Level != "ok" {
		t.Errorf("E00002 at thresholds 0.9/1.2: %+v", r)
	}
}

// A silent meter leaves its month incomplete, not whole.
func TestSilentMeterMakesTheMonthIncomplete(t *testing.T) {
	ctx := context.Background()
	w := buildWorld(t, 1, jan, 20*24) // data to 21 January only
	now := time.Date(2026, 2, 10, 0, 0, 0, 0, production.Zone)
	b, err := Compute(ctx, w.st, 2026, now, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := b.Statuses["E00000"]
	if len(st.Months) != 2 || st.Months[0].Coverage >= 1 || st.Months[1].Coverage != 0 || len(st.IncompleteFor) != 2 || !rowOf(b, "E00000").Incomplete {
		t.Errorf("%+v", st)
	}
}

func rowOf(b *Board, id string) Row {
	for _, r := range b.Rows {
		if r.Enterprise == id {
			return r
		}
	}
	return Row{}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
