package balance

import (
	"testing"

	"github.com/shuixiao/shuixiao/meter"
)

// IntakeBySource agrees with the report's figure, point for point.
func TestIntakeBySourceAgreesWithReport(t *testing.T) {
	total, _ := meter.StandardChannel("total_m3")
	pts := []meter.Point{
		{ID: "g", Level: 1, Stage: meter.StageIntake, Source: meter.SourceGround, Channels: []meter.Channel{total}},
		{ID: "m", Level: 1, Stage: meter.StageIntake, Source: meter.SourceMunicipal, Channels: []meter.Channel{total}},
		{ID: "m2", Level: 1, Stage: meter.StageIntake, Source: meter.SourceMunicipal, Channels: []meter.Channel{total}},
		{ID: "u", Level: 2, Stage: meter.StageUse, Parent: "g", Channels: []meter.Channel{total}},
	}
	vol := Volumes{"g": 10, "m": 4, "u": 9} // m2 has no volume
	got, missing := IntakeBySource(pts, vol)
	rep := Evaluate(pts, vol, Options{Settings: DefaultSettings()})
	g := rep.IntakeBySource[meter.SourceGround]
	if len(got) != 2 || !g.OK || got[meter.SourceGround] != g.Value || got[meter.SourceMunicipal] != 4 {
		t.Errorf("got %v, report %+v", got, rep.IntakeBySource)
	}
	// Where the report has no figure (a point without volume), the missing
	// points are the report's.
	m := rep.IntakeBySource[meter.SourceMunicipal]
	if m.OK || len(missing) != 1 || missing[0] != m.Missing[0] {
		t.Errorf("missing %v, report %+v", missing, m)
	}
	pts = append(pts, meter.Point{ID: "d", Level: 1, Stage: meter.StageDischarge, Channels: []meter.Channel{total}})
	vol["d"] = 7
	rep = Evaluate(pts, vol, Options{Settings: DefaultSettings()})
	if d, missing := DischargeOf(pts, vol); d != rep.Discharge.Value || d != 7 || len(missing) != 0 {
		t.Errorf("discharge %g %v, report %+v", d, missing, rep.Discharge)
	}
	if !IsIntake(pts[0]) || IsIntake(pts[3]) {
		t.Error("IsIntake")
	}
}
