package balance

import (
	"embed"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/shuixiao/shuixiao/internal/table"
)

//go:embed data/*.csv
var tables embed.FS

// OutputUnits are the units of output intake per unit is counted in: tonne,
// kilolitre, 100 metres of cloth (百米), air-dry tonne of pulp.
var OutputUnits = []string{"t", "kL", "100m", "Adt"}

// outputUnit returns the unit of output spelt s in any letter case
// ("kl", "ADT") as OutputUnits spells it.
func outputUnit(s string) (string, bool) {
	for _, u := range OutputUnits {
		if strings.EqualFold(s, u) {
			return u, true
		}
	}
	return "", false
}

// Product is a product of the plan's table (data/products.csv): its unit of
// output and, where the plan gives them, its 2020 intake per unit and the
// expected decrease by 2025.
type Product struct {
	Name        string
	Industry    string
	Unit        string // unit of output, one of OutputUnits
	Baseline    float64
	HasBaseline bool
	Decrease    float64 // fraction
}

// Target2025 is the 2025 expected intake per unit: the 2020 figure less the
// expected decrease, rounded to 10⁻⁶ m³.
func (p Product) Target2025() (float64, bool) {
	if !p.HasBaseline {
		return 0, false
	}
	return math.Round(p.Baseline*(1-p.Decrease)*1e6) / 1e6, true
}

var products = mustProducts()

func mustProducts() map[string]Product {
	m, err := loadProducts()
	if err != nil {
		panic("balance: embedded " + err.Error()) // a build defect, not input
	}
	return m
}

func loadProducts() (map[string]Product, error) {
	h, rows, err := table.Read(tables, "data/products.csv")
	if err != nil {
		return nil, err
	}
	m := map[string]Product{}
	for i, r := range rows {
		p := Product{Name: r[h["product"]], Industry: r[h["industry"]], Unit: r[h["unit"]]}
		if !contains(OutputUnits, p.Unit) {
			return nil, fmt.Errorf("products.csv row %d, field unit: unknown unit %q", i+1, p.Unit)
		}
		if s := r[h["baseline_2020"]]; s != "" {
			if p.Baseline, err = parseDecimal(s); err != nil || p.Baseline <= 0 {
				return nil, fmt.Errorf("products.csv row %d, field baseline_2020: %q", i+1, s)
			}
			p.HasBaseline = true
		}
		if p.Decrease, err = parseDecimal(r[h["decrease_2025"]]); err != nil || p.Decrease < 0 || p.Decrease >= 1 {
			return nil, fmt.Errorf("products.csv row %d, field decrease_2025: %q", i+1, r[h["decrease_2025"]])
		}
		if _, dup := m[p.Name]; dup {
			return nil, fmt.Errorf("products.csv row %d, field product: %s twice", i+1, p.Name)
		}
		m[p.Name] = p
	}
	return m, nil
}

// normalName writes a product name as the plan does: full-width
// parentheses, no spaces.
func normalName(s string) string {
	return strings.NewReplacer("(", "（", ")", "）", " ", "", "\u3000", "").Replace(strings.TrimSpace(s))
}

// LookupProduct returns the plan's product of that name; ASCII parentheses
// and spaces are accepted for the plan's full-width ones.
func LookupProduct(name string) (Product, bool) {
	p, ok := products[normalName(name)]
	return p, ok
}

// ProductNames lists the plan's product names, sorted.
func ProductNames() []string { return productNames() }

