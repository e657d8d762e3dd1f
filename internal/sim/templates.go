package sim

import (
	"fmt"
	"math/rand/v2"

	"github.com/shuixiao/shuixiao/meter"
)

// WaterQuality is a typical water quality at a point: pH, conductivity
// (µS/cm), turbidity (NTU), COD and ammonia nitrogen (mg/L).
type WaterQuality struct {
	PH, Cond, Turb, COD, NH3N float64
}

// Template is the design of an archetype's water system. The numbers are
// engineering assumptions for a plausible plant of the industry, not
// values from a standard; Build calibrates the scale and the process
// recirculation to the archetype's figures in archetypes.csv.
type Template struct {
	// Units draws the unit list; the random source picks options such as
	// whether a plant uses reclaimed municipal water.
	Units func(r *rand.Rand) []UnitSpec
	// Production is the production pattern.
	Production Profile
	// Raw is the wastewater entering treatment, Effluent what is
	// discharged, Reuse the reuse plant's product.
	Raw, Effluent, Reuse WaterQuality
}

// MakeupConductivity is a typical conductivity (µS/cm) of water from each
// source, used for cooling-water cycles of concentration (assumption).
var MakeupConductivity = map[meter.Source]float64{
	meter.SourceSurface: 320, meter.SourceGround: 550, meter.SourceMunicipal: 280,
	meter.SourceReclaimed: 900, meter.SourceRain: 60, meter.SourceMine: 1300, meter.SourceSteam: 5,
}

func pick(r *rand.Rand, p float64, yes, no meter.Source) meter.Source {
	if r.Float64() < p {
		return yes
	}
	return no
}

// Quality of RO permeate and of UF-only reuse water (assumption).
var (
	roPermeate = WaterQuality{PH: 7.0, Cond: 120, Turb: 0.2, COD: 6, NH3N: 0.5}
	ufReuse    = WaterQuality{PH: 7.4, Cond: 1500, Turb: 1.0, COD: 30, NH3N: 1.5}
)

// Shared units.
func domestic(demand float64) UnitSpec {
	return UnitSpec{ID: "DOM", Name: "生活及办公用水", NameEN: "Domestic and offices", Kind: UnitDomestic,
		Source: meter.SourceMunicipal, Demand: demand, Consumed: 0.15}
}

func boilerHouse(src meter.Source, steam, condensate, blowdown, recovery float64) []UnitSpec {
	return []UnitSpec{
		{ID: "BLR", Name: "锅炉房", NameEN: "Boiler house", Kind: UnitBoiler, Steam: steam, Condensate: condensate, Blowdown: blowdown},
		{ID: "DM", Name: "化学水处理（除盐水）站", NameEN: "Boiler make-up treatment", Kind: UnitDemin, Source: src, Recovery: recovery},
	}
}

func treatment(loss, reuseShare, recovery float64, name, nameEN string) []UnitSpec {
	return []UnitSpec{
		{ID: "WWTP", Name: "污水处理站", NameEN: "Wastewater treatment plant", Kind: UnitWWTP, Loss: loss, ReuseShare: reuseShare},
		{ID: "RU", Name: name, NameEN: nameEN, Kind: UnitReuse, Recovery: recovery},
	}
}

