package target

import (
	"math"
	"sort"
)

// Indicator is one figure of a unit for a year against the plan.
type Indicator struct {
	Key          string   `json:"key"`
	NameZH       string   `json:"name_zh"`
	NameEN       string   `json:"name_en"`
	Unit         string   `json:"unit"`
	Lower        bool     `json:"lower_is_better"`
	Baseline2020 *float64 `json:"baseline_2020"` // the unit's own 2020 value; a product's is the plan's province figure
	Value        *float64 `json:"value"`
	Target2025   *float64 `json:"target_2025"`
	Expected     *float64 `json:"expected"` // the straight trajectory's value for the year
	OnTrack      *bool    `json:"on_track"`
	Basis        Basis    `json:"basis"` // empty when no enterprise contributed
	Coverage     Coverage `json:"coverage"`
	Verified     bool     `json:"verified"` // the target's source was checked
	Source       string   `json:"source"`
}

// Coverage says how many of the enterprises an indicator applies to
// contributed to it.
type Coverage struct {
	Enterprises int     `json:"enterprises"` // under the unit, in the indicator's scope
	WithData    int     `json:"with_data"`
	Fraction    float64 `json:"fraction"`
}

// Child is a child unit's indicators.
type Child struct {
	Level      Level       `json:"level"`
	Code       string      `json:"code"`
	Name       string      `json:"name"`
	NameEN     string      `json:"name_en,omitempty"`
	Indicators []Indicator `json:"indicators"`
}

// Contributor is an enterprise or park that pulls a figure away from its
// trajectory (see Contribution).
type Contributor struct {
	Kind         Level   `json:"kind"` // enterprise or park
	ID           string  `json:"id"`
	Name         string  `json:"name"`
	Key          string  `json:"key"`
	Value        float64 `json:"value"` // its own figure
	Contribution float64 `json:"contribution"`
}

// Point is one year of a unit's trajectory.
type Point struct {
	Year     int      `json:"year"`
	Key      string   `json:"key"`
	Value    *float64 `json:"value"`
	Expected *float64 `json:"expected"`
}

// Report is a unit's progress for a year: its indicators, its children's,
// the worst contributors and the trajectory from 2020 to the year.
type Report struct {
	Level      Level         `json:"level"`
	Code       string        `json:"code"`
	Name       string        `json:"name"`
	NameEN     string        `json:"name_en,omitempty"`
	Year       int           `json:"year"`
	Indicators []Indicator   `json:"indicators"`
	Children   []Child       `json:"children"`
	Worst      []Contributor `json:"worst"`
	Trajectory []Point       `json:"trajectory"`
}

// WorstPerKey bounds the contributors listed per indicator and kind.
const WorstPerKey = 5

// Progress reports unit u for year.
func Progress(u *Unit, year int) Report {
	r := Report{Level: u.Level, Code: u.Code, Name: u.Name, NameEN: u.NameEN, Year: year,
		Children: []Child{}, Worst: []Contributor{}, Trajectory: []Point{}}
	keys := u.keys()
	for _, k := range keys {
		r.Indicators = append(r.Indicators, u.indicator(k, year))
	}
	for _, c := range u.Children {
		ch := Child{Level: c.Level, Code: c.Code, Name: c.Name, NameEN: c.NameEN}
		for _, k := range keys {
			ch.Indicators = append(ch.Indicators, c.indicator(k, year))
		}
		r.Children = append(r.Children, ch)
	}
	for _, k := range keys {
		r.Worst = append(r.Worst, worst(u, k, year, LevelEnterprise)...)
		if !u.byIndustry {
			r.Worst = append(r.Worst, worst(u, k, year, LevelPark)...)
		}
	}
	for y := BaseYear; y <= year; y++ {
		for _, k := range keys {
			ind := u.indicator(k, y)
			r.Trajectory = append(r.Trajectory, Point{Year: y, Key: k, Value: ind.Value, Expected: ind.Expected})
		}
	}
	return r
}

// keys are the plan's targets and every product with figures in any year.
func (u *Unit) keys() []string {
	all := Sums{}
	for _, t := range targets {
		all[t.Key] = Pair{}
	}
	for _, s := range u.Years {
		for k := range s {
			all[k] = Pair{}
		}
	}
	return all.Keys()
}