func productNames() []string {
	names := make([]string, 0, len(products))
	for n := range products {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Quota is one grade of a product's water-intake quota (取水定额).
type Quota struct {
	Product  string  `json:"-"`
	Unit     string  `json:"-"`     // m3/<unit of output>
	Grade    int     `json:"grade"` // 1 is the table's most stringent
	Label    string  `json:"label,omitempty"`
	Limit    float64 `json:"limit"`
	Standard string  `json:"standard,omitempty"`
	Edition  string  `json:"edition,omitempty"`
	Verified bool    `json:"verified"`
	Source   string  `json:"source,omitempty"`
	At       string  `json:"-"` // where it was read, for messages
}

func (q Quota) where() string {
	if q.At == "" {
		return "quota of " + q.Product
	}
	return q.At
}

// Quotas are validated quota tables by product, each sorted by grade.
type Quotas struct {
	byProduct map[string][]Quota
}

// For returns the product's quotas, most stringent grade first.
func (q *Quotas) For(product string) []Quota { return q.byProduct[product] }

// gradeLabels maps the grade names of the standards to grades: the 2020+
// GB/T 18916 editions' 1级/2级/3级, the older 先进企业/新建企业/现有企业,
// and a two-value table's 先进值/通用值.
var gradeLabels = map[string]int{
	"1": 1, "2": 2, "3": 3, "1级": 1, "2级": 2, "3级": 3, "一级": 1, "二级": 2, "三级": 3,
	"先进企业": 1, "新建企业": 2, "现有企业": 3, "先进值": 1, "通用值": 2,
}

// quotasFromCSV reads quota rows (columns as data/quotas.csv) and validates them.
func quotasFromCSV(f *csvFile) (*Quotas, error) {
	var qs []Quota
	for i := range f.rows {
		q := Quota{Product: normalName(f.cell(i, "product")), Unit: f.cell(i, "unit"), Standard: f.cell(i, "standard"),
			Edition: f.cell(i, "edition"), Label: f.cell(i, "label"), Source: f.cell(i, "source"), At: f.where(i)}
		g := f.cell(i, "grade")
		var ok bool
		if q.Grade, ok = gradeLabels[g]; !ok {
			return nil, fmt.Errorf("%s: unknown grade %q (1, 2, 3 or 先进值/通用值, 先进企业/新建企业/现有企业)", f.at(i, "grade"), g)
		}
		if q.Label == "" && g != strconv.Itoa(q.Grade) {
			q.Label = g
		}
		var err error
		if q.Limit, err = f.number(i, "limit", 0, 1e6); err != nil {
			return nil, err
		}
		switch v := f.cell(i, "verified"); v {
		case "yes":
			q.Verified = true
		case "no", "":
		default:
			return nil, fmt.Errorf("%s: %q is not yes or no", f.at(i, "verified"), v)
		}
		qs = append(qs, q)
	}
	return NewQuotas(qs)
}

// NewQuotas validates quota rows: each product known, in its unit
// (m3/<unit of output>), with a positive limit, no grade twice, no grade
// missing between its first and last, and limits that do not fall as the
// grades get less stringent. Errors name the row and field.
func NewQuotas(rows []Quota) (*Quotas, error) {
	q := &Quotas{byProduct: map[string][]Quota{}}
	for _, r := range rows {
		p, ok := LookupProduct(r.Product)
		if !ok {
			return nil, fmt.Errorf("%s, field product: unknown product %q", r.where(), r.Product)
		}
		unit, ok := "", len(r.Unit) > 3 && strings.EqualFold(r.Unit[:3], "m3/")
		if ok {
			unit, ok = outputUnit(r.Unit[3:])
		}
		if !ok {
			return nil, fmt.Errorf("%s, field unit: unknown unit %q (m3/ and one of %s)", r.where(), r.Unit, strings.Join(OutputUnits, ", "))
		}
		r.Unit = "m3/" + unit
		if r.Unit != "m3/"+p.Unit {
			return nil, fmt.Errorf("%s, field unit: %s is counted in m3/%s, not %s", r.where(), p.Name, p.Unit, r.Unit)
		}
		if r.Grade < 1 || r.Grade > 3 {
			return nil, fmt.Errorf("%s, field grade: grade %d is not 1, 2 or 3", r.where(), r.Grade)
		}
		if !(r.Limit > 0) || math.IsInf(r.Limit, 0) {
			return nil, fmt.Errorf("%s, field limit: %v is not a positive limit", r.where(), r.Limit)
		}
		for _, o := range q.byProduct[p.Name] {
			if o.Grade == r.Grade {
				return nil, fmt.Errorf("%s, field grade: %s grade %d already given (%s)", r.where(), p.Name, r.Grade, o.where())
			}
		}
		r.Product = p.Name
		q.byProduct[p.Name] = append(q.byProduct[p.Name], r)
	}
	for _, name := range sortedKeys(q.byProduct) {
		set := q.byProduct[name]
		sort.Slice(set, func(i, j int) bool { return set[i].Grade < set[j].Grade })
		for i := 1; i < len(set); i++ {
			prev, cur := set[i-1], set[i]
			if cur.Grade != prev.Grade+1 {
				return nil, fmt.Errorf("%s, field grade: %s has grades %d and %d but no grade %d", cur.where(), name, prev.Grade, cur.Grade, prev.Grade+1)
			}
			if cur.Limit < prev.Limit {
				return nil, fmt.Errorf("%s, field limit: %s grade %d limit %v is below grade %d limit %v (grades must not get stricter)",
					cur.where(), name, cur.Grade, cur.Limit, prev.Grade, prev.Limit)
			}
		}
	}
	return q, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var builtinQuotas = mustBuiltinQuotas()

func mustBuiltinQuotas() *Quotas {
	h, rows, err := table.Read(tables, "data/quotas.csv")
	if err != nil {
		panic("balance: embedded " + err.Error())
	}
	f := &csvFile{name: "data/quotas.csv", row: "data row", cols: h, rows: rows}
	for i := range rows {
		f.lines = append(f.lines, i+1)
	}
	q, err := quotasFromCSV(f)
	if err != nil {
		panic("balance: embedded " + err.Error())
	}
	return q
}

// BuiltinQuotas returns the quota tables shipped in data/quotas.csv.
func BuiltinQuotas() *Quotas { return builtinQuotas }

// Grade returns the most stringent grade whose limit is at least v ("1",
// "2" or "3"), or "over" when v exceeds every limit (standards.md §4.2).
func Grade(set []Quota, v float64) string {
	for _, q := range set {
		if v <= q.Limit {
			return strconv.Itoa(q.Grade)
		}
	}
	return "over"
}

// ProductResult is a product's intake per unit against its quota and the plan.
type ProductResult struct {
	Quantity      float64
	OutputUnit    string
	IntakePerUnit Figure
	Quotas        []Quota // the product's quota table, most stringent first
	Grade         string  // "1", "2", "3", "over"; empty without a figure or a quota
	Plan          Product
}

// ProductFigures gives each product's intake per unit of product, graded
// against quotas and set against the plan's 2020 figure and 2025 target.
// Intake per unit is Vi / Q for a single-product enterprise. With several
// products the share of the intake each took is not metered, so the
// figure is absent rather than a guess.
func ProductFigures(intake Figure, prod []Production, quotas *Quotas) map[string]ProductResult {
	out := map[string]ProductResult{}
	var names []string
	for _, p := range prod {
		names = append(names, p.Product)
	}
	for _, p := range prod {
		plan, _ := LookupProduct(p.Product)
		r := ProductResult{Quantity: p.Quantity, OutputUnit: p.Unit, Plan: plan, Quotas: quotas.For(plan.Name)}
		if len(prod) > 1 {
			r.IntakePerUnit = absent("%s", bi("单位产品取水量：多种产品（"+strings.Join(names, ", ")+"）共用取水，其分摊未计量；请按产品分别以其生产线取水计算", "intake per unit: several products ("+strings.Join(names, ", ")+") share the intake and their shares are not metered; run once per product with the intake of its production lines"))
		} else {
			r.IntakePerUnit = quotient(intake, known(p.Quantity, ""), term{p.Product + "单位产品取水量", "intake per unit of " + p.Product})
		}
		if r.IntakePerUnit.OK && len(r.Quotas) > 0 {
			r.Grade = Grade(r.Quotas, r.IntakePerUnit.Value)
		}
		out[p.Product] = r
	}
	return out
}

// MarshalJSON writes a product's entry of RESULT.json (docs/balance.md).
func (r ProductResult) MarshalJSON() ([]byte, error) {
	m := map[string]any{
		"quantity":          r.Quantity,
		"output_unit":       r.OutputUnit,
		"unit":              "m3/" + r.OutputUnit,
		"intake_per_unit":   r.IntakePerUnit.Number(),
		"coverage":          r.IntakePerUnit.Coverage(),
		"quota_grade":       nil,
		"quota_limits":      nonNilQuotas(r.Quotas),
		"quota_verified":    nil,
		"baseline_2020":     nil,
		"decrease_2025":     r.Plan.Decrease,
		"target_2025":       nil,
		"meets_target_2025": nil,
	}
	if r.Grade != "" {
		m["quota_grade"] = r.Grade
	}
	if len(r.Quotas) > 0 {
		v := true
		for _, q := range r.Quotas {
			v = v && q.Verified
		}
		m["quota_verified"] = v
	}
	if r.Plan.HasBaseline {
		m["baseline_2020"] = r.Plan.Baseline
	}
	if t, ok := r.Plan.Target2025(); ok {
		m["target_2025"] = t
		if r.IntakePerUnit.OK {
			m["meets_target_2025"] = r.IntakePerUnit.Value <= t
		}
	}
	return json.Marshal(m)
}

func nonNilQuotas(q []Quota) []Quota {
	if q == nil {
		return []Quota{}
	}
	return q
}

// JudgeProduct applies the coverage rules to a product's figure of a
// period balance: no figure unless the declared output covers the whole
// period (outputCoverage, a fraction); a lower bound, graded only when
// already over quota, when an intake point lacks data for part of the
// period (coverage per point, PeriodVolumes). The platform
// (internal/efficiency) and the independent verifier both apply it.
func JudgeProduct(p ProductResult, outputCoverage float64, intake Figure, coverage map[string]float64) ProductResult {
	if outputCoverage < 1 {
		p.IntakePerUnit = Figure{Points: p.IntakePerUnit.Points, Missing: p.IntakePerUnit.Missing,
			Note: bif("%s单位产品取水量：产量仅申报了期间的 %.1f %%", "intake per unit of %s: output is reported for %.1f %% of the period only", p.Plan.Name, 100*outputCoverage)}
		p.Grade = ""
		return p
	}
	if !p.IntakePerUnit.OK {
		return p
	}
	if partial := PartialPoints(intake.Points, coverage); len(partial) > 0 {
		p.IntakePerUnit.Note = bif("下限：取水计量点 %s 在期间内部分时段无数据", "lower bound: intake points %s lack data for part of the period", strings.Join(partial, ", "))
		if p.Grade != "over" {
			p.Grade = ""
		}
	}
	return p
}

// PartialPoints lists the points whose coverage is below 1.
func PartialPoints(points []string, coverage map[string]float64) []string {
	var out []string
	for _, id := range points {
		if c, ok := coverage[id]; ok && c < 1 {
			out = append(out, id)
		}
	}
	return out
}
