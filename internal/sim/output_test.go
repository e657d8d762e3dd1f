package sim

import (
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/production"
)

// TestDayOutput: the demo's output records validate, two enterprises with
// a quota are over by design, and each record's quantity is the modelled
// intake of the day over the assumed intake per unit.
func TestDayOutput(t *testing.T) {
	prov, err := Generate(1, 16)
	if err != nil {
		t.Fatal(err)
	}
	s := &Sim{prov: prov, cfg: Config{Speed: 60}, start: time.Date(2026, 12, 7, 9, 30, 0, 0, ChinaTime)}
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, ChinaTime)
	recs := s.dayOutput(day)
	if len(recs) < 8 {
		t.Fatalf("%d records", len(recs))
	}
	over := s.overQuota()
	if len(over) != 2 {
		t.Fatalf("over quota by design: %v", over)
	}
	for _, r := range recs {
		from, to, err := production.ParsePeriod(r.From, r.To)
		if err != nil {
			t.Fatal(err)
		}
		rec := production.Record{Enterprise: r.Enterprise, Kind: production.Kind(r.Kind), Product: r.Product, Quantity: r.Quantity, Unit: r.Unit, From: from, To: to}
		if err := rec.Validate(); err != nil {
			t.Errorf("%s: %v", r.Enterprise, err)
		}
		e := prov.Enterprise(r.Enterprise)
		vol := e.Volumes(&prov.Params, s.modelTime(from), s.modelTime(to), time.Hour, nil)
		intake := 0.0
		for _, pt := range e.Points {
			if pt.Point.Level == 1 && pt.Point.Stage == "intake" {
				intake += pt.Spec.Flow(vol)
			}
		}
		share := intake / 60 / r.Quantity / e.Archetype.IntakePerUnit
		want := efficientShare
		if over[r.Enterprise] {
			want = overQuotaShare
		}
		if share < want*0.999 || share > want*1.001 {
			t.Errorf("%s: intake per unit %.3f × the 2020 figure, want %.2f", r.Enterprise, share, want)
		}
	}
}
