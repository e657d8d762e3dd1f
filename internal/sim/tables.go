package sim

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/shuixiao/shuixiao/meter"
)

//go:embed data/archetypes.csv
var archetypesCSV string

//go:embed data/parks.csv
var parksCSV string

//go:embed data/parameters.csv
var parametersCSV string

// Archetype is a kind of plant the simulator builds: its industry, its main
// product and the two figures its water design is calibrated to.
type Archetype struct {
	Key       string // e.g. "steel"
	Group     string // industry group of the plan: steel, chemical, textile, paper, food, nonferrous, power
	Industry  string // GB/T 4754-2017 code
	Product   string
	ProductEN string
	Unit      string // unit of product output, e.g. "t", "kL", "100 m", "MWh"
	// IntakePerUnit is the fresh-water intake per unit product, m³ (单位产品取水量).
	IntakePerUnit float64
	IntakeSource  string
	// ReuseRate is the design reuse rate R = Vr/(Vr+Vi) (重复利用率).
	ReuseRate   float64
	ReuseSource string
	// CapacityMin and CapacityMax bound a simulated plant's design daily output.
	CapacityMin, CapacityMax float64
	Verified                 bool
}

// ParkSite is a park of the plan with the archetypes the simulator may place in it.
type ParkSite struct {
	Park       meter.Park
	Archetypes []string
	// Assumed lists archetypes placed in the park although the plan does not
	// name the park for that industry.
	Assumed map[string]bool
}

// Parameters are the physical and metrological constants of the simulator
// (data/parameters.csv).
type Parameters struct {
	// EvapK is the GB/T 50050 evaporation coefficient k (1/°C) by air
	// temperature (°C), sorted by temperature: Qe = k·Δt·Qr.
	EvapK                              [][2]float64
	DriftFraction                      float64
	MPEIntake, MPESupply, MPEDischarge float64
	BiasShare                          float64
	FlowNoise                          float64
	LeakBackgroundMin                  float64
	LeakBackgroundMax                  float64
	LeakInjected                       float64
	AirMeanC, AirAnnualAmpC            float64
	AirWarmestDOY                      float64
	AirDailyAmpC                       float64
	DesignAirC                         float64
}

// EvaporationK interpolates the evaporation coefficient at air temperature
// airC, clamping outside the table.
func (p *Parameters) EvaporationK(airC float64) float64 {
	k := p.EvapK
	if len(k) == 0 {
		return 0
	}
	if airC <= k[0][0] {
		return k[0][1]
	}
	for i := 1; i < len(k); i++ {
		if airC <= k[i][0] {
			f := (airC - k[i-1][0]) / (k[i][0] - k[i-1][0])
			return k[i-1][1] + f*(k[i][1]-k[i-1][1])
		}
	}
	return k[len(k)-1][1]
}

func readTable(name, text string) ([][]string, error) {
	r := csv.NewReader(strings.NewReader(text))
	r.Comment = '#'
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("sim: embedded %s: %w", name, err)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("sim: embedded %s: no rows", name)
	}
	return rows, nil
}

func parseFloats(name string, line int, fields ...string) ([]float64, error) {
	out := make([]float64, len(fields))
	for i, f := range fields {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, fmt.Errorf("sim: embedded %s row %d: %q: %w", name, line, f, err)
		}
		out[i] = v
	}
	return out, nil
}

// Archetypes returns the plant archetypes of data/archetypes.csv in file order.
func Archetypes() ([]Archetype, error) {
	rows, err := readTable("archetypes.csv", archetypesCSV)
	if err != nil {
		return nil, err
	}
	var out []Archetype
	for i, r := range rows[1:] {
		if len(r) != 13 {
			return nil, fmt.Errorf("sim: embedded archetypes.csv row %d: %d fields, want 13", i+2, len(r))
		}
		v, err := parseFloats("archetypes.csv", i+2, r[6], r[8], r[10], r[11])
		if err != nil {
			return nil, err
		}
		a := Archetype{Key: r[0], Group: r[1], Industry: r[2], Product: r[3], ProductEN: r[4], Unit: r[5],
			IntakePerUnit: v[0], IntakeSource: r[7], ReuseRate: v[1], ReuseSource: r[9],
			CapacityMin: v[2], CapacityMax: v[3], Verified: r[12] == "yes"}
		if _, ok := meter.IndustryByCode(a.Industry); !ok {
			return nil, fmt.Errorf("sim: archetype %s: industry %s not in meter's GB/T 4754 table", a.Key, a.Industry)
		}
		if a.IntakePerUnit <= 0 || a.ReuseRate <= 0 || a.ReuseRate >= 1 || a.CapacityMin <= 0 || a.CapacityMax < a.CapacityMin {
			return nil, fmt.Errorf("sim: archetype %s: implausible figures %+v", a.Key, a)
		}
		out = append(out, a)
	}
	return out, nil
}

