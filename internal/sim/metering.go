package sim

import (
	"math"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/meter"
)

// PointRole says what a metering point measures, which decides the values
// of its non-volume channels.
type PointRole string

// Point roles.
const (
	RoleIntake        PointRole = "intake"       // level-1 intake of one source
	RoleSupply        PointRole = "supply"       // level-2 branch from a header to a unit
	RoleCoolingLoop   PointRole = "cooling-loop" // circulating water of a cooling system
	RoleProcessLoop   PointRole = "process-loop" // a process unit's recirculation
	RoleBoilerFeed    PointRole = "boiler-feed"  // treated make-up into the boiler
	RoleCondensate    PointRole = "condensate"   // condensate returned to the boiler
	RoleBlowdown      PointRole = "blowdown"     // cooling blowdown cascaded to another unit
	RoleWastewater    PointRole = "wastewater"   // wastewater into treatment
	RoleReuse         PointRole = "reuse"        // reuse water to a unit
	RoleDischargeFlow PointRole = "discharge"    // level-1 outfall with online quality monitoring
)

// PointSpec is a metering point of a plant, before it is given the
// enterprise's IDs: what it is (level, stage, source), where it sits in the
// metering tree (ParentTag) and which streams' sum it measures.
type PointSpec struct {
	Tag       string // unique in the plant, e.g. "IN-SURFACE", "SUP-CT1"
	Name      string
	NameEN    string
	Level     meter.Level
	Stage     meter.Stage
	Source    meter.Source // intake points only
	ParentTag string
	Role      PointRole
	Unit      string // the unit the point belongs to, if any
	// Streams are indices into WaterSystem.Streams whose flows the point measures.
	Streams  []int
	Channels []string
	Signed   meter.SigningSite
	// MPE is the maximum permissible error of the flowmeter (relative).
	MPE float64
}

var sourceNames = map[meter.Source][2]string{
	meter.SourceSurface: {"地表水", "surface water"}, meter.SourceGround: {"地下水", "groundwater"},
	meter.SourceMunicipal: {"自来水", "municipal water"}, meter.SourceReclaimed: {"再生水", "reclaimed water"},
	meter.SourceRain: {"雨水", "rainwater"}, meter.SourceMine: {"矿井水", "mine water"},
	meter.SourceSteam: {"外购蒸汽", "purchased steam"},
}

var (
	volumeChannels    = []string{"total_m3", "flow_m3h"}
	intakeChannels    = []string{"total_m3", "flow_m3h", "pressure_mpa"}
	loopChannels      = []string{"total_m3", "flow_m3h", "cond_us_cm", "ph"}
	condChannels      = []string{"total_m3", "flow_m3h", "cond_us_cm"}
	wastewaterChannel = []string{"total_m3", "flow_m3h", "ph", "cod_mg_l", "nh3n_mg_l"}
	reuseChannels     = []string{"total_m3", "flow_m3h", "ph", "cond_us_cm", "turb_ntu", "cod_mg_l"}
	dischargeChannels = []string{"total_m3", "flow_m3h", "ph", "cond_us_cm", "turb_ntu", "cod_mg_l", "nh3n_mg_l"}
)

