package balance

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/shuixiao/shuixiao/meter"
)

// Options are what Evaluate needs besides the points and their volumes.
type Options struct {
	Settings Settings
	// ValueAdded is the period's industrial value added in 10⁴ CNY (万元);
	// zero leaves intake per value added out.
	ValueAdded float64
	// Production is the period's output per product; intake per unit of
	// product is given for a single-product enterprise.
	Production []Production
	// Quotas grade intake per unit; nil uses the built-in tables.
	Quotas *Quotas
	// Headline limits the report to Missing and the headline volumes:
	// Intake, NonConventional, Recirculated, Cascaded and Reuse, each the
	// same to the last bit as in the full report; every other figure is
	// left zero (absent). For a caller that keeps only those — the
	// province roll-up's target years, 5,000 enterprises at a time.
	Headline bool
}

// Report is the balance of one enterprise over a period with the indicators
// of GB/T 12452-2022, GB/T 7119-2018 and GB/T 21534 (reference/standards.md
// §1.2–1.4). Volumes are m³, rates fractions. Every figure carries its
// coverage; a figure that needs a point without a volume is absent.
type Report struct {
	Intake             Figure                  // Vi, all level-1 intake points
	IntakeBySource     map[meter.Source]Figure // Vi per source
	NonConventional    Figure                  // Vn: reclaimed, rain, mine water
	Recirculated       Figure                  // recirculation points
	Cascaded           Figure                  // cascade points (series, wastewater reuse, condensate)
	WastewaterReuse    Figure                  // Vw: cascade points of kind wastewater
	CondensateReuse    Figure                  // Vbr: cascade points of kind condensate
	Reuse              Figure                  // Vr = recirculated + cascaded
	TotalUse           Figure                  // Vt = Vi + Vr
	Discharge          Figure                  // Vd, level-1 discharge points
	Consumption        Figure                  // Vco: consumption points, else Vi − Vd − Vl
	ConsumptionAndLoss Figure                  // Vco + Vl = Vi − Vd
	Level2             Figure                  // Σ fresh water at the level-2 units
	Leakage            Figure                  // Vl = Vi − Σ level 2 (unaccounted between the levels)
	ByPurpose          map[meter.Purpose]Figure

	ReuseRate           Figure // R = Vr / (Vr + Vi)
	IndirectCoolingRate Figure // Rc = Vcr / (Vcr + Vcf)
	DirectCoolingRate   Figure // Vdr / (Vdr + Vdf)
	ProcessReuseRate    Figure // Rg = Vgr / (Vgr + Vgf)
	CondensateReuseRate Figure // Rb = Vbr / steam, steam ≈ Vbr + boiler make-up + purchased steam
	WastewaterReuseRate Figure // Kw = Vw / (Vd + Vw)
	LeakageRate         Figure // Kl = Vl / Vi
	DischargeRate       Figure // Kd = Vd / Vi
	ConsumptionRate     Figure // Kc = Vco / Vi
	NonConventionalRate Figure // Kn = Vn / Vi
	MeteringRatio       Figure // Σ level 2 / level 1
	IntakePer10kCNY     Figure // Vi / value added (万元)
	BalanceError        Figure // (Vi − Vd − Vco − Vl) / Vi
	Tolerance           float64
	Within              *bool // |BalanceError| ≤ Tolerance; nil when the error is absent
	MeteringRatioMin    float64
	ValueAddedGiven     bool
	Units               []UnitBalance
	Products            map[string]ProductResult
	Missing             []string // points that measure water but have no volume
}

// UnitBalance is the balance of one level-2 unit: what enters it (fresh
// water and cascades from other units) against what leaves it (discharge,
// consumption and cascades to other units).
type UnitBalance struct {
	Unit      string  `json:"unit"`
	In        Figure  `json:"in_m3"`
	Out       Figure  `json:"out_m3"`
	Error     Figure  `json:"balance_error"`
	Tolerance float64 `json:"tolerance"`
	Within    *bool   `json:"within_tolerance"`
}

