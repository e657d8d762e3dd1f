// Package balance computes an enterprise's water balance (水平衡) for a period
// from the volumes its meters measured, following GB/T 12452-2022 and the
// indicator definitions of the GB/T 12452 / GB/T 7119 / GB/T 21534 family
// (reference/standards.md §1): intake Vi, reused water Vr (recirculated +
// cascaded), total use Vt = Vi + Vr, discharge Vd, consumption and loss
// Vco + Vl = Vi − Vd, the reuse rate R = Vr / (Vr + Vi), the
// non-conventional share of intake, and the unaccounted water between the
// level-1 meters and the level-2 meters below them.
//
// It also draws the balance as a Sankey diagram. A water balance has loops
// (recirculated water returns to where it came from) but a Sankey diagram
// must be acyclic, so reused water is drawn as a source on the left and a
// return on the right of the unit that uses it, and water nobody metered is a
// node of its own rather than a silent gap.
package balance

import (
	"fmt"
	"math"

	"github.com/shuixiao/shuixiao/internal/table"
	"github.com/shuixiao/shuixiao/meter"
)

// Settings are the tolerances the balance is judged by.
type Settings struct {
	// Tolerance is the largest acceptable relative balance error |e|.
	Tolerance float64
	// MeteringRatioMin is the smallest acceptable Σ level-2 / level-1 ratio.
	MeteringRatioMin float64
	// UnitTolerance is the largest acceptable |e| of a level-2 unit's balance.
	UnitTolerance float64
}

// DefaultSettings returns the embedded defaults (data/settings.csv).
func DefaultSettings() Settings {
	h, rows, err := table.Read(tables, "data/settings.csv")
	if err != nil {
		panic("balance: embedded " + err.Error()) // a build defect, not input
	}
	var s Settings
	for i, row := range rows {
		v, err := parseDecimal(row[h["value"]])
		if err != nil {
			panic(fmt.Sprintf("balance: embedded settings.csv data row %d, field value: %q", i+1, row[h["value"]]))
		}
		switch row[h["name"]] {
		case "balance_tolerance":
			s.Tolerance = v
		case "metering_ratio_min":
			s.MeteringRatioMin = v
		case "unit_balance_tolerance":
			s.UnitTolerance = v
		}
	}
	return s
}

// Indicators are the balance figures of one enterprise and period (m³, and
// fractions for rates). A rate whose denominator is zero is NaN.
type Indicators struct {
	Intake         float64            `json:"intake_m3"`          // Vi
	IntakeBySource map[string]float64 `json:"intake_by_source"`   // Vi per source
	NonConv        float64            `json:"nonconventional_m3"` // Vn
	Recirculated   float64            `json:"recirculated_m3"`    // Vcr
	Cascaded       float64            `json:"cascaded_m3"`        // Vw / series reuse
	Reuse          float64            `json:"reuse_m3"`           // Vr = Vcr + cascaded
	Use            float64            `json:"use_m3"`             // Vt = Vi + Vr
	Discharge      float64            `json:"discharge_m3"`       // Vd
	Consumption    float64            `json:"consumption_m3"`     // Vco + Vl = Vi − Vd (may hide leaks)
	Level2         float64            `json:"level2_m3"`          // Σ fresh water metered at level 2
	Unaccounted    float64            `json:"unaccounted_m3"`     // level 1 − Σ level 2
	ReuseRate      float64            `json:"reuse_rate"`         // R = Vr/(Vr+Vi)
	NonConvRate    float64            `json:"nonconv_rate"`       // Vn/Vi
	DischargeRate  float64            `json:"discharge_rate"`     // Kd = Vd/Vi
	MeteringRatio  float64            `json:"metering_ratio"`     // Σ level 2 / level 1
	BalanceError   float64            `json:"balance_error"`      // (Σin − Σout)/Σin at the boundary
	Within         bool               `json:"within_tolerance"`   // |BalanceError| ≤ tolerance and ratio ≥ min
	Missing        []string           `json:"missing_points"`     // points without a volume
}

// Volumes maps a metering point ID to the volume measured there in the period (m³).
type Volumes map[string]float64

