package sim

import (
	"math"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/production"
)

// TestDeclaredStatistics: every simulated enterprise's declared records
// are valid production records, cover 2020 to last year whole, and follow
// the stated trajectory from its metered year: intensity higher in 2020 by
// the drawn share, value added 6 % a year lower per year back, reuse rate
// lower, and this year's value added matching the metered intake at the
// drawn intensity.
func TestDeclaredStatistics(t *testing.T) {
	p, err := Generate(1, 16)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range p.Enterprises {
		past, cur := e.DeclaredStatistics(&p.Params, 2025, 0.8*e.Archetype.IntakePerUnit)
		if len(past) != 6 || past[0].Year != 2020 || past[5].Year != 2025 {
			t.Fatalf("%s: years %+v", e.ID, past)
		}
		intensity := e.draw(0x1a7e, 18, 42)
		if math.Abs(cur.Intake/cur.ValueAdded-intensity) > 1e-9 || cur.Intake <= 0 {
			t.Errorf("%s: this year %v m³ on %v 万元, drawn intensity %v", e.ID, cur.Intake, cur.ValueAdded, intensity)
		}
		want2020 := intensity * (1 + e.draw(0x2b8f, 0.05, 0.45))
		if got := past[0].Intake / past[0].ValueAdded; math.Abs(got-want2020) > 1e-9*want2020 {
			t.Errorf("%s: 2020 intensity %v, want %v", e.ID, got, want2020)
		}
		if cur.Output > 0 && math.Abs(cur.Intake/cur.Output-0.8*e.Archetype.IntakePerUnit) > 1e-9*cur.Intake {
			t.Errorf("%s: this year's intake per unit %v, want 0.8 × %v", e.ID, cur.Intake/cur.Output, e.Archetype.IntakePerUnit)
		}
		if cur.Output > 0 && past[0].Intake/past[0].Output <= cur.Intake/cur.Output {
			t.Errorf("%s: 2020 intake per unit %v not above this year's %v", e.ID, past[0].Intake/past[0].Output, cur.Intake/cur.Output)
		}
		for i := 1; i < len(past); i++ {
			a, b := past[i-1], past[i]
			if b.Intake/b.ValueAdded >= a.Intake/a.ValueAdded || math.Abs(b.ValueAdded/a.ValueAdded-1.06) > 1e-9 ||
				b.Reuse/(b.Reuse+b.Intake) < a.Reuse/(a.Reuse+a.Intake) {
				t.Errorf("%s %d→%d: intensity, value added or reuse rate off the trajectory: %+v %+v", e.ID, a.Year, b.Year, a, b)
			}
		}
	}
	s := &Sim{prov: p}
	now := time.Date(2026, 3, 15, 10, 0, 0, 0, ChinaTime)
	recs := s.statisticsRecords(now)
	days := map[string]int{}
	for i, in := range recs {
		from, to, err := production.ParsePeriod(in.From, in.To)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		r := production.Record{Enterprise: in.Enterprise, Kind: production.Kind(in.Kind), Product: in.Product, Quantity: in.Quantity,
			Unit: in.Unit, From: from, To: to, Note: in.Note}
		if err := r.Validate(); err != nil {
			t.Errorf("record %d %+v: %v", i, in, err)
		}
		if r.Kind == production.Intake {
			days[r.Enterprise] += production.Days(r.From, r.To)
		}
		if r.Kind == production.ValueAdded && r.From.Year() == 2026 && r.From.Month() > time.March {
			t.Errorf("value added of a month to come: %+v", in)
		}
	}
	for _, e := range p.Enterprises {
		if want := production.Days(time.Date(2020, 1, 1, 0, 0, 0, 0, ChinaTime), time.Date(2026, 1, 1, 0, 0, 0, 0, ChinaTime)); days[e.ID] != want {
			t.Errorf("%s: declared intake covers %d days, want %d (2020–2025)", e.ID, days[e.ID], want)
		}
	}
}