// Evaluate computes the balance and indicators of an enterprise whose
// metering points are points, given the period's volume per point.
func Evaluate(points []meter.Point, vol Volumes, o Options) Report {
	f := newFlows(points, vol)
	r := Report{Tolerance: o.Settings.Tolerance, MeteringRatioMin: o.Settings.MeteringRatioMin, Missing: f.missing()}

	r.Intake = fromSum(f.sum(isIntake), term{"取水量", "intake"}, term{"无一级取水计量点", "no level-1 intake point"})
	r.NonConventional = fromSum(f.sum(isNonConventional), term{"非常规水源取水量", "non-conventional intake"}, term{})
	r.Recirculated = fromSum(f.sum(isRecirculated), term{"循环水量", "recirculated water"}, term{})
	r.Cascaded = fromSum(f.sum(isCascaded), term{"串联水量", "cascaded water"}, term{})
	r.Reuse = plus(r.Recirculated, r.Cascaded)
	if o.Headline {
		return r
	}
	r.IntakeBySource = map[meter.Source]Figure{}
	for _, s := range meter.Sources {
		if sm := f.sum(fromSource(s)); len(sm.points)+len(sm.missing) > 0 {
			r.IntakeBySource[s] = fromSum(sm, term{sourceName(s) + "取水量", "intake from " + string(s)}, term{})
		}
	}
	r.WastewaterReuse = fromSum(f.sum(ofReuseKind(meter.ReuseWastewater)), term{"废水回用量", "wastewater reuse"}, term{})
	r.CondensateReuse = fromSum(f.sum(ofReuseKind(meter.ReuseCondensate)), term{"冷凝水回用量", "condensate reuse"}, term{})
	r.TotalUse = plus(r.Intake, r.Reuse)
	r.Discharge = fromSum(f.sum(isDischarge), term{"排水量", "discharge"}, term{"无一级排水计量点", "no level-1 discharge point"})
	r.Level2 = fromSum(f.sum(isUnit), term{"二级新水量", "level-2 fresh water"}, term{"无二级用水单元", "no level-2 unit"})
	r.Leakage = minus(r.Intake, r.Level2).withNote(bi("Vi − Σ二级：两级之间漏失或未计量的水", "Vi − Σ level 2: water lost or unmetered between the levels"))
	r.ConsumptionAndLoss = minus(r.Intake, r.Discharge)
	r.Consumption = consumption(f, r)
	r.ByPurpose = map[meter.Purpose]Figure{}
	for _, u := range meter.Purposes {
		if sm := f.sum(f.freshFor(u)); len(sm.points)+len(sm.missing) > 0 {
			r.ByPurpose[u] = fromSum(sm, term{purposeName(u) + "新水量", "fresh water for " + string(u)}, term{})
		}
	}

	r.ReuseRate = quotient(r.Reuse, plus(r.Reuse, r.Intake), term{"重复利用率", "reuse rate"})
	r.IndirectCoolingRate = recirculationRate(f, meter.PurposeIndirectCooling, term{"间接冷却水循环率", "indirect cooling recirculation rate"})
	r.DirectCoolingRate = recirculationRate(f, meter.PurposeDirectCooling, term{"直接冷却水循环率", "direct cooling recirculation rate"})
	r.ProcessReuseRate = recirculationRate(f, meter.PurposeProcess, term{"工艺水回用率", "process water reuse rate"})
	r.CondensateReuseRate = condensateRate(f, r)
	r.WastewaterReuseRate = quotient(r.WastewaterReuse, plus(r.Discharge, r.WastewaterReuse), term{"废水回用率", "wastewater reuse rate"})
	r.LeakageRate = quotient(r.Leakage, r.Intake, term{"漏失率", "leakage rate"})
	r.DischargeRate = quotient(r.Discharge, r.Intake, term{"排水率", "discharge rate"})
	r.ConsumptionRate = quotient(r.Consumption, r.Intake, term{"耗水率", "consumption rate"})
	r.NonConventionalRate = quotient(r.NonConventional, r.Intake, term{"非常规水源替代率", "non-conventional rate"})
	r.MeteringRatio = quotient(r.Level2, r.Intake, term{"二级计量率", "metering ratio"})
	if o.ValueAdded > 0 {
		r.ValueAddedGiven = true
		r.IntakePer10kCNY = quotient(r.Intake, known(o.ValueAdded, ""), term{"万元增加值取水量", "intake per 10⁴ CNY"})
	} else {
		r.IntakePer10kCNY = absent("%s", bi("万元增加值取水量：未给出工业增加值", "intake per 10⁴ CNY: no value added given"))
	}
	r.BalanceError = balanceError(f, r)
	r.Within = within(r.BalanceError, r.Tolerance)
	for _, p := range points {
		if isUnit(p) {
			r.Units = append(r.Units, unitBalance(f, p.ID, o.Settings.UnitTolerance))
		}
	}
	quotas := o.Quotas
	if quotas == nil {
		quotas = BuiltinQuotas()
	}
	r.Products = ProductFigures(r.Intake, o.Production, quotas)
	return r
}