// Production profiles (assumptions).
var (
	continuousProfile = func() Profile {
		p := flat(0.03, 0.5, 1.1)
		for _, h := range []int{0, 8, 16} { // shift changes
			p.Hourly[h] = 0.97
		}
		p.Monthly[1] = 0.92 // Spring Festival
		return p
	}()
	shiftProfile = func(night, sat, sun float64) Profile {
		p := flat(0.04, 0.2, 1.1)
		for h := range p.Hourly {
			if h < 7 || h >= 23 {
				p.Hourly[h] = night
			}
		}
		p.Weekly[6], p.Weekly[0] = sat, sun
		p.Monthly[1] = 0.6
		return p
	}
	powerProfile = func() Profile {
		p := flat(0.04, 0.4, 1.05)
		p.Hourly = [24]float64{0.78, 0.74, 0.72, 0.70, 0.70, 0.72, 0.78, 0.86, 0.92, 0.96, 0.98, 0.97,
			0.92, 0.93, 0.96, 0.97, 0.97, 0.98, 1.0, 1.0, 0.98, 0.94, 0.88, 0.82}
		p.Weekly[6], p.Weekly[0] = 0.93, 0.9
		p.Monthly = [12]float64{1.0, 0.86, 0.9, 0.86, 0.88, 0.95, 1.05, 1.05, 0.95, 0.88, 0.9, 1.0}
		return p
	}()
	officeProfile = func() Profile {
		p := flat(0.05, 0.05, 1.5)
		p.Hourly = [24]float64{0.2, 0.15, 0.15, 0.15, 0.15, 0.2, 0.4, 0.8, 1.1, 1.0, 1.0, 1.3,
			1.3, 1.0, 1.0, 1.0, 1.0, 1.2, 1.1, 0.7, 0.5, 0.4, 0.3, 0.25}
		p.Weekly[6], p.Weekly[0] = 0.6, 0.5
		return p
	}()
)