// Compute returns the indicators of an enterprise whose metering points are
// points, given the period's volume per point. Points without a volume count
// as zero and are listed in Missing; Evaluate gives the full report, in
// which a figure that needs a missing point is absent instead.
func Compute(points []meter.Point, vol Volumes, s Settings) Indicators {
	f := newFlows(points, vol)
	in := Indicators{IntakeBySource: map[string]float64{}, Missing: f.missing()}
	in.Intake = f.sum(isIntake).value
	for _, src := range meter.Sources {
		if sm := f.sum(fromSource(src)); len(sm.points)+len(sm.missing) > 0 {
			in.IntakeBySource[string(src)] = sm.value
		}
	}
	in.NonConv = f.sum(isNonConventional).value
	in.Recirculated = f.sum(isRecirculated).value
	in.Cascaded = f.sum(isCascaded).value
	in.Discharge = f.sum(isDischarge).value
	in.Level2 = f.sum(isUnit).value
	in.Reuse = in.Recirculated + in.Cascaded
	in.Use = in.Intake + in.Reuse
	in.Consumption = in.Intake - in.Discharge
	in.Unaccounted = in.Intake - in.Level2
	in.ReuseRate = ratio(in.Reuse, in.Reuse+in.Intake)
	in.NonConvRate = ratio(in.NonConv, in.Intake)
	in.DischargeRate = ratio(in.Discharge, in.Intake)
	in.MeteringRatio = ratio(in.Level2, in.Intake)
	// Boundary balance: what the level-2 units received plus what left
	// unmetered must equal the intake; the metered part is the check.
	in.BalanceError = ratio(in.Intake-in.Level2, in.Intake)
	in.Within = !math.IsNaN(in.BalanceError) && math.Abs(in.BalanceError) <= s.Tolerance &&
		in.MeteringRatio >= s.MeteringRatioMin
	return in
}

