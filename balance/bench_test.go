package balance

import (
	"fmt"
	"testing"

	"github.com/shuixiao/shuixiao/meter"
)

// BenchmarkEvaluate measures a large enterprise: 200 level-2 units, each
// with a recirculation loop, a cascade from the unit before it, a drain and
// a consumption point (1005 points).
func BenchmarkEvaluate(b *testing.B) {
	points := []meter.Point{
		pt("IN-1", 1, meter.StageIntake, meter.SourceSurface, ""), pt("IN-2", 1, meter.StageIntake, meter.SourceMunicipal, ""),
		pt("IN-3", 1, meter.StageIntake, meter.SourceSteam, ""), pt("IN-4", 1, meter.StageIntake, meter.SourceReclaimed, ""),
		pt("OUT", 1, meter.StageDischarge, "", ""),
	}
	vol := Volumes{"IN-1": 1e6, "IN-2": 1e5, "IN-3": 1e4, "IN-4": 1e4, "OUT": 2e5}
	for i := range 200 {
		u := fmt.Sprintf("U%03d", i)
		points = append(points,
			with(pt(u, 2, meter.StageUse, "", "IN-1"), func(p *meter.Point) { p.Purpose = meter.Purposes[i%len(meter.Purposes)] }),
			pt(u+"-R", 3, meter.StageRecirculation, "", u),
			with(pt(u+"-C", 3, meter.StageCascade, "", u), func(p *meter.Point) { p.From = fmt.Sprintf("U%03d", (i+199)%200) }),
			pt(u+"-D", 3, meter.StageDischarge, "", u),
			with(pt(u+"-E", 3, meter.StageDischarge, "", u), func(p *meter.Point) { p.Outflow = meter.OutflowConsumption }))
		vol[u], vol[u+"-R"], vol[u+"-C"], vol[u+"-D"], vol[u+"-E"] = 5000, 50000, 100, 1000, 4000
	}
	o := Options{Settings: DefaultSettings(), Production: []Production{{Product: "粗钢", Quantity: 1e5, Unit: "t"}}}
	b.ReportAllocs()
	for b.Loop() {
		if r := Evaluate(points, vol, o); !r.BalanceError.OK {
			b.Fatal(r.BalanceError.Note)
		}
	}
}
