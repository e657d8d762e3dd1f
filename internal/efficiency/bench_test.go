package efficiency_test

import (
	"context"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/efficiency"
	et "github.com/shuixiao/shuixiao/internal/efficiency/efficiencytest"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
)

// BenchmarkEnterpriseBalance: the worked-example enterprise (12 points)
// with a year of hourly readings, compacted; the balance of a month and of
// the year, with a monthly output record per month.
func BenchmarkEnterpriseBalance(b *testing.B) {
	st := openStore(b)
	pts, vol := et.WorkedExample("E")
	et.Register(b, st, meter.Enterprise{ID: "E", Name: "印染厂", Park: "PK", Region: "430302", Industry: "1713"}, pts)
	from := et.Day(2026, 1, 1)
	to := from.AddDate(1, 0, 0)
	names := make([]string, len(pts))
	for i, p := range pts {
		names[i] = p.ID
	}
	(&et.Feeder{St: st}).Feed(b, names, from, to, time.Hour, func(p string, _ time.Time) float64 { return vol[p] / 24 })
	var recs []production.Record
	for m := from; m.Before(to); m = m.AddDate(0, 1, 0) {
		recs = append(recs, production.Record{Enterprise: "E", Kind: production.Output, Product: "机织印染布", Quantity: 15000, Unit: "100m",
			From: m, To: m.AddDate(0, 1, 0), ReportedBy: "bench", ReportedAt: from})
	}
	ctx := context.Background()
	if _, err := st.AddProduction(ctx, recs); err != nil {
		b.Fatal(err)
	}
	if err := st.Compact(ctx); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		from, to time.Time
	}{{"month", et.Day(2026, 6, 1), et.Day(2026, 7, 1)}, {"year", from, to}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				res, err := efficiency.EnterpriseBalance(ctx, st, "E", c.from, c.to)
				if err != nil || !res.Report.Intake.OK {
					b.Fatal(err, res.Report.Intake.Note)
				}
			}
		})
	}
}