// MeteringPoints derives the plant's metering points (GB/T 24789 levels):
//
//   - level 1: one intake point per source and the discharge outfall;
//   - level 2: each unit's fresh-water supply (stage supply, children of
//     the intake they draw from, so that Σ level 2 ≈ level 1 minus hidden
//     leakage), the wastewater-treatment inlet (stage discharge: internal
//     drainage, no parent) and each reuse-water line (stage cascade);
//   - level 3: each circulating loop, the boiler feed, the condensate
//     return and cascaded cooling blowdown.
//
// Recirculated and cascaded water hangs under the supply point of the unit
// it serves. Reused water is metered once, never at two nested points, so
// Vr is the sum of the recirculation and cascade stages (as package balance
// computes it).
func (p *WaterSystem) MeteringPoints(params Parameters) []PointSpec {
	var out []PointSpec
	unitSupplyTag := map[string]string{}
	for _, s := range p.Sources {
		n := sourceNames[s]
		out = append(out, PointSpec{Tag: "IN-" + strings.ToUpper(string(s)), Name: "取水总表（" + n[0] + "）",
			NameEN: "Intake (" + n[1] + ")", Level: meter.Level1, Stage: meter.StageIntake, Source: s, Role: RoleIntake,
			Streams: []int{p.intake[s]}, Channels: intakeChannels, Signed: meter.SignedByMeter, MPE: params.MPEIntake})
	}
	for _, u := range p.Units {
		if u.supply < 0 {
			continue
		}
		tag := "SUP-" + u.ID
		unitSupplyTag[u.ID] = tag
		out = append(out, PointSpec{Tag: tag, Name: u.Name + "供水", NameEN: "Supply to " + lowerFirst(u.NameEN),
			Level: meter.Level2, Stage: meter.StageSupply, ParentTag: "IN-" + strings.ToUpper(string(u.Source)),
			Role: RoleSupply, Unit: u.ID, Streams: []int{u.supply}, Channels: volumeChannels,
			Signed: meter.SignedByMeter, MPE: params.MPESupply})
	}
	// The treatment plant's inlet collects the units' drainage: an internal
	// discharge (level 2), not fresh water, so it stays out of Σ level 2.
	wwIn := PointSpec{Tag: "WW-IN", Name: "污水处理站进水", NameEN: "Wastewater treatment inlet", Level: meter.Level2,
		Stage: meter.StageDischarge, Role: RoleWastewater, Unit: p.Units[p.wwtp].ID, Channels: wastewaterChannel,
		Signed: meter.SignedByMeter, MPE: params.MPEDischarge}
	out2 := []PointSpec{}
	for _, u := range p.Units {
		parent := unitSupplyTag[u.ID]
		if u.recirculation >= 0 {
			ps := PointSpec{Tag: "REC-" + u.ID, Name: u.Name + "循环水量", NameEN: u.NameEN + " recirculation",
				Level: meter.Level3, Stage: meter.StageRecirculation, ParentTag: parent, Role: RoleProcessLoop, Unit: u.ID,
				Streams: []int{u.recirculation}, Channels: volumeChannels, Signed: meter.SignedByMeter, MPE: params.MPESupply}
			if u.Kind == UnitCooling {
				ps.Role, ps.Channels = RoleCoolingLoop, loopChannels
			}
			out2 = append(out2, ps)
		}
		// Reused water hangs under the unit it serves (the receiver's supply
		// point), where a water balance attributes it.
		if u.cascadeOut >= 0 {
			out2 = append(out2, PointSpec{Tag: "BD-" + u.ID, Name: u.Name + "排污水串联回用", NameEN: u.NameEN + " blowdown cascaded",
				Level: meter.Level3, Stage: meter.StageCascade, ParentTag: unitSupplyTag[u.BlowdownTo], Role: RoleBlowdown, Unit: u.ID,
				Streams: []int{u.cascadeOut}, Channels: condChannels, Signed: meter.SignedByMeter, MPE: params.MPESupply})
		}
		if u.reuseIn >= 0 {
			out2 = append(out2, PointSpec{Tag: "RU-" + u.ID, Name: "回用水至" + u.Name, NameEN: "Reuse water to " + lowerFirst(u.NameEN),
				Level: meter.Level2, Stage: meter.StageCascade, ParentTag: parent, Role: RoleReuse, Unit: u.ID,
				Streams: []int{u.reuseIn}, Channels: reuseChannels, Signed: meter.SignedByMeter, MPE: params.MPESupply})
		}
	}
	if p.boiler >= 0 {
		b := p.Units[p.boiler]
		parent := unitSupplyTag[p.Units[p.demin].ID]
		out2 = append(out2, PointSpec{Tag: "FW-" + b.ID, Name: b.Name + "补给水", NameEN: b.NameEN + " make-up feed",
			Level: meter.Level3, Stage: meter.StageUse, ParentTag: parent, Role: RoleBoilerFeed, Unit: b.ID,
			Streams: []int{b.feed}, Channels: condChannels, Signed: meter.SignedByMeter, MPE: params.MPESupply})
		var cond []int
		for _, u := range p.Units {
			if u.condensateOut >= 0 {
				cond = append(cond, u.condensateOut)
			}
		}
		if len(cond) > 0 {
			out2 = append(out2, PointSpec{Tag: "CR-" + b.ID, Name: "蒸汽冷凝水回收", NameEN: "Condensate return",
				Level: meter.Level3, Stage: meter.StageRecirculation, ParentTag: parent, Role: RoleCondensate, Unit: b.ID,
				Streams: cond, Channels: condChannels, Signed: meter.SignedByMeter, MPE: params.MPESupply})
		}
	}
	w := p.Units[p.wwtp]
	for i, s := range p.Streams {
		if s.To == w.ID {
			wwIn.Streams = append(wwIn.Streams, i)
		}
	}
	out = append(out, wwIn)
	out = append(out, out2...)
	var dis []int
	for i, s := range p.Streams {
		if s.Kind == StreamDischarge {
			dis = append(dis, i)
		}
	}
	out = append(out, PointSpec{Tag: "OUT", Name: "总排口（在线监测）", NameEN: "Outfall (online monitoring)",
		Level: meter.Level1, Stage: meter.StageDischarge, Role: RoleDischargeFlow, Streams: dis,
		Channels: dischargeChannels, Signed: meter.SignedByGateway, MPE: params.MPEDischarge})
	return out
}

