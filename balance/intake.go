package balance

import (
	"sort"

	"github.com/shuixiao/shuixiao/meter"
)

// IntakeBySource is the level-1 intake per source over a period, by the
// rule and sum of Report.IntakeBySource, without the rest of the report:
// what plan tracking (internal/planuse) needs for thousands of
// enterprise-months. Missing lists the intake points with no volume; where
// the report then gives no figure for their source, this gives the sum of
// the points that have one (a lower bound) and leaves the judgement to the
// caller.
func IntakeBySource(points []meter.Point, vol Volumes) (m3 map[meter.Source]float64, missing []string) {
	m3 = map[meter.Source]float64{}
	for _, p := range points {
		if !hasVolume(p) || !isIntake(p) {
			continue
		}
		if v, ok := vol[p.ID]; ok {
			m3[p.Source] += v
		} else {
			missing = append(missing, p.ID)
		}
	}
	sort.Strings(missing)
	return m3, missing
}

// IsIntake reports whether a point measures the enterprise's intake (Vi):
// a level-1 intake point.
func IsIntake(p meter.Point) bool { return isIntake(p) }

// DischargeOf is the level-1 discharge over a period, by the rule and sum
// of Report.Discharge, with the discharge points that have no volume.
func DischargeOf(points []meter.Point, vol Volumes) (m3 float64, missing []string) {
	for _, p := range points {
		if !hasVolume(p) || !isDischarge(p) {
			continue
		}
		if v, ok := vol[p.ID]; ok {
			m3 += v
		} else {
			missing = append(missing, p.ID)
		}
	}
	sort.Strings(missing)
	return m3, missing
}
