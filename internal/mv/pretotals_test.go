package mv_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/contract"
	et "github.com/shuixiao/shuixiao/internal/efficiency/efficiencytest"
	"github.com/shuixiao/shuixiao/internal/mv"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
)

// spy counts what a statement read: pre-totals standing for more than one
// hour, and hours read one by one.
type spy struct {
	*sqlite.Store
	totals, hours int
}

func (s *spy) ConsumptionTotals(ctx context.Context, q store.ConsumptionQuery) ([]store.SeriesTotals, error) {
	res, err := s.Store.ConsumptionTotals(ctx, q)
	for _, st := range res {
		s.totals += len(st.Totals)
	}
	return res, err
}

func (s *spy) Consumption(ctx context.Context, q store.ConsumptionQuery) ([]store.SeriesBuckets, error) {
	res, err := s.Store.Consumption(ctx, q)
	if q.Interval != store.Hour {
		return res, err // months and days periodvol.Fill reads to skip those without value
	}
	for _, sb := range res {
		s.hours += len(sb.Buckets)
	}
	return res, err
}

// TestPreTotalsSameStatement: a statement read from the store's day and
// month pre-totals equals, to the last bit of every period's intake, the
// one read hour by hour (the route `verify savings` recomputes), for a
// daily and a monthly model; after a late reading that changes two closed
// days (the pre-totals holding it are no longer current, then dropped and
// rebuilt by compaction); and on a store whose calendar (UTC) is not the
// periods' (UTC+8), whose pre-totals all cross the periods' bounds.
func TestPreTotalsSameStatement(t *testing.T) {
	for _, cal := range []struct {
		name string
		loc  *time.Location
	}{{"calendar of the periods", et.Zone}, {"UTC calendar", time.UTC}} {
		t.Run(cal.name, func(t *testing.T) { preTotalsSameStatement(t, cal.loc) })
	}
}