func hasVolume(p meter.Point) bool {
	for _, c := range p.Channels {
		if c.Quantity == "volume" {
			return true
		}
	}
	return false
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

// Node is a Sankey node.
type Node struct {
	Name    string `json:"name"` // unique key
	Label   string `json:"label"`
	LabelEN string `json:"label_en"`
	Kind    string `json:"kind"` // source, boundary, unit, reuse-in, reuse-out, discharge, consumption, unaccounted
}

// Link is a Sankey link carrying Value m³.
type Link struct {
	Source string  `json:"source"`
	Target string  `json:"target"`
	Value  float64 `json:"value"`
}

// Sankey is an acyclic flow diagram of a balance.
type Sankey struct {
	Nodes []Node `json:"nodes"`
	Links []Link `json:"links"`
}

var sourceLabels = map[meter.Source][2]string{
	meter.SourceSurface:   {"地表水", "Surface water"},
	meter.SourceGround:    {"地下水", "Groundwater"},
	meter.SourceMunicipal: {"自来水", "Municipal supply"},
	meter.SourceReclaimed: {"再生水", "Reclaimed water"},
	meter.SourceRain:      {"雨水", "Rainwater"},
	meter.SourceMine:      {"矿井水", "Mine water"},
	meter.SourceSteam:     {"外购蒸汽", "Purchased steam"},
}

// Diagram draws the enterprise's balance for the period. Level-2 units are
// the points at level 2 that receive fresh water (use, supply or treatment
// stage); recirculated and cascaded water is attached to the unit it serves
// (the point's parent), and discharge to the unit it leaves from.
func Diagram(points []meter.Point, vol Volumes) Sankey {
	var sk Sankey
	seen := map[string]bool{}
	addNode := func(n Node) {
		if !seen[n.Name] {
			seen[n.Name] = true
			sk.Nodes = append(sk.Nodes, n)
		}
	}
	link := func(src, dst string, v float64) {
		// Rounded first, so that no link is drawn with a zero value.
		if v = round(v); v > 0 && !math.IsInf(v, 0) {
			sk.Links = append(sk.Links, Link{Source: src, Target: dst, Value: v})
		}
	}
	const boundary = "boundary"
	addNode(Node{Name: boundary, Label: "企业总取水", LabelEN: "Enterprise intake", Kind: "boundary"})

	f := newFlows(points, vol)
	units := map[string]meter.Point{}
	var unitOrder []string
	for _, p := range points {
		if isUnit(p) {
			units[p.ID] = p
			unitOrder = append(unitOrder, p.ID)
		}
	}
	unitOf := f.unitOf
	var intake, toUnits float64
	unitIn := map[string]float64{}
	unitOut := map[string]float64{}
	for _, p := range points {
		v := vol[p.ID]
		switch {
		case isIntake(p):
			lbl := sourceLabels[p.Source]
			name := "source:" + string(p.Source)
			addNode(Node{Name: name, Label: lbl[0], LabelEN: lbl[1], Kind: "source"})
			link(name, boundary, v)
			intake += v
		}
	}
	for _, id := range unitOrder {
		u := units[id]
		addNode(Node{Name: "unit:" + id, Label: u.Name, LabelEN: nonEmpty(u.NameEN, u.Name), Kind: "unit"})
		link(boundary, "unit:"+id, vol[id])
		unitIn[id] += vol[id]
		toUnits += vol[id]
	}
	var l1Discharge, unitDischarge float64
	for _, p := range points {
		v := vol[p.ID]
		switch p.Stage {
		case meter.StageRecirculation, meter.StageCascade:
			u := unitOf(p.Parent)
			if u == "" {
				continue
			}
			kind := "recirculated"
			lbl := [2]string{"循环水", "Recirculated"}
			if p.Stage == meter.StageCascade {
				kind, lbl = "cascaded", [2]string{"串联回用水", "Cascaded reuse"}
			}
			addNode(Node{Name: "reuse-in:" + kind, Label: lbl[0] + "（供）", LabelEN: lbl[1] + " (in)", Kind: "reuse-in"})
			addNode(Node{Name: "reuse-out:" + kind, Label: lbl[0] + "（回）", LabelEN: lbl[1] + " (return)", Kind: "reuse-out"})
			link("reuse-in:"+kind, "unit:"+u, v)
			link("unit:"+u, "reuse-out:"+kind, v)
		case meter.StageDischarge:
			if isConsumption(p) {
				continue // a unit's consumption is what it does not send on
			}
			if p.Level == meter.Level1 {
				l1Discharge += v
			} else if u := unitOf(p.Parent); u != "" {
				unitOut[u] += v
				unitDischarge += v
			}
		}
	}
	// Discharge measured only at the enterprise outfall is attributed to the
	// units in proportion to what they did not send on themselves; the rest
	// of a unit's water was consumed there (evaporation, product, losses).
	residual := map[string]float64{}
	var totalResidual float64
	for _, id := range unitOrder {
		r := math.Max(unitIn[id]-unitOut[id], 0)
		residual[id] = r
		totalResidual += r
	}
	extra := math.Max(l1Discharge-unitDischarge, 0)
	if extra > totalResidual {
		extra = totalResidual
	}
	if l1Discharge > 0 || unitDischarge > 0 {
		addNode(Node{Name: "discharge", Label: "排水", LabelEN: "Discharge", Kind: "discharge"})
	}
	addNode(Node{Name: "consumption", Label: "耗水", LabelEN: "Consumption", Kind: "consumption"})
	for _, id := range unitOrder {
		share := 0.0
		if totalResidual > 0 {
			share = extra * residual[id] / totalResidual
		}
		link("unit:"+id, "discharge", unitOut[id]+share)
		link("unit:"+id, "consumption", residual[id]-share)
	}
	// Water that entered the boundary but reached no level-2 meter is shown
	// as its own node; if the level-2 meters read more than the level-1
	// meters, the surplus is shown entering as a metering difference.
	switch gap := intake - toUnits; {
	case gap > 0:
		addNode(Node{Name: "unaccounted", Label: "未计量/漏失", LabelEN: "Unaccounted / leakage", Kind: "unaccounted"})
		link(boundary, "unaccounted", gap)
	case gap < 0:
		addNode(Node{Name: "metering-surplus", Label: "计量差（二级多于一级）", LabelEN: "Metering surplus (level 2 > level 1)", Kind: "source"})
		link("metering-surplus", boundary, -gap)
	}
	return sk
}

func nonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func round(v float64) float64 { return math.Round(v*1000) / 1000 }

// Acyclic reports an error naming a node on a cycle, if the diagram has one.
func (s Sankey) Acyclic() error {
	adj := map[string][]string{}
	for _, l := range s.Links {
		adj[l.Source] = append(adj[l.Source], l.Target)
	}
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var visit func(n string) error
	visit = func(n string) error {
		color[n] = grey
		for _, m := range adj[n] {
			switch color[m] {
			case grey:
				return fmt.Errorf("sankey: cycle through %s → %s", n, m)
			case white:
				if err := visit(m); err != nil {
					return err
				}
			}
		}
		color[n] = black
		return nil
	}
	for _, n := range s.Nodes {
		if color[n.Name] == white {
			if err := visit(n.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

// VolumeChannel is the channel whose consumption measures a point's water:
// its volume totaliser, else a volume interval total.
func VolumeChannel(p meter.Point) (string, bool) {
	for _, kind := range []meter.Kind{meter.Total, meter.Interval} {
		for _, c := range p.Channels {
			if c.Quantity == "volume" && c.Kind == kind {
				return c.Name, true
			}
		}
	}
	return "", false
}