// ParkSites returns the parks of data/parks.csv in file order.
func ParkSites() ([]ParkSite, error) {
	rows, err := readTable("parks.csv", parksCSV)
	if err != nil {
		return nil, err
	}
	arch, err := Archetypes()
	if err != nil {
		return nil, err
	}
	known := map[string]Archetype{}
	for _, a := range arch {
		known[a.Key] = a
	}
	regions := map[string]bool{}
	for _, r := range meter.HunanRegions() {
		regions[r.Code] = true
	}
	var out []ParkSite
	for i, r := range rows[1:] {
		if len(r) != 7 {
			return nil, fmt.Errorf("sim: embedded parks.csv row %d: %d fields, want 7", i+2, len(r))
		}
		ll, err := parseFloats("parks.csv", i+2, r[5], r[6])
		if err != nil {
			return nil, err
		}
		if !regions[r[3]] {
			return nil, fmt.Errorf("sim: park %s: region %s not in meter.HunanRegions", r[0], r[3])
		}
		site := ParkSite{Park: meter.Park{ID: r[0], Name: r[1], NameEN: r[2], Region: r[3], Lat: ll[0], Lon: ll[1]},
			Assumed: map[string]bool{}}
		industries := map[string]bool{}
		for _, a := range strings.Split(r[4], ";") {
			assumed := strings.HasSuffix(a, "*")
			a = strings.TrimSuffix(a, "*")
			ar, ok := known[a]
			if !ok {
				return nil, fmt.Errorf("sim: park %s: unknown archetype %q", r[0], a)
			}
			site.Archetypes = append(site.Archetypes, a)
			if assumed {
				site.Assumed[a] = true
			}
			industries[ar.Industry] = true
		}
		for code := range industries {
			site.Park.Industries = append(site.Park.Industries, code)
		}
		sort.Strings(site.Park.Industries)
		out = append(out, site)
	}
	return out, nil
}

// DefaultParameters returns the parameters of data/parameters.csv.
func DefaultParameters() (Parameters, error) {
	rows, err := readTable("parameters.csv", parametersCSV)
	if err != nil {
		return Parameters{}, err
	}
	var p Parameters
	named := map[string]*float64{
		"drift_fraction": &p.DriftFraction, "mpe_intake": &p.MPEIntake, "mpe_supply": &p.MPESupply,
		"mpe_discharge": &p.MPEDischarge, "bias_share": &p.BiasShare, "flow_noise": &p.FlowNoise,
		"leak_background_min": &p.LeakBackgroundMin, "leak_background_max": &p.LeakBackgroundMax,
		"leak_injected": &p.LeakInjected, "air_mean_c": &p.AirMeanC, "air_annual_amp_c": &p.AirAnnualAmpC,
		"air_warmest_doy": &p.AirWarmestDOY, "air_daily_amp_c": &p.AirDailyAmpC, "design_air_c": &p.DesignAirC,
	}
	seen := map[string]bool{}
	for i, r := range rows[1:] {
		if len(r) != 5 {
			return Parameters{}, fmt.Errorf("sim: embedded parameters.csv row %d: %d fields, want 5", i+2, len(r))
		}
		v, err := parseFloats("parameters.csv", i+2, r[1])
		if err != nil {
			return Parameters{}, err
		}
		name := r[0]
		if t, ok := strings.CutPrefix(name, "evap_k_"); ok {
			tc, err := parseFloats("parameters.csv", i+2, t)
			if err != nil {
				return Parameters{}, err
			}
			p.EvapK = append(p.EvapK, [2]float64{tc[0], v[0]})
			continue
		}
		dst, ok := named[name]
		if !ok {
			return Parameters{}, fmt.Errorf("sim: embedded parameters.csv row %d: unknown parameter %q", i+2, name)
		}
		*dst = v[0]
		seen[name] = true
	}
	for name := range named {
		if !seen[name] {
			return Parameters{}, fmt.Errorf("sim: embedded parameters.csv: %s missing", name)
		}
	}
	sort.Slice(p.EvapK, func(i, j int) bool { return p.EvapK[i][0] < p.EvapK[j][0] })
	if len(p.EvapK) < 2 {
		return Parameters{}, fmt.Errorf("sim: embedded parameters.csv: need at least two evap_k rows")
	}
	return p, nil
}