func preTotalsSameStatement(t *testing.T, loc *time.Location) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"), sqlite.Options{ManualCompaction: true, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	et.Register(t, st, meter.Enterprise{ID: "E", Name: "E", Park: "PK", Region: "430300", Industry: "1713"}, []meter.Point{
		et.Point("E", "IN", meter.Level1, meter.StageIntake, meter.SourceGround, ""),
		et.Point("E", "IN2", meter.Level1, meter.StageIntake, meter.SourceMunicipal, "")})
	from, retrofit, to := et.Day(2023, 12, 1), et.Day(2024, 3, 1), et.Day(2024, 4, 1)
	// IN is silent on 10 and 11 February: the two days share its next
	// increment evenly until a late reading tells how it fell.
	gapFrom, gapTo := et.Day(2024, 2, 10), et.Day(2024, 2, 12)
	out := func(d time.Time) float64 { return 100 + 30*math.Sin(float64(d.Unix()/86400)/5) }
	f := et.Feeder{St: st}
	f.Feed(t, []string{"IN", "IN2"}, from, to, time.Hour, func(p string, at time.Time) float64 {
		if p == "IN" && !at.Before(gapFrom) && at.Before(gapTo) {
			return -1
		}
		l := at.In(et.Zone)
		v := (300 + 2*out(time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, et.Zone)) + 7*math.Sin(float64(at.Unix())/7200)) / 24
		if p == "IN2" {
			v /= 3
		}
		if !at.Before(retrofit) {
			v *= 0.85
		}
		return v
	})
	dailyOutputCompacted(t, st, from, to, out)
	contracts := map[contract.Granularity]contract.Contract{}
	for _, g := range []contract.Granularity{contract.Daily, contract.Monthly} {
		contracts[g] = contract.Contract{ID: "C-" + string(g), Name: "C", Enterprise: "E", ServiceCompany: "S", Option: contract.WholeFacility,
			Granularity: g, Baseline: contract.Span{From: from, To: retrofit}, Reporting: []contract.Span{{From: retrofit, To: to}},
			Drivers: []contract.Driver{{Name: "production", Kind: contract.OutputDriver, Product: product}}, Status: contract.Active}
	}
	hours := int(to.Sub(from) / time.Hour)
	// same computes each statement both ways, requires them equal and
	// returns the daily model's records.
	same := func(stage string, wantTotals bool) contract.Record {
		t.Helper()
		var daily contract.Record
		for g, c := range contracts {
			sp := &spy{Store: st}
			pre, err := (&mv.Service{Store: sp}).Compute(ctx, c, 0, nil, contract.Checkpoint{})
			if err != nil {
				t.Fatalf("%s, %s model: %v", stage, g, err)
			}
			byHour, err := (&mv.Service{Store: hoursOnly{st}}).Compute(ctx, c, 0, nil, contract.Checkpoint{})
			if err != nil {
				t.Fatalf("%s, %s model, hour by hour: %v", stage, g, err)
			}
			for _, p := range [][2][]contract.PeriodFigures{{pre.Baseline, byHour.Baseline}, {pre.Reporting, byHour.Reporting}} {
				if len(p[0]) != len(p[1]) {
					t.Fatalf("%s, %s model: %d periods from pre-totals, %d hour by hour", stage, g, len(p[0]), len(p[1]))
				}
				for i := range p[0] {
					a, b := p[0][i], p[1][i]
					if math.Float64bits(a.IntakeM3) != math.Float64bits(b.IntakeM3) || a.Coverage != b.Coverage {
						t.Errorf("%s, %s model, period %s: %v m³ (coverage %v) from pre-totals, %v m³ (%v) hour by hour",
							stage, g, a.Label, a.IntakeM3, a.Coverage, b.IntakeM3, b.Coverage)
					}
				}
			}
			if pre.Statement != byHour.Statement {
				t.Errorf("%s, %s model: statement %+v from pre-totals, %+v hour by hour", stage, g, pre.Statement, byHour.Statement)
			}
			// Both points' hours over the span, as pre-totals or one by one.
			if sp.hours > 2*hours || (wantTotals && (sp.totals == 0 || sp.hours > 2*hours/4)) || (!wantTotals && g == contract.Daily && sp.hours != 2*hours) {
				t.Errorf("%s, %s model: %d pre-totals and %d hours read (%d hours in the span, pre-totals expected: %v)",
					stage, g, sp.totals, sp.hours, 2*hours, wantTotals)
			}
			if g == contract.Daily {
				daily = pre
			}
		}
		return daily
	}
	// The store's own calendar is the periods': whole days and months come
	// from the pre-totals. In UTC every one crosses a day's bound and is
	// read hour by hour instead (a monthly model keeps the UTC days inside
	// its months).
	inZone := loc == et.Zone
	before := same("compacted", inZone)

	// A late reading of IN at noon on 10 February: most of the gap's
	// increment fell on the 10th.
	page, err := st.Readings(ctx, store.ReadingQuery{Meter: "M-IN", From: gapFrom, To: gapTo.Add(2 * time.Hour)})
	if err != nil || len(page.Readings) < 2 {
		t.Fatalf("readings around the gap: %v, %v", page.Readings, err)
	}
	r0, _ := page.Readings[0].Value("total_m3")
	r1, _ := page.Readings[1].Value("total_m3")
	late := store.Reading{Meter: "M-IN", Seq: 1 << 40, Time: gapFrom.Add(12 * time.Hour), Received: to, Index: 1 << 40,
		Values: []store.Value{{Channel: "total_m3", Value: r0 + 0.9*(r1-r0)}}}
	late.Hash[0] = 1
	if err := st.Commit(ctx, &store.Batch{Readings: []store.Reading{late}}); err != nil {
		t.Fatal(err)
	}
	// Only the pre-totals whose dependency span holds it stop being current.
	head := same("late reading in the head", inZone)
	day := func(r contract.Record, d time.Time) float64 {
		for _, p := range r.Baseline {
			if p.From.Equal(d) {
				return p.IntakeM3
			}
		}
		t.Fatalf("no period %s", d)
		return 0
	}
	if day(head, gapFrom) <= day(before, gapFrom)+5 || day(head, gapFrom.AddDate(0, 0, 1)) >= day(before, gapFrom.AddDate(0, 0, 1))-5 {
		t.Fatalf("the late reading moved nothing: 10 February %g → %g m³, 11 February %g → %g m³", day(before, gapFrom), day(head, gapFrom),
			day(before, gapFrom.AddDate(0, 0, 1)), day(head, gapFrom.AddDate(0, 0, 1)))
	}
	if err := st.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	after := same("late reading compacted", inZone)
	if day(after, gapFrom) != day(head, gapFrom) {
		t.Errorf("10 February: %g m³ once compacted, %g m³ from the head", day(after, gapFrom), day(head, gapFrom))
	}
}