// consumption is Vco as the consumption points measure it when every
// level-2 unit has one; otherwise a sum over some units would pass for the
// whole, so Vco is derived as Vi − Vd − Vl.
func consumption(f *flows, r Report) Figure {
	s := f.sum(isConsumption)
	if len(s.points)+len(s.missing) > 0 {
		if gaps := unitsWithoutConsumption(f); len(gaps) > 0 {
			return minus(r.Intake, r.Discharge, r.Leakage).withNote(bi("推算：Vi − Vd − Vl（单元 "+strings.Join(gaps, ", ")+" 无耗水计量点）", "derived: Vi − Vd − Vl (units "+strings.Join(gaps, ", ")+" have no consumption point)"))
		}
		return fromSum(s, term{"耗水量", "consumption"}, term{})
	}
	return minus(r.Intake, r.Discharge, r.Leakage).withNote(bi("推算：Vi − Vd − Vl（无耗水计量点）", "derived: Vi − Vd − Vl (no consumption points)"))
}

// unitsWithoutConsumption lists the level-2 units without a consumption point.
func unitsWithoutConsumption(f *flows) []string {
	has := map[string]bool{}
	for _, p := range f.points {
		if hasVolume(p) && isConsumption(p) {
			has[f.unitOf(p.Parent)] = true
		}
	}
	var out []string
	for _, p := range f.points {
		if isUnit(p) && !has[p.ID] {
			out = append(out, p.ID)
		}
	}
	return out
}

// recirculationRate is Vpr / (Vpr + Vpf) for the units of purpose u: the
// indirect-cooling rate Rc, its direct-cooling analogue, and the process
// water reuse rate Rg (standards.md §1.4).
func recirculationRate(f *flows, u meter.Purpose, what term) Figure {
	fresh := f.sum(f.freshFor(u))
	if len(fresh.points)+len(fresh.missing) == 0 {
		return absent("%s", bi(what.zh+"：无"+purposeName(u)+"用途的用水单元", what.en+": no unit has purpose "+string(u)))
	}
	rec := fromSum(f.sum(f.recirculatedFor(u)), term{purposeName(u) + "循环水量", "recirculated water for " + string(u)}, term{})
	return quotient(rec, plus(rec, fromSum(fresh, term{purposeName(u) + "新水量", "fresh water for " + string(u)}, term{})), what)
}

// condensateRate is Rb = Vbr / (D·h/ρ) with the steam raised taken as the
// boiler units' fresh make-up plus the condensate returned, plus purchased
// steam (blowdown neglected: the make-up meter stands in for the steam meter).
func condensateRate(f *flows, r Report) Figure {
	what := term{"冷凝水回用率", "condensate reuse rate"}
	boiler := f.sum(f.freshFor(meter.PurposeBoiler))
	steam := f.sum(fromSource(meter.SourceSteam))
	if len(boiler.points)+len(boiler.missing)+len(steam.points)+len(steam.missing) == 0 {
		return absent("%s", bi(what.zh+"：无锅炉单元且无外购蒸汽", what.en+": no boiler unit and no purchased steam"))
	}
	raised := plus(r.CondensateReuse, fromSum(boiler, term{"锅炉补水量", "boiler make-up"}, term{}), fromSum(steam, term{"外购蒸汽量", "purchased steam"}, term{}))
	return quotient(r.CondensateReuse, raised, what)
}

// balanceError is the relative error of the enterprise balance
// e = (Vi − Vd − Vco − Vl) / Vi (standards.md §1.3). It needs Vco metered
// in every unit: derived from the balance, the balance would close by
// construction.
func balanceError(f *flows, r Report) Figure {
	s := f.sum(isConsumption)
	if len(s.points)+len(s.missing) == 0 {
		return absent("%s", bi("水平衡误差：耗水量未计量，平衡按构造闭合", "balance error: consumption is not metered, so the balance closes by construction"))
	}
	if gaps := unitsWithoutConsumption(f); len(gaps) > 0 {
		return absent("%s", bi("水平衡误差：单元 "+strings.Join(gaps, ", ")+" 无耗水计量点，平衡按构造闭合", "balance error: units "+strings.Join(gaps, ", ")+" have no consumption point, so the balance closes by construction"))
	}
	return quotient(minus(r.Intake, r.Discharge, r.Consumption, r.Leakage), r.Intake, term{"水平衡误差", "balance error"})
}