// ratio is u's figure for key in year.
func (u *Unit) ratio(key string, year int) (float64, bool) {
	return u.Years[year][key].Ratio()
}

// trajectory returns u's 2020 value, 2025 target and the expected value for
// year, each when known. A product's 2020 value and 2025 target are the
// plan's; the other targets start from u's own 2020 figure.
func (u *Unit) trajectory(t Target, year int) (base, t25, exp *float64) {
	b, hasBase := productBaseline(t.Key)
	if !hasBase {
		b, hasBase = u.ratio(t.Key, BaseYear)
	}
	if hasBase {
		base = &b
	}
	v, ok := t.Target2025(b, hasBase)
	if !ok {
		return base, nil, nil
	}
	v = math.Round(v*1e6) / 1e6
	t25 = &v
	if hasBase {
		e := Expected(b, v, year)
		exp = &e
	}
	return base, t25, exp
}

func (u *Unit) indicator(key string, year int) Indicator {
	t, _ := Lookup(key)
	p := u.Years[year][key]
	ind := Indicator{Key: key, NameZH: t.NameZH, NameEN: t.NameEN, Unit: t.Unit, Lower: t.Lower,
		Basis: p.Basis(), Verified: t.Verified, Source: t.Source}
	ind.Coverage = Coverage{Enterprises: u.Enterprises(key), WithData: p.Enterprises()}
	if ind.Coverage.Enterprises > 0 {
		ind.Coverage.Fraction = float64(ind.Coverage.WithData) / float64(ind.Coverage.Enterprises)
	}
	if v, ok := p.Ratio(); ok {
		ind.Value = &v
	}
	ind.Baseline2020, ind.Target2025, ind.Expected = u.trajectory(t, year)
	if ind.Value != nil && ind.Expected != nil {
		on := OnTrack(*ind.Value, *ind.Expected, t.Lower)
		ind.OnTrack = &on
	}
	return ind
}

// Contribution is how far a part pulls its whole away from the reference:
// the whole's figure for year on its trajectory (Expected), or, without a
// trajectory, the whole's own figure. For a whole with numerator N and
// denominator D and a part with n and d,
//
//	contribution = (n − ref·d) / D      (lower is better)
//	contribution = (ref·d − n) / D      (higher is better)
//
// in the indicator's unit. Over all enterprises of the whole the
// contributions sum to the whole's shortfall against the reference (value −
// ref, or ref − value), so a positive contribution is the part of the gap
// the part is responsible for; against the whole's own figure they sum to
// zero and a positive one marks a part worse than the whole.
func Contribution(whole, part Pair, ref float64, lower bool) (float64, bool) {
	if whole.Den == 0 || part.Den == 0 {
		return 0, false
	}
	c := (float64(part.Num) - ref*float64(part.Den)) / float64(whole.Den)
	if !lower {
		c = -c
	}
	return c, true
}

// worst lists the WorstPerKey units of kind under u with the largest
// positive contribution to key in year.
func worst(u *Unit, key string, year int, kind Level) []Contributor {
	t, _ := Lookup(key)
	whole := u.Years[year][key]
	ref, ok := whole.Ratio()
	if !ok {
		return nil
	}
	if _, _, exp := u.trajectory(t, year); exp != nil {
		ref = *exp
	}
	var out []Contributor
	for _, c := range u.Children {
		c.walk(func(x *Unit) {
			if x.Level != kind {
				return
			}
			p := x.Years[year][key]
			con, ok := Contribution(whole, p, ref, t.Lower)
			if !ok || con <= 0 {
				return
			}
			v, _ := p.Ratio()
			out = append(out, Contributor{Kind: kind, ID: x.Code, Name: x.Name, Key: key, Value: v, Contribution: con})
		})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Contribution != out[j].Contribution {
			return out[i].Contribution > out[j].Contribution
		}
		return out[i].ID < out[j].ID
	})
	if len(out) > WorstPerKey {
		out = out[:WorstPerKey]
	}
	return out
}
