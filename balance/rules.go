package balance

import (
	"slices"
	"sort"

	"github.com/shuixiao/shuixiao/meter"
)

// flows is an enterprise's metering tree with the period's volumes. The
// rules below say which points a figure sums; sum applies one of them.
// The tree's walks (each point's unit and purpose, each unit's nearby
// points) are made on first use: the figures that select points by their
// own stage and level alone (Options.Headline) need none of them.
type flows struct {
	points  []meter.Point // input order
	vol     Volumes
	indexed bool
	byID    map[string]*meter.Point  // into points
	unit    map[string]string        // point → its level-2 unit (walkUnit)
	purpose map[string]meter.Purpose // point → its purpose (walkPurpose)
	near    map[string][]meter.Point // level-2 unit → the points its balance may involve
}

func newFlows(points []meter.Point, vol Volumes) *flows {
	return &flows{points: points, vol: vol}
}

// index makes the tree's walks, once.
func (f *flows) index() {
	if f.indexed {
		return
	}
	f.indexed = true
	points := f.points
	f.byID = make(map[string]*meter.Point, len(points))
	f.unit, f.purpose = make(map[string]string, len(points)), make(map[string]meter.Purpose, len(points))
	f.near = map[string][]meter.Point{}
	for i := range points {
		f.byID[points[i].ID] = &points[i]
	}
	for _, p := range points {
		f.unit[p.ID] = f.walkUnit(p.ID)
		f.purpose[p.ID] = f.walkPurpose(p.ID)
	}
	// A unit's balance involves its own points, those below it and those
	// whose water comes from it; grouping them once keeps a unit's sums
	// from scanning the whole enterprise.
	for _, p := range points {
		units := []string{f.unit[p.ID], f.unit[p.Parent]}
		if p.From != "" {
			units = append(units, f.unit[p.From])
		}
		for i, u := range units {
			if u != "" && !slices.Contains(units[:i], u) {
				f.near[u] = append(f.near[u], p)
			}
		}
	}
}

// nearUnit lists the points unit u's balance may involve.
func (f *flows) nearUnit(u string) []meter.Point {
	f.index()
	return f.near[u]
}

// sum is a volume summed over the points a rule selects.
type sum struct {
	value   float64  // over the selected points that have a volume
	points  []string // selected points that have a volume
	missing []string // selected points that have none
}

// sum adds the volumes of the points that measure water (have a volume
// channel) and that sel selects.
func (f *flows) sum(sel func(meter.Point) bool) sum { return f.sumOf(f.points, sel) }

// sumOf is sum over some of the points.
func (f *flows) sumOf(points []meter.Point, sel func(meter.Point) bool) sum {
	var s sum
	for _, p := range points {
		if !hasVolume(p) || !sel(p) {
			continue
		}
		if v, ok := f.vol[p.ID]; ok {
			s.value += v
			s.points = append(s.points, p.ID)
		} else {
			s.missing = append(s.missing, p.ID)
		}
	}
	sort.Strings(s.points)
	sort.Strings(s.missing)
	return s
}

// missing lists the points that measure water but have no volume.
func (f *flows) missing() []string {
	return f.sum(func(meter.Point) bool { return true }).missing
}

// maxDepth bounds walks up the metering tree, which input may make cyclic.
const maxDepth = 64

// purposeOf is a point's purpose: its own, else its nearest ancestor's.
func (f *flows) purposeOf(id string) meter.Purpose {
	f.index()
	return f.purpose[id]
}

func (f *flows) walkPurpose(id string) meter.Purpose {
	for depth := 0; id != "" && depth < maxDepth; depth++ {
		p, ok := f.byID[id]
		if !ok {
			return ""
		}
		if p.Purpose != "" {
			return p.Purpose
		}
		id = p.Parent
	}
	return ""
}

// unitOf is the level-2 unit a point belongs to: itself or its nearest
// ancestor that is a level-2 unit; empty when none is.
func (f *flows) unitOf(id string) string {
	f.index()
	return f.unit[id]
}

func (f *flows) walkUnit(id string) string {
	for depth := 0; id != "" && depth < maxDepth; depth++ {
		p, ok := f.byID[id]
		if !ok {
			return ""
		}
		if isUnit(*p) {
			return p.ID
		}
		id = p.Parent
	}
	return ""
}