// Templates maps each archetype of archetypes.csv to its water design.
var Templates = map[string]Template{
	"steel": {
		Units: func(r *rand.Rand) []UnitSpec {
			return append(append([]UnitSpec{
				{ID: "CT1", Name: "高炉净环水系统", NameEN: "Blast-furnace indirect cooling loop", Kind: UnitCooling,
					Source: pick(r, 0.4, meter.SourceReclaimed, meter.SourceSurface), Demand: 0.20, RangeC: 12, Cycles: 3.5, ReuseAccept: 0.5},
				{ID: "CT2", Name: "炼钢连铸净环水系统", NameEN: "Steelmaking and casting indirect cooling", Kind: UnitCooling,
					Source: meter.SourceSurface, Demand: 0.14, RangeC: 10, Cycles: 3, BlowdownTo: "SLAG"},
				{ID: "ROLL", Name: "热轧浊环水系统", NameEN: "Hot-rolling direct cooling", Kind: UnitProcess,
					Source: meter.SourceSurface, Demand: 0.22, Consumed: 0.35, Recirculation: 1.0, ReuseAccept: 0.3},
				{ID: "SLAG", Name: "高炉冲渣", NameEN: "Slag granulation", Kind: UnitProcess,
					Source: meter.SourceSurface, Demand: 0.12, Consumed: 0.9, Recirculation: 0.4},
				{ID: "COKE", Name: "焦化车间", NameEN: "Coking plant", Kind: UnitProcess,
					Source: meter.SourceSurface, Demand: 0.10, Consumed: 0.55, Recirculation: 0.3, SteamWeight: 1},
			}, boilerHouse(meter.SourceSurface, 0.06, 0.5, 0.02, 0.75)...), append(treatment(0.02, 0.8, 0.72,
				"深度处理回用站", "Advanced treatment and reuse (UF/RO)"), domestic(0.03))...)
		},
		Production: continuousProfile,
		Raw:        WaterQuality{PH: 8.0, Cond: 2000, Turb: 80, COD: 250, NH3N: 15},
		Effluent:   WaterQuality{PH: 7.6, Cond: 1800, Turb: 5, COD: 35, NH3N: 2.0},
		Reuse:      roPermeate,
	},
	"refinery":    chemicalTemplate(0.08, WaterQuality{8.2, 2500, 60, 900, 40}, WaterQuality{7.4, 2200, 4, 45, 3.5}),
	"chloralkali": chemicalTemplate(0.08, WaterQuality{9.0, 5000, 50, 300, 10}, WaterQuality{7.5, 4000, 4, 40, 2.0}),
	"acid":        chemicalTemplate(0.08, WaterQuality{4.0, 6000, 60, 150, 5}, WaterQuality{7.0, 3500, 5, 30, 3.0}),
	"dyeing": {
		Units: func(r *rand.Rand) []UnitSpec {
			src := pick(r, 0.5, meter.SourceMunicipal, meter.SourceGround)
			return append(append([]UnitSpec{
				{ID: "PRE", Name: "前处理车间", NameEN: "Pretreatment (desizing, scouring, bleaching)", Kind: UnitProcess,
					Source: src, Demand: 0.32, Consumed: 0.05, Recirculation: 0.6, SteamWeight: 1, ReuseAccept: 0.35},
				{ID: "DYE", Name: "染色车间", NameEN: "Dyeing", Kind: UnitProcess,
					Source: src, Demand: 0.36, Consumed: 0.05, Recirculation: 1.0, SteamWeight: 2, ReuseAccept: 0.2},
				{ID: "FIN", Name: "水洗定型车间", NameEN: "Washing and finishing", Kind: UnitProcess,
					Source: src, Demand: 0.16, Consumed: 0.12, Recirculation: 0.5, ReuseAccept: 0.5},
				{ID: "CT1", Name: "冷却水系统", NameEN: "Cooling water loop", Kind: UnitCooling,
					Source: pick(r, 0.3, meter.SourceReclaimed, src), Demand: 0.025, RangeC: 8, Cycles: 3},
			}, boilerHouse(src, 0.10, 0.6, 0.05, 0.92)...), append(treatment(0.02, 0.45, 0.7,
				"印染废水深度处理回用站", "Dyeing wastewater reuse (UF/RO)"), domestic(0.04))...)
		},
		Production: shiftProfile(0.5, 0.9, 0.55),
		Raw:        WaterQuality{PH: 10.0, Cond: 3000, Turb: 120, COD: 1200, NH3N: 25},
		Effluent:   WaterQuality{PH: 7.8, Cond: 2600, Turb: 6, COD: 70, NH3N: 4.0},
		Reuse:      roPermeate,
	},
	"paper": {
		Units: func(r *rand.Rand) []UnitSpec {
			return append(append([]UnitSpec{
				{ID: "PM", Name: "纸机车间（白水系统）", NameEN: "Paper machine (white water)", Kind: UnitProcess,
					Source: meter.SourceSurface, Demand: 0.45, Consumed: 0.06, Recirculation: 3.0, SteamWeight: 3, ReuseAccept: 0.3},
				{ID: "STOCK", Name: "制浆备料车间", NameEN: "Pulping and stock preparation", Kind: UnitProcess,
					Source: meter.SourceSurface, Demand: 0.30, Consumed: 0.03, Recirculation: 1.0, SteamWeight: 1, ReuseAccept: 0.5},
				{ID: "CT1", Name: "循环冷却水系统", NameEN: "Cooling water loop", Kind: UnitCooling,
					Source: meter.SourceSurface, Demand: 0.03, RangeC: 8, Cycles: 4},
			}, boilerHouse(meter.SourceSurface, 0.12, 0.85, 0.02, 0.8)...), append(treatment(0.03, 0.5, 0.9,
				"白水及废水回用站", "Effluent reuse for showers (UF)"), domestic(0.02))...)
		},
		Production: continuousProfile,
		Raw:        WaterQuality{PH: 7.2, Cond: 2200, Turb: 300, COD: 1500, NH3N: 10},
		Effluent:   WaterQuality{PH: 7.5, Cond: 1900, Turb: 8, COD: 75, NH3N: 3.0},
		Reuse:      ufReuse,
	},
	"beer": {
		Units: func(r *rand.Rand) []UnitSpec {
			src := pick(r, 0.7, meter.SourceMunicipal, meter.SourceGround)
			return append(append([]UnitSpec{
				{ID: "BREW", Name: "糖化车间", NameEN: "Brewhouse", Kind: UnitProcess,
					Source: src, Demand: 0.30, Consumed: 0.55, Recirculation: 0.3, SteamWeight: 3},
				{ID: "PACK", Name: "包装车间（洗瓶、杀菌）", NameEN: "Packaging (bottle washing, pasteurising)", Kind: UnitProcess,
					Source: src, Demand: 0.30, Consumed: 0.05, Recirculation: 1.0, SteamWeight: 1, ReuseAccept: 0.3},
				{ID: "CIP", Name: "CIP清洗系统", NameEN: "Clean-in-place", Kind: UnitProcess,
					Source: src, Demand: 0.15, Consumed: 0.02, Recirculation: 0.5},
				{ID: "YARD", Name: "地面冲洗与绿化", NameEN: "Floor washing and greening", Kind: UnitProcess,
					Source: src, Demand: 0.04, Consumed: 0.8, ReuseAccept: 0.8},
				{ID: "CT1", Name: "制冷循环水系统", NameEN: "Refrigeration cooling loop", Kind: UnitCooling,
					Source: src, Demand: 0.012, RangeC: 5, Cycles: 2.5, PumpBase: 0.3},
			}, boilerHouse(src, 0.12, 0.5, 0.05, 0.92)...), append(treatment(0.02, 0.3, 0.8,
				"中水回用站", "Reclaimed-water station (MBR/RO)"), domestic(0.04))...)
		},
		Production: func() Profile {
			p := shiftProfile(0.8, 0.9, 0.75)
			p.Monthly = [12]float64{0.6, 0.55, 0.75, 0.9, 1.0, 1.05, 1.1, 1.1, 0.95, 0.8, 0.7, 0.65}
			return p
		}(),
		Raw:      WaterQuality{PH: 6.5, Cond: 1500, Turb: 150, COD: 2200, NH3N: 30},
		Effluent: WaterQuality{PH: 7.3, Cond: 1200, Turb: 5, COD: 45, NH3N: 3.5},
		Reuse:    roPermeate,
	},
	"baijiu": {
		Units: func(r *rand.Rand) []UnitSpec {
			src := pick(r, 0.6, meter.SourceGround, meter.SourceMunicipal)
			return append(append([]UnitSpec{
				{ID: "FERM", Name: "制曲酿造车间", NameEN: "Grain steaming and fermentation", Kind: UnitProcess,
					Source: src, Demand: 0.20, Consumed: 0.3, Recirculation: 0.3, SteamWeight: 2},
				{ID: "DIST", Name: "蒸馏冷却（直流）", NameEN: "Distillation condensers (once-through)", Kind: UnitProcess,
					Source: src, Demand: 0.55, Consumed: 0.02, Recirculation: 1.0, SteamWeight: 1, ReuseAccept: 0.3},
				{ID: "BOTL", Name: "灌装车间", NameEN: "Bottling", Kind: UnitProcess,
					Source: meter.SourceMunicipal, Demand: 0.08, Consumed: 0.1, Recirculation: 0.3},
				{ID: "CT1", Name: "循环冷却水系统", NameEN: "Cooling water loop", Kind: UnitCooling,
					Source: src, Demand: 0.012, RangeC: 6, Cycles: 2.5, PumpBase: 0.3},
			}, boilerHouse(src, 0.10, 0.4, 0.05, 0.92)...), append(treatment(0.02, 0.3, 0.8,
				"中水回用站", "Reclaimed-water station (MBR/RO)"), domestic(0.04))...)
		},
		Production: func() Profile {
			p := shiftProfile(0.6, 1.0, 0.8)
			// Brewing stops in the hot season (伏天停产).
			p.Monthly = [12]float64{1, 0.8, 1, 1, 1, 0.7, 0.35, 0.35, 0.8, 1, 1, 1}
			return p
		}(),
		Raw:      WaterQuality{PH: 4.5, Cond: 1400, Turb: 200, COD: 9000, NH3N: 60},
		Effluent: WaterQuality{PH: 7.2, Cond: 1100, Turb: 6, COD: 55, NH3N: 4.5},
		Reuse:    roPermeate,
	},
	"dairy": {
		Units: func(r *rand.Rand) []UnitSpec {
			return append(append([]UnitSpec{
				{ID: "PROC", Name: "乳品加工车间", NameEN: "Milk processing", Kind: UnitProcess,
					Source: meter.SourceMunicipal, Demand: 0.40, Consumed: 0.25, Recirculation: 0.5, SteamWeight: 2},
				{ID: "CIP", Name: "CIP清洗系统", NameEN: "Clean-in-place", Kind: UnitProcess,
					Source: meter.SourceMunicipal, Demand: 0.30, Consumed: 0.02, Recirculation: 1.0, SteamWeight: 1},
				{ID: "YARD", Name: "地面冲洗与绿化", NameEN: "Floor washing and greening", Kind: UnitProcess,
					Source: meter.SourceMunicipal, Demand: 0.05, Consumed: 0.8, ReuseAccept: 0.8},
				{ID: "CT1", Name: "制冷循环水系统", NameEN: "Refrigeration cooling loop", Kind: UnitCooling,
					Source: pick(r, 0.3, meter.SourceRain, meter.SourceMunicipal), Demand: 0.012, RangeC: 5, Cycles: 2.5, PumpBase: 0.3},
			}, boilerHouse(meter.SourceMunicipal, 0.10, 0.6, 0.05, 0.92)...), append(treatment(0.02, 0.3, 0.8,
				"中水回用站", "Reclaimed-water station (MBR/RO)"), domestic(0.05))...)
		},
		Production: shiftProfile(0.75, 1.0, 0.9),
		Raw:        WaterQuality{PH: 6.8, Cond: 1600, Turb: 180, COD: 2500, NH3N: 40},
		Effluent:   WaterQuality{PH: 7.4, Cond: 1300, Turb: 4, COD: 40, NH3N: 3.0},
		Reuse:      roPermeate,
	},
	"zinc": nonferrousTemplate("LEACH", "浸出净化车间", "Leaching and purification", "电解车间", "Electrolysis cell house",
		WaterQuality{3.0, 6000, 100, 120, 5}),
	"lead": nonferrousTemplate("SMELT", "熔炼车间", "Smelting", "电解精炼车间", "Electrolytic refining",
		WaterQuality{5.5, 4000, 120, 100, 4}),
	"power": {
		Units: func(r *rand.Rand) []UnitSpec {
			return append(append([]UnitSpec{
				{ID: "CT1", Name: "凝汽器循环冷却水", NameEN: "Condenser cooling water", Kind: UnitCooling,
					Source: pick(r, 0.3, meter.SourceReclaimed, meter.SourceSurface), Demand: 0.40, RangeC: 10, Cycles: 3.5, BlowdownTo: "FGD"},
				{ID: "CT2", Name: "辅机冷却水", NameEN: "Auxiliary cooling water", Kind: UnitCooling,
					Source: meter.SourceSurface, Demand: 0.05, RangeC: 8, Cycles: 4, ReuseAccept: 0.5},
				{ID: "FGD", Name: "脱硫系统", NameEN: "Flue-gas desulphurisation", Kind: UnitProcess,
					Source: meter.SourceSurface, Demand: 0.12, Consumed: 0.85, Recirculation: 0.3},
				{ID: "ASH", Name: "除灰及输煤系统", NameEN: "Ash handling and coal yard", Kind: UnitProcess,
					Source: meter.SourceSurface, Demand: 0.06, Consumed: 0.7, Recirculation: 1.0, ReuseAccept: 1},
				{ID: "BLR", Name: "锅炉汽水系统", NameEN: "Boiler steam cycle", Kind: UnitBoiler, Steam: 1.0, CycleLoss: 0.015, Blowdown: 0.005},
				{ID: "DM", Name: "化学水处理（除盐水）站", NameEN: "Demineralised make-up plant", Kind: UnitDemin,
					Source: meter.SourceSurface, Recovery: 0.75},
			}, treatment(0.01, 0.7, 0.8, "废水深度处理回用站", "Advanced treatment and reuse")...), domestic(0.02))
		},
		Production: powerProfile,
		Raw:        WaterQuality{PH: 8.0, Cond: 3000, Turb: 40, COD: 60, NH3N: 3},
		Effluent:   WaterQuality{PH: 7.8, Cond: 2600, Turb: 4, COD: 20, NH3N: 1.0},
		Reuse:      roPermeate,
	},
}

