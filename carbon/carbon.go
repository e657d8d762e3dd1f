// Package carbon accounts the electricity attributable to water and its
// CO₂ (水–碳协同核算): pumping, treatment of the water taken and of the
// wastewater discharged, and heating, each metered where an energy channel
// exists and otherwise estimated from per-m³ factors (data/energy_factors.csv),
// and the CO₂ of that electricity at the published grid emission factor of
// the region (data/grid_factors.csv: the MEE/NBS electricity CO₂ factors,
// location-based). It also gives the CO₂ avoided by a verified water saving
// (Avoided).
//
// The package is pure: volumes and metered energy in, an account out. Every
// factor carries its source, edition and whether it was verified against
// the primary text; an account says which factors it used.
package carbon

import (
	"embed"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/shuixiao/shuixiao/internal/table"
)

//go:embed data/*.csv
var dataFS embed.FS

// Stage is a step of the water cycle that uses electricity.
type Stage string

// Stages.
const (
	Pumping             Stage = "pumping"              // abstraction and distribution, per m³ of intake
	SupplyTreatment     Stage = "supply_treatment"     // treatment of the water taken, per m³ of intake
	WastewaterTreatment Stage = "wastewater_treatment" // per m³ of discharge
	Heating             Stage = "heating"              // per m³ and kelvin of temperature rise
)

// Stages lists every stage in account order.
var Stages = []Stage{Pumping, SupplyTreatment, WastewaterTreatment, Heating}

// GridFactor is a published electricity CO₂ emission factor.
type GridFactor struct {
	Region      string  `json:"region"` // "CN" or a grid region
	Name        string  `json:"name"`
	DataYear    int     `json:"data_year"`
	KgCO2PerKWh float64 `json:"kg_co2_per_kwh"`
	Source      string  `json:"source"`
	Edition     string  `json:"edition"`
	Verified    bool    `json:"verified"`
}

// StageFactor is the electricity per m³ of one stage.
type StageFactor struct {
	Stage    Stage   `json:"stage"`
	KWhPerM3 float64 `json:"kwh_per_m3"`
	Basis    string  `json:"basis"`
	Source   string  `json:"source"`
	Edition  string  `json:"edition"`
	Verified bool    `json:"verified"`
}

// Factors are what one account uses: the grid factor and the stage factors.
type Factors struct {
	Grid   GridFactor            `json:"grid"`
	Stages map[Stage]StageFactor `json:"stages"`
}

// Tables are the built-in factor tables.
type Tables struct {
	grid     []GridFactor
	regionOf map[string]string // province prefix → grid region
	stages   map[Stage]StageFactor
}

// Load reads the built-in tables.
func Load() (Tables, error) {
	t := Tables{regionOf: map[string]string{}, stages: map[Stage]StageFactor{}}
	h, rows, err := table.Read(dataFS, "data/grid_factors.csv")
	if err != nil {
		return t, err
	}
	for i, r := range rows {
		g := GridFactor{Region: r[h["region"]], Name: r[h["name"]], Source: r[h["source"]], Edition: r[h["edition"]], Verified: r[h["verified"]] == "true"}
		var e1, e2 error
		g.DataYear, e1 = strconv.Atoi(r[h["data_year"]])
		g.KgCO2PerKWh, e2 = strconv.ParseFloat(r[h["kg_co2_per_kwh"]], 64)
		if err := errors.Join(e1, e2); err != nil || !(g.KgCO2PerKWh > 0 && g.KgCO2PerKWh < 2) || g.Source == "" {
			return t, fmt.Errorf("grid_factors.csv row %d: %v (a factor in (0, 2) kg/kWh with a source is needed)", i+2, err)
		}
		t.grid = append(t.grid, g)
	}
	h, rows, err = table.Read(dataFS, "data/grid_regions.csv")
	if err != nil {
		return t, err
	}
	for _, r := range rows {
		t.regionOf[r[h["province_prefix"]]] = r[h["region"]]
	}
	h, rows, err = table.Read(dataFS, "data/energy_factors.csv")
	if err != nil {
		return t, err
	}
	for i, r := range rows {
		f := StageFactor{Stage: Stage(r[h["stage"]]), Basis: r[h["basis"]], Source: r[h["source"]], Edition: r[h["edition"]], Verified: r[h["verified"]] == "true"}
		f.KWhPerM3, err = strconv.ParseFloat(r[h["kwh_per_m3"]], 64)
		if err != nil || f.KWhPerM3 < 0 || f.KWhPerM3 > 100 || !validStage(f.Stage) || f.Source == "" {
			return t, fmt.Errorf("energy_factors.csv row %d: stage %q, %q kWh/m³: a known stage, a factor in [0, 100] and a source are needed", i+2, f.Stage, r[h["kwh_per_m3"]])
		}
		t.stages[f.Stage] = f
	}
	return t, nil
}

func validStage(s Stage) bool {
	for _, v := range Stages {
		if v == s {
			return true
		}
	}
	return false
}