// isIntake: intake Vi is what the level-1 intake points measure, from every
// source, purchased steam included (GB/T 18916 quota boundary, standards.md §4.1).
func isIntake(p meter.Point) bool { return p.Level == meter.Level1 && p.Stage == meter.StageIntake }

// fromSource selects the level-1 intake points of one source.
func fromSource(s meter.Source) func(meter.Point) bool {
	return func(p meter.Point) bool { return isIntake(p) && p.Source == s }
}

// isNonConventional: Vn is the intake from reclaimed, rain and mine water.
func isNonConventional(p meter.Point) bool { return isIntake(p) && p.Source.NonConventional() }

// isRecirculated: recirculated water (循环水) is measured at recirculation points.
func isRecirculated(p meter.Point) bool { return p.Stage == meter.StageRecirculation }

// isCascaded: cascaded (series) water, wastewater reuse and condensate
// return are measured at cascade points.
func isCascaded(p meter.Point) bool { return p.Stage == meter.StageCascade }

// ofReuseKind selects the reuse points of one kind.
func ofReuseKind(k meter.ReuseKind) func(meter.Point) bool {
	return func(p meter.Point) bool { return p.ReuseKindOf() == k }
}

// isDischarge: discharge Vd is what the level-1 discharge points measure.
func isDischarge(p meter.Point) bool {
	return p.Level == meter.Level1 && p.OutflowOf() == meter.OutflowDischarge
}

// isConsumption: consumption Vco is what the consumption points measure
// (at any level, e.g. a tower's evaporation or water leaving in product).
func isConsumption(p meter.Point) bool { return p.OutflowOf() == meter.OutflowConsumption }

// isUnit: a level-2 unit is a level-2 point that receives fresh water (use,
// supply or treatment stage); Σ level 2 / level 1 is GB/T 24789's check.
func isUnit(p meter.Point) bool {
	return p.Level == meter.Level2 && (p.Stage == meter.StageUse || p.Stage == meter.StageSupply || p.Stage == meter.StageTreatment)
}

// isFreshWater: a point that measures the fresh water entering a unit.
func isFreshWater(p meter.Point) bool {
	return p.Stage == meter.StageUse || p.Stage == meter.StageSupply || p.Stage == meter.StageTreatment
}

// freshFor selects the fresh make-up of the units with purpose u (Vcf, Vdf,
// Vgf, Vbf): the topmost fresh-water points of that purpose, so that a
// level-3 point below a level-2 point of the same purpose is not counted twice.
func (f *flows) freshFor(u meter.Purpose) func(meter.Point) bool {
	return func(p meter.Point) bool {
		return isFreshWater(p) && f.purposeOf(p.ID) == u && f.purposeOf(p.Parent) != u
	}
}

// recirculatedFor selects the recirculated water of units with purpose u (Vcr, Vdr, Vgr).
func (f *flows) recirculatedFor(u meter.Purpose) func(meter.Point) bool {
	return func(p meter.Point) bool { return isRecirculated(p) && f.purposeOf(p.ID) == u }
}

// intoUnit selects the water entering unit u: its own fresh-water point and
// the cascade points delivering to it from elsewhere (recirculation stays
// inside the unit and is on both sides of its balance).
func (f *flows) intoUnit(u string) func(meter.Point) bool {
	return func(p meter.Point) bool {
		if p.ID == u {
			return true
		}
		return isCascaded(p) && f.unitOf(p.Parent) == u && (p.From == "" || f.unitOf(p.From) != u)
	}
}

// outOfUnit selects the water leaving unit u: its discharge and consumption
// points and the cascade points that take its water to another unit.
func (f *flows) outOfUnit(u string) func(meter.Point) bool {
	return func(p meter.Point) bool {
		if p.Stage == meter.StageDischarge {
			return f.unitOf(p.Parent) == u
		}
		return isCascaded(p) && p.From != "" && f.unitOf(p.From) == u && f.unitOf(p.Parent) != u
	}
}

// consumedInUnit selects the consumption points of unit u.
func (f *flows) consumedInUnit(u string) func(meter.Point) bool {
	return func(p meter.Point) bool { return isConsumption(p) && f.unitOf(p.Parent) == u }
}
