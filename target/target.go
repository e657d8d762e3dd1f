// Package target tracks the Hunan plan's province targets for industrial
// water efficiency (湖南省工业水效提升三年行动方案 2023–2025): water intake
// per 10⁴ CNY of industrial value added 16 % below 2020, a reuse rate of about
// 94 %, a non-conventional substitution rate of at least 10 % in industrial
// parks, and the plan's product table (balance/data/products.csv).
//
// It rolls enterprises' yearly figures up province → city → park →
// enterprise and province → industry (GB/T 4754) → enterprise. Every ratio
// is recomputed from summed numerators and denominators, kept as integers
// in thousandths of their unit, so that a parent's sums equal the sums of
// its children exactly. Progress is measured against a straight trajectory
// from the 2020 value to the 2025 target, and the enterprises and parks
// that pull a figure furthest from its trajectory are named with a
// contribution that sums, over all of them, to the whole gap (Contribution).
//
// The package is pure: figures come in as data, nothing is read from a
// store or a clock.
package target

import (
	"embed"
	"fmt"
	"math"
	"strconv"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/internal/table"
	"github.com/shuixiao/shuixiao/meter"
)

// Base and end years of the plan's trajectory.
const (
	BaseYear   = 2020
	TargetYear = 2025
)

// Indicator keys. A product's intake per unit has the key ProductKey(name).
const (
	KeyIntensity       = "intake_per_10k_cny"
	KeyReuse           = "reuse_rate"
	KeyNonConventional = "non_conventional_rate"
	productPrefix      = "product:"
)

// ProductKey is the indicator key of a product's intake per unit.
func ProductKey(product string) string { return productPrefix + product }

// Target is one of the plan's province targets (data/targets.csv).
type Target struct {
	Key    string
	NameZH string
	NameEN string
	Unit   string
	// Relative: Value is a change of the 2020 value (−0.16 is 16 % lower);
	// otherwise Value is the 2025 figure itself.
	Relative  bool
	Lower     bool    // lower is better
	Value     float64 // see Relative
	ParksOnly bool    // applies to enterprises inside industrial parks only
	// AboveScaleOnly: applies to above-scale industrial enterprises only
	// (规模以上工业企业).
	AboveScaleOnly bool
	Source         string
	Verified       bool
}

// Target2025 is the 2025 target for a unit whose 2020 value is base
// (needed only for a relative target).
func (t Target) Target2025(base float64, hasBase bool) (float64, bool) {
	if !t.Relative {
		return t.Value, true
	}
	if !hasBase {
		return 0, false
	}
	return base * (1 + t.Value), true
}

//go:embed data/targets.csv
var tables embed.FS

var targets = mustTargets()

func mustTargets() []Target {
	ts, err := loadTargets()
	if err != nil {
		panic("target: embedded " + err.Error()) // a build defect, not input
	}
	return ts
}

func loadTargets() ([]Target, error) {
	h, rows, err := table.Read(tables, "data/targets.csv")
	if err != nil {
		return nil, err
	}
	var out []Target
	for i, r := range rows {
		t := Target{Key: r[h["key"]], NameZH: r[h["name_zh"]], NameEN: r[h["name_en"]], Unit: r[h["unit"]],
			Source: r[h["source"]], Verified: r[h["verified"]] == "yes"}
		switch r[h["kind"]] {
		case "relative":
			t.Relative = true
		case "absolute":
		default:
			return nil, fmt.Errorf("targets.csv row %d, field kind: %q", i+1, r[h["kind"]])
		}
		switch r[h["direction"]] {
		case "lower":
			t.Lower = true
		case "higher":
		default:
			return nil, fmt.Errorf("targets.csv row %d, field direction: %q", i+1, r[h["direction"]])
		}
		switch r[h["scope"]] {
		case "parks":
			t.ParksOnly = true
		case "above_scale":
			t.AboveScaleOnly = true
		case "all":
		default:
			return nil, fmt.Errorf("targets.csv row %d, field scope: %q", i+1, r[h["scope"]])
		}
		if t.Value, err = strconv.ParseFloat(r[h["target_2025"]], 64); err != nil || math.IsNaN(t.Value) || math.IsInf(t.Value, 0) {
			return nil, fmt.Errorf("targets.csv row %d, field target_2025: %q", i+1, r[h["target_2025"]])
		}
		out = append(out, t)
	}
	for _, k := range []string{KeyIntensity, KeyReuse, KeyNonConventional} {
		if _, ok := find(out, k); !ok {
			return nil, fmt.Errorf("targets.csv: no row for %s", k)
		}
	}
	return out, nil
}

func find(ts []Target, key string) (Target, bool) {
	for _, t := range ts {
		if t.Key == key {
			return t, true
		}
	}
	return Target{}, false
}

// Member says which scoped targets an enterprise counts towards.
type Member struct {
	InPark     bool // inside an industrial park
	AboveScale bool // an above-scale industrial enterprise
}

// MemberOf is an enterprise's membership.
func MemberOf(e meter.Enterprise) Member {
	return Member{InPark: e.Park != "", AboveScale: e.AboveScale}
}

// Applies reports whether the target counts an enterprise of membership m.
func (t Target) Applies(m Member) bool {
	return (!t.ParksOnly || m.InPark) && (!t.AboveScaleOnly || m.AboveScale)
}

// scoped reports whether t counts only some enterprises.
func (t Target) scoped() bool { return t.ParksOnly || t.AboveScaleOnly }

// Targets returns the plan's province targets (not the product table).
func Targets() []Target { return append([]Target(nil), targets...) }

// Lookup returns the target of an indicator key: one of Targets, or for
// ProductKey(p) the plan's product p, whose 2025 figure is its 2020 intake
// per unit less the expected decrease.
func Lookup(key string) (Target, bool) {
	if t, ok := find(targets, key); ok {
		return t, true
	}
	if len(key) <= len(productPrefix) || key[:len(productPrefix)] != productPrefix {
		return Target{}, false
	}
	p, ok := balance.LookupProduct(key[len(productPrefix):])
	if !ok {
		return Target{}, false
	}
	return Target{Key: key, NameZH: p.Name + "单位产品取水量", NameEN: "Water intake per unit of " + p.Name,
		Unit: "m3/" + p.Unit, Relative: true, Lower: true, Value: -p.Decrease,
		Source: "balance/data/products.csv (the plan's product table)", Verified: true}, true
}

// productBaseline is the plan's 2020 figure of a product key, if any: a
// product's baseline is the plan's province average, not a unit's own 2020
// value.
func productBaseline(key string) (float64, bool) {
	if len(key) <= len(productPrefix) || key[:len(productPrefix)] != productPrefix {
		return 0, false
	}
	p, ok := balance.LookupProduct(key[len(productPrefix):])
	if !ok || !p.HasBaseline {
		return 0, false
	}
	return p.Baseline, true
}

// Expected is the straight trajectory's value for year: the 2020 value at
// 2020, the 2025 target at 2025 and after, linear between. Years before
// 2020 get the 2020 value.
func Expected(base, target2025 float64, year int) float64 {
	switch {
	case year <= BaseYear:
		return base
	case year >= TargetYear:
		return target2025
	}
	return base + (target2025-base)*float64(year-BaseYear)/float64(TargetYear-BaseYear)
}

// OnTrack reports whether value is at or better than expected for a target
// in direction lower (lower is better) or higher.
func OnTrack(value, expected float64, lower bool) bool {
	if lower {
		return value <= expected
	}
	return value >= expected
}