// chemicalTemplate is a chemical plant: a main and a secondary cooling
// system, reaction and washing units, a steam boiler, treatment and reuse.
func chemicalTemplate(cooling float64, raw, eff WaterQuality) Template {
	return Template{
		Units: func(r *rand.Rand) []UnitSpec {
			src := pick(r, 0.3, meter.SourceGround, meter.SourceSurface)
			return append(append([]UnitSpec{
				{ID: "CT1", Name: "第一循环水场", NameEN: "Main cooling water system", Kind: UnitCooling,
					Source: pick(r, 0.3, meter.SourceReclaimed, src), Demand: cooling, RangeC: 10, Cycles: 4, ReuseAccept: 0.4},
				{ID: "CT2", Name: "第二循环水场", NameEN: "Secondary cooling water system", Kind: UnitCooling,
					Source: src, Demand: cooling / 3, RangeC: 10, Cycles: 3.5},
				{ID: "REACT", Name: "反应及分离装置", NameEN: "Reaction and separation units", Kind: UnitProcess,
					Source: src, Demand: 0.25, Consumed: 0.3, Recirculation: 1.0, SteamWeight: 2},
				{ID: "WASH", Name: "洗涤及配料工段", NameEN: "Washing and make-up section", Kind: UnitProcess,
					Source: src, Demand: 0.12, Consumed: 0.1, Recirculation: 0.5, SteamWeight: 1, ReuseAccept: 0.5},
			}, boilerHouse(src, 0.15, 0.6, 0.02, 0.75)...), append(treatment(0.01, 0.6, 0.7,
				"中水回用站", "Reclaimed-water station (UF/RO)"), domestic(0.02))...)
		},
		Production: continuousProfile,
		Raw:        raw,
		Effluent:   eff,
		Reuse:      roPermeate,
	}
}