// For returns the factors for a region (a GB/T 2260 code) and a year: the
// grid factor of the region's grid region, else the national one, of the
// latest data year not after year (the earliest if all are later).
func (t Tables) For(region string, year int) (Factors, error) {
	want := []string{}
	if len(region) >= 2 {
		if g, ok := t.regionOf[region[:2]]; ok {
			want = append(want, g)
		}
	}
	want = append(want, "CN")
	for _, reg := range want {
		var best *GridFactor
		for i := range t.grid {
			g := &t.grid[i]
			if g.Region != reg {
				continue
			}
			switch {
			case best == nil:
				best = g
			case g.DataYear <= year && (best.DataYear > year || g.DataYear > best.DataYear):
				best = g
			case best.DataYear > year && g.DataYear < best.DataYear:
				best = g
			}
		}
		if best != nil {
			f := Factors{Grid: *best, Stages: map[Stage]StageFactor{}}
			for k, v := range t.stages {
				f.Stages[k] = v
			}
			return f, nil
		}
	}
	return Factors{}, fmt.Errorf("carbon: no grid factor for region %q", region)
}

// Use is what an account is made from: the water of a period and the
// electricity metered at each stage (absent: not metered).
type Use struct {
	IntakeM3    float64 `json:"intake_m3"`
	DischargeM3 float64 `json:"discharge_m3"`
	// HeatedM3 and HeatingRiseK: water heated and by how much; heating is
	// estimated only when both are given and it is not metered.
	HeatedM3     float64           `json:"heated_m3"`
	HeatingRiseK float64           `json:"heating_rise_k"`
	MeteredKWh   map[Stage]float64 `json:"metered_kwh,omitempty"`
}

// StageEnergy is one stage's electricity in an account.
type StageEnergy struct {
	Stage   Stage        `json:"stage"`
	WaterM3 float64      `json:"water_m3"`
	KWh     float64      `json:"kwh"`
	KgCO2   float64      `json:"kg_co2"`
	Basis   string       `json:"basis"` // "metered", "factor" or "none"
	Factor  *StageFactor `json:"factor,omitempty"`
}

// Account is the electricity attributable to water and its CO₂.
type Account struct {
	Stages []StageEnergy `json:"stages"`
	KWh    float64       `json:"kwh"`
	KgCO2  float64       `json:"kg_co2"`
	Grid   GridFactor    `json:"grid"`
	// Verified is true when every factor used was verified.
	Verified bool `json:"verified"`
}

func usable(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) && v >= 0 && v <= 1e12 }

// Compute makes the account of a use: each stage metered where a value is
// given, else its water times its factor; CO₂ is the total electricity
// times the grid factor.
func Compute(u Use, f Factors) (Account, error) {
	if !(f.Grid.KgCO2PerKWh > 0) {
		return Account{}, errors.New("carbon: no grid factor")
	}
	for name, v := range map[string]float64{"intake": u.IntakeM3, "discharge": u.DischargeM3, "heated water": u.HeatedM3, "heating rise": u.HeatingRiseK} {
		if !usable(v) {
			return Account{}, fmt.Errorf("carbon: %s %g is not a usable figure", name, v)
		}
	}
	for s, v := range u.MeteredKWh {
		if !validStage(s) || !usable(v) {
			return Account{}, fmt.Errorf("carbon: metered %q %g kWh is not usable", s, v)
		}
	}
	a := Account{Grid: f.Grid, Verified: f.Grid.Verified, Stages: []StageEnergy{}}
	water := map[Stage]float64{Pumping: u.IntakeM3, SupplyTreatment: u.IntakeM3, WastewaterTreatment: u.DischargeM3, Heating: u.HeatedM3}
	for _, s := range Stages {
		e := StageEnergy{Stage: s, WaterM3: water[s], Basis: "none"}
		if v, ok := u.MeteredKWh[s]; ok {
			e.KWh, e.Basis = v, "metered"
		} else if sf, ok := f.Stages[s]; ok {
			per := sf.KWhPerM3
			if s == Heating {
				per *= u.HeatingRiseK
			}
			if e.WaterM3 > 0 && per > 0 {
				e.KWh, e.Basis = e.WaterM3*per, "factor"
				sfc := sf
				e.Factor = &sfc
				a.Verified = a.Verified && sf.Verified
			}
		}
		e.KgCO2 = e.KWh * f.Grid.KgCO2PerKWh
		a.KWh += e.KWh
		a.KgCO2 += e.KgCO2
		a.Stages = append(a.Stages, e)
	}
	return a, nil
}

// Avoided is the electricity and CO₂ a verified water saving avoids: the
// saved intake no longer pumped and treated, nor discharged and treated as
// wastewater (dischargeShare of it, in [0, 1]: the part of the intake that
// the enterprise discharges), at the factors given. Only the proven part of
// a saving should be passed (for an M&V statement: savings − uncertainty).
func Avoided(savingsM3, dischargeShare float64, f Factors) (kgCO2, kwh float64, err error) {
	if !usable(savingsM3) || math.IsNaN(dischargeShare) || dischargeShare < 0 || dischargeShare > 1 {
		return 0, 0, fmt.Errorf("carbon: saving %g m³ and discharge share %g: a saving ≥ 0 and a share in [0, 1] are needed", savingsM3, dischargeShare)
	}
	a, err := Compute(Use{IntakeM3: savingsM3, DischargeM3: savingsM3 * dischargeShare}, f)
	if err != nil {
		return 0, 0, err
	}
	return a.KgCO2, a.KWh, nil
}
