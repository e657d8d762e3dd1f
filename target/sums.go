package target

import (
	"math"
	"sort"
)

// Basis says where a figure comes from: meters on the ledger, or statistics
// an enterprise declared (a 2020 baseline, a year before its meters).
type Basis string

// Bases of a figure; a roll-up over both is mixed.
const (
	Metered  Basis = "metered"
	Declared Basis = "declared"
	Mixed    Basis = "mixed"
)

// Quantity is an optional figure.
type Quantity struct {
	Value float64
	OK    bool
}

// Known returns a present quantity.
func Known(v float64) Quantity { return Quantity{Value: v, OK: true} }

// Year is one enterprise's figures for one year (or the part of the current
// year the caller has data for). Water figures are m³ over the period,
// value added 10⁴ CNY (万元, comparable prices) over the same period.
type Year struct {
	Year            int
	Intake          Quantity // Vi
	ValueAdded      Quantity
	Reuse           Quantity // Vr: recirculated + cascaded
	NonConventional Quantity // Vn
	// Output is the period's output per product of the plan's table. Intake
	// per unit is counted for a single-product enterprise only: with several
	// products the share of intake each took is not metered (as in balance).
	Output map[string]float64
	Basis  Basis // of the water figures
}

// Pair is an indicator's numerator and denominator summed over units, in
// thousandths of their units (litres for m³, 10 CNY for 10⁴ CNY, kg for
// tonnes), so that sums are exact whatever the order of addition, and the
// number of enterprises that contributed, by basis.
type Pair struct {
	Num, Den int64
	Metered  int // enterprises with a metered figure
	Declared int // enterprises with a declared figure
}

// Add adds q to p.
func (p Pair) Add(q Pair) Pair {
	return Pair{Num: p.Num + q.Num, Den: p.Den + q.Den, Metered: p.Metered + q.Metered, Declared: p.Declared + q.Declared}
}

// Ratio is Num/Den; false when Den is zero.
func (p Pair) Ratio() (float64, bool) {
	if p.Den == 0 {
		return 0, false
	}
	return float64(p.Num) / float64(p.Den), true
}

// Basis is metered, declared or mixed by the contributing enterprises;
// empty when none contributed.
func (p Pair) Basis() Basis {
	switch {
	case p.Metered > 0 && p.Declared > 0:
		return Mixed
	case p.Metered > 0:
		return Metered
	case p.Declared > 0:
		return Declared
	}
	return ""
}

// Enterprises is the number of enterprises that contributed.
func (p Pair) Enterprises() int { return p.Metered + p.Declared }

// Milli converts a figure to thousandths of its unit, rounded.
func Milli(v float64) int64 { return int64(math.Round(v * 1000)) }

// Sums are a unit's pairs by indicator key.
type Sums map[string]Pair

// add adds o into s.
func (s Sums) add(o Sums) {
	for k, p := range o {
		s[k] = s[k].Add(p)
	}
}

// Keys returns the keys of s: the targets' keys first, then products by name.
func (s Sums) Keys() []string {
	var out, prods []string
	for _, t := range targets {
		if _, ok := s[t.Key]; ok {
			out = append(out, t.Key)
		}
	}
	for k := range s {
		if _, ok := find(targets, k); !ok {
			prods = append(prods, k)
		}
	}
	sort.Strings(prods)
	return append(out, prods...)
}

// YearSums turns one enterprise-year into pairs. An indicator needs both
// of its parts: intake per value added needs intake and value added; the
// reuse rate Vr/(Vr+Vi) needs reuse and intake, and like any target of
// scope above_scale an above-scale enterprise; the non-conventional rate
// Vn/Vi needs both, and like any target of scope parks an enterprise inside
// a park; a product's intake per unit needs intake and the output of an
// enterprise's single product. An indicator without its parts, or whose
// target does not apply to the enterprise (m), is left out, so the
// enterprise does not count towards it (coverage says so).
func YearSums(y Year, m Member) Sums {
	s := Sums{}
	one := Pair{}
	switch y.Basis {
	case Metered:
		one.Metered = 1
	case Declared:
		one.Declared = 1
	default:
		return s
	}
	put := func(key string, num, den float64) {
		if t, ok := find(targets, key); ok && !t.Applies(m) {
			return
		}
		if den <= 0 || num < 0 || math.IsNaN(num) || math.IsNaN(den) || math.IsInf(num, 0) || math.IsInf(den, 0) {
			return
		}
		p := one
		p.Num, p.Den = Milli(num), Milli(den)
		if p.Den == 0 {
			return
		}
		s[key] = p
	}
	if !y.Intake.OK {
		return s
	}
	vi := y.Intake.Value
	if y.ValueAdded.OK {
		put(KeyIntensity, vi, y.ValueAdded.Value)
	}
	if y.Reuse.OK {
		put(KeyReuse, y.Reuse.Value, y.Reuse.Value+vi)
	}
	if y.NonConventional.OK {
		put(KeyNonConventional, y.NonConventional.Value, vi)
	}
	if len(y.Output) == 1 {
		for name, q := range y.Output {
			if _, ok := Lookup(ProductKey(name)); ok {
				put(ProductKey(name), vi, q)
			}
		}
	}
	return s
}