func lowerFirst(s string) string {
	if s == "" || len(s) > 1 && s[1] >= 'A' && s[1] <= 'Z' {
		return s // keep acronyms such as "CIP"
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// Flow is the true flow (m³/h) a point measures, given all stream flows.
func (ps *PointSpec) Flow(flows []float64) float64 {
	q := 0.0
	for _, i := range ps.Streams {
		q += flows[i]
	}
	return q
}

// qualityContext is what a point's quality channels depend on.
type qualityContext struct {
	plant      *WaterSystem
	template   *Template
	flows      []float64
	production float64
	key        uint64
	t          time.Time
}

// wobble is a slowly varying relative deviation of sd ≈ rel.
func (c *qualityContext) wobble(salt uint64, rel float64) float64 {
	return 1 + rel*SmoothNoise(c.key^salt, c.t, 90*time.Minute)
}

// coolingConductivity is the circulating water's conductivity: N times the
// flow-weighted conductivity of its make-up (fresh and reuse water).
func (c *qualityContext) coolingConductivity(u *Unit) float64 {
	fresh, reuse := 0.0, 0.0
	if u.supply >= 0 {
		fresh = c.flows[u.supply]
	}
	if u.reuseIn >= 0 {
		reuse = c.flows[u.reuseIn]
	}
	mk := MakeupConductivity[u.Source]
	if fresh+reuse > 0 {
		mk = (fresh*MakeupConductivity[u.Source] + reuse*c.template.Reuse.Cond) / (fresh + reuse)
	}
	return u.Cycles * mk
}

// QualityValues returns the non-volume channel values of a point.
func (ps *PointSpec) qualityValues(c *qualityContext, q float64, out map[string]float64) {
	unit := -1
	if ps.Unit != "" {
		unit = c.plant.unitIndex(ps.Unit)
	}
	switch ps.Role {
	case RoleIntake:
		// Supply pressure falls with the square of the flow through the main.
		rel := q / math.Max(ps.Flow(c.plant.designFlows), 1e-9)
		out["pressure_mpa"] = 0.45 * (1 - 0.2*rel*rel) * c.wobble(1, 0.01)
	case RoleCoolingLoop, RoleBlowdown:
		u := &c.plant.Units[unit]
		out["cond_us_cm"] = c.coolingConductivity(u) * c.wobble(2, 0.04)
		out["ph"] = 8.4 + 0.15*SmoothNoise(c.key^3, c.t, time.Hour)
	case RoleCondensate, RoleBoilerFeed:
		out["cond_us_cm"] = 6 * c.wobble(4, 0.25)
	case RoleWastewater:
		r := c.template.Raw
		load := 0.8 + 0.2*c.production // stronger wastewater at full production
		out["ph"] = r.PH + 0.3*SmoothNoise(c.key^5, c.t, time.Hour)
		out["cod_mg_l"] = r.COD * load * c.wobble(6, 0.15)
		out["nh3n_mg_l"] = r.NH3N * load * c.wobble(7, 0.15)
	case RoleReuse:
		r := c.template.Reuse
		out["ph"] = r.PH + 0.1*SmoothNoise(c.key^8, c.t, time.Hour)
		out["cond_us_cm"] = r.Cond * c.wobble(9, 0.08)
		out["turb_ntu"] = r.Turb * c.wobble(10, 0.2)
		out["cod_mg_l"] = r.COD * c.wobble(11, 0.15)
	case RoleDischargeFlow:
		e := c.template.Effluent
		out["ph"] = e.PH + 0.2*SmoothNoise(c.key^12, c.t, time.Hour)
		out["cond_us_cm"] = e.Cond * c.wobble(13, 0.06)
		out["turb_ntu"] = e.Turb * c.wobble(14, 0.2)
		out["cod_mg_l"] = e.COD * c.wobble(15, 0.12)
		out["nh3n_mg_l"] = e.NH3N * c.wobble(16, 0.2)
	}
	for k, v := range out {
		if v < 0 {
			out[k] = 0
		}
	}
}