// nonferrousTemplate is a smelter: roasting/acid plant, a hydrometallurgical
// or refining unit, an electrolyte cooling system, a general cooling
// system, a small boiler, heavy-metal wastewater treatment and reuse. Mine
// water is a source near the mining districts.
func nonferrousTemplate(mainID, mainName, mainEN, elecName, elecEN string, raw WaterQuality) Template {
	return Template{
		Units: func(r *rand.Rand) []UnitSpec {
			src := meter.SourceSurface
			return append(append([]UnitSpec{
				{ID: "ACID", Name: "焙烧及制酸车间", NameEN: "Roasting and acid plant", Kind: UnitProcess,
					Source: src, Demand: 0.18, Consumed: 0.35, Recirculation: 0.5},
				{ID: mainID, Name: mainName, NameEN: mainEN, Kind: UnitProcess,
					Source: pick(r, 0.5, meter.SourceMine, src), Demand: 0.25, Consumed: 0.15, Recirculation: 1.0, SteamWeight: 1, ReuseAccept: 0.5},
				{ID: "CT1", Name: elecName + "循环冷却水", NameEN: elecEN + " cooling water", Kind: UnitCooling,
					Source: src, Demand: 0.07, RangeC: 8, Cycles: 4, ReuseAccept: 0.3},
				{ID: "CT2", Name: "全厂循环冷却水", NameEN: "Plant cooling water", Kind: UnitCooling,
					Source: src, Demand: 0.06, RangeC: 10, Cycles: 3.5, BlowdownTo: "SLAG"},
				{ID: "SLAG", Name: "炉渣水淬及烟气洗涤", NameEN: "Slag quenching and gas scrubbing", Kind: UnitProcess,
					Source: src, Demand: 0.10, Consumed: 0.8, Recirculation: 0.3},
			}, boilerHouse(src, 0.05, 0.5, 0.03, 0.75)...), append(treatment(0.03, 0.8, 0.75,
				"重金属废水深度处理回用站", "Heavy-metal wastewater reuse"), domestic(0.03))...)
		},
		Production: continuousProfile,
		Raw:        raw,
		Effluent:   WaterQuality{PH: 7.6, Cond: 2300, Turb: 3, COD: 25, NH3N: 1.5},
		Reuse:      roPermeate,
	}
}

// TemplateFor returns the template of an archetype.
func TemplateFor(key string) (Template, error) {
	t, ok := Templates[key]
	if !ok {
		return Template{}, fmt.Errorf("no plant template for archetype %q", key)
	}
	return t, nil
}