// unitBalance is one level-2 unit's balance; its error needs the unit's
// consumption metered for the same reason as the enterprise's.
func unitBalance(f *flows, u string, tol float64) UnitBalance {
	b := UnitBalance{Unit: u, Tolerance: tol}
	b.In = fromSum(f.sumOf(f.nearUnit(u), f.intoUnit(u)), term{"进入 " + u, "into " + u}, term{})
	b.Out = fromSum(f.sumOf(f.nearUnit(u), f.outOfUnit(u)), term{"流出 " + u, "out of " + u}, term{})
	if c := f.sumOf(f.nearUnit(u), f.consumedInUnit(u)); len(c.points)+len(c.missing) == 0 {
		b.Error = absent("%s", bi("单元 "+u+"：耗水量未计量，进 − 出即其耗水与漏失", "unit "+u+": consumption not metered; in − out is its consumption and loss"))
	} else {
		b.Error = quotient(minus(b.In, b.Out), b.In, term{u + " 水平衡误差", "balance error of " + u})
	}
	b.Within = within(b.Error, tol)
	return b
}

func within(e Figure, tol float64) *bool {
	if !e.OK {
		return nil
	}
	w := math.Abs(e.Value) <= tol
	return &w
}

// fields are the report's figures under their JSON names.
func (r Report) fields() map[string]Figure {
	m := map[string]Figure{
		"intake_m3": r.Intake, "non_conventional_m3": r.NonConventional, "recirculated_m3": r.Recirculated,
		"cascaded_m3": r.Cascaded, "wastewater_reuse_m3": r.WastewaterReuse, "condensate_reuse_m3": r.CondensateReuse,
		"reuse_m3": r.Reuse, "total_use_m3": r.TotalUse, "discharge_m3": r.Discharge, "consumption_m3": r.Consumption,
		"consumption_and_loss_m3": r.ConsumptionAndLoss, "level2_m3": r.Level2, "leakage_m3": r.Leakage,
		"reuse_rate": r.ReuseRate, "indirect_cooling_rate": r.IndirectCoolingRate, "direct_cooling_rate": r.DirectCoolingRate,
		"process_reuse_rate": r.ProcessReuseRate, "condensate_reuse_rate": r.CondensateReuseRate,
		"wastewater_reuse_rate": r.WastewaterReuseRate, "leakage_rate": r.LeakageRate, "discharge_rate": r.DischargeRate,
		"consumption_rate": r.ConsumptionRate, "non_conventional_rate": r.NonConventionalRate,
		"metering_ratio": r.MeteringRatio, "balance_error": r.BalanceError,
	}
	if r.ValueAddedGiven {
		m["intake_per_10k_cny"] = r.IntakePer10kCNY
	}
	for s, f := range r.IntakeBySource {
		m["intake_by_source_m3."+string(s)] = f
	}
	for u, f := range r.ByPurpose {
		m["fresh_by_purpose_m3."+string(u)] = f
	}
	return m
}

// MarshalJSON writes the report as RESULT.json (docs/balance.md): each
// figure's value (null when absent) under its name, and every figure's
// coverage under "coverage".
func (r Report) MarshalJSON() ([]byte, error) {
	out := map[string]any{}
	cov := map[string]Coverage{}
	bySource := map[string]any{}
	byPurpose := map[string]any{}
	for name, f := range r.fields() {
		cov[name] = f.Coverage()
		if src, ok := strings.CutPrefix(name, "intake_by_source_m3."); ok {
			bySource[src] = f.Number()
		} else if u, ok := strings.CutPrefix(name, "fresh_by_purpose_m3."); ok {
			byPurpose[u] = f.Number()
		} else {
			out[name] = f.Number()
		}
	}
	out["intake_by_source_m3"] = bySource
	out["fresh_by_purpose_m3"] = byPurpose
	out["balance_tolerance"] = r.Tolerance
	out["balance_within_tolerance"] = r.Within
	out["metering_ratio_min"] = r.MeteringRatioMin
	units := r.Units
	if units == nil {
		units = []UnitBalance{}
	}
	out["units"] = units
	products := r.Products
	if products == nil {
		products = map[string]ProductResult{}
	}
	out["products"] = products
	out["missing_points"] = nonNil(r.Missing)
	out["coverage"] = cov
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("balance report: %w", err)
	}
	return b, nil
}
