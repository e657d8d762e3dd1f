// Package evaluate judges an enterprise as a water-saving enterprise
// (节水型企业) in the structure of GB/T 7119-2018 《节水型企业评价导则》:
// every basic requirement (基本要求) must pass, and each technical indicator
// of the period's balance is compared with its industry's threshold; each
// product's intake per unit must be within its quota. It also benchmarks the
// enterprises of an industry by intake per unit of product, with
// percentiles, and names the candidates for water-efficiency leader
// (水效领跑者, see Benchmark).
//
// The requirements and thresholds are data (data/requirements.csv,
// data/thresholds.csv) with their source and a verified flag; none could be
// checked against the standards' own text (reference/standards.md §2), so
// all are shown unverified. The package is pure.
package evaluate

import (
	"embed"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/internal/table"
)

//go:embed data/*.csv
var tables embed.FS

// Check is how a basic requirement is decided.
type Check string

// Checks: from the period's balance, or declared by the enterprise or the
// evaluator.
const (
	CheckMetering Check = "metering"
	CheckBalance  Check = "balance"
	CheckDeclared Check = "declared"
)

// Requirement is a basic requirement (data/requirements.csv).
type Requirement struct {
	ID       string `json:"id"`
	NameZH   string `json:"name_zh"`
	NameEN   string `json:"name_en"`
	Check    Check  `json:"check"`
	Verified bool   `json:"verified"`
}

// Threshold is an industry's threshold of one indicator
// (data/thresholds.csv).
type Threshold struct {
	Industry     string  `json:"industry"` // GB/T 4754 code or code prefix
	IndustryName string  `json:"industry_name"`
	Indicator    string  `json:"indicator"` // balance report key
	AtLeast      bool    `json:"at_least"`  // value ≥ limit; else value ≤ limit
	Limit        float64 `json:"limit"`
	Source       string  `json:"source"`
	Verified     bool    `json:"verified"`
}

// Pass reports whether v meets the threshold.
func (t Threshold) Pass(v float64) bool {
	if t.AtLeast {
		return v >= t.Limit
	}
	return v <= t.Limit
}

var requirements, thresholds = mustTables()

func mustTables() ([]Requirement, []Threshold) {
	rs, ts, err := loadTables()
	if err != nil {
		panic("evaluate: embedded " + err.Error()) // a build defect, not input
	}
	return rs, ts
}

func loadTables() ([]Requirement, []Threshold, error) {
	h, rows, err := table.Read(tables, "data/requirements.csv")
	if err != nil {
		return nil, nil, err
	}
	var rs []Requirement
	for i, r := range rows {
		q := Requirement{ID: r[h["id"]], NameZH: r[h["name_zh"]], NameEN: r[h["name_en"]], Check: Check(r[h["check"]]), Verified: r[h["verified"]] == "yes"}
		switch q.Check {
		case CheckMetering, CheckBalance, CheckDeclared:
		default:
			return nil, nil, fmt.Errorf("requirements.csv row %d, field check: %q", i+1, q.Check)
		}
		rs = append(rs, q)
	}
	if h, rows, err = table.Read(tables, "data/thresholds.csv"); err != nil {
		return nil, nil, err
	}
	var ts []Threshold
	for i, r := range rows {
		t := Threshold{Industry: r[h["industry"]], IndustryName: r[h["industry_name"]], Indicator: r[h["indicator"]],
			Source: r[h["source"]], Verified: r[h["verified"]] == "yes"}
		switch r[h["op"]] {
		case "ge":
			t.AtLeast = true
		case "le":
		default:
			return nil, nil, fmt.Errorf("thresholds.csv row %d, field op: %q", i+1, r[h["op"]])
		}
		if t.Limit, err = strconv.ParseFloat(r[h["limit"]], 64); err != nil || t.Limit < 0 || t.Limit > 1 {
			return nil, nil, fmt.Errorf("thresholds.csv row %d, field limit: %q is not a fraction", i+1, r[h["limit"]])
		}
		for _, o := range ts {
			if o.Industry == t.Industry && o.Indicator == t.Indicator {
				return nil, nil, fmt.Errorf("thresholds.csv row %d: %s %s twice", i+1, t.Industry, t.Indicator)
			}
		}
		ts = append(ts, t)
	}
	return rs, ts, nil
}

// Requirements returns the basic requirements.
func Requirements() []Requirement { return append([]Requirement(nil), requirements...) }

// Thresholds returns the thresholds that apply to an industry (GB/T 4754
// code): for each indicator the row with the longest code prefix of it.
func Thresholds(industry string) []Threshold {
	best := map[string]Threshold{}
	for _, t := range thresholds {
		if !strings.HasPrefix(industry, t.Industry) {
			continue
		}
		if o, ok := best[t.Indicator]; !ok || len(t.Industry) > len(o.Industry) {
			best[t.Indicator] = t
		}
	}
	out := make([]Threshold, 0, len(best))
	for _, t := range best {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Indicator < out[j].Indicator })
	return out
}

// Status is the outcome of one item.
type Status string

// Outcomes: pass, fail, or unknown (not declared, or the figure is absent).
const (
	Pass    Status = "pass"
	Fail    Status = "fail"
	Unknown Status = "unknown"
)

// Input is what an evaluation is made from.
type Input struct {
	Industry string         // GB/T 4754 code
	Balance  balance.Report // the period's balance (usually a year)
	// Declared are the answers given for the declared requirements, by ID;
	// a requirement without an answer is unknown.
	Declared map[string]bool
	// Answers are the stored answers (any order, history included); the
	// latest to each requirement decides it and is shown with who gave it
	// and when. An answer here wins over Declared.
	Answers []Answer
}

// Item is one requirement or indicator of an evaluation.
type Item struct {
	ID       string   `json:"id"`
	NameZH   string   `json:"name_zh,omitempty"`
	NameEN   string   `json:"name_en,omitempty"`
	Status   Status   `json:"status"`
	Value    *float64 `json:"value,omitempty"`
	Limit    *float64 `json:"limit,omitempty"`
	Op       string   `json:"op,omitempty"` // ">=" or "<="
	Basis    string   `json:"basis,omitempty"`
	Note     string   `json:"note,omitempty"`
	Verified bool     `json:"verified"`
	Source   string   `json:"source,omitempty"`
	// Answer is the latest stored answer of a declared requirement.
	Answer *Answer `json:"answer,omitempty"`
}

// Result is an evaluation. Passed is true only when every requirement and
// every indicator passes; Outcome is "passed", "failed" (something fails)
// or "incomplete" (nothing fails but something is unknown).
type Result struct {
	Industry     string `json:"industry"`
	Outcome      string `json:"outcome"`
	Passed       bool   `json:"passed"`
	Requirements []Item `json:"requirements"`
	Indicators   []Item `json:"indicators"`
	Products     []Item `json:"products"`
	// DataPassed is true when every item judged from data (not declared)
	// passed: what the platform can say without the declared answers.
	DataPassed bool `json:"data_passed"`
	// DataFailed is true when an item judged from data failed (one that
	// could not be judged, for want of a figure, does not count).
	DataFailed bool `json:"data_failed"`
	// Unverified is true when a table row the result relies on is not
	// verified against its standard.
	Unverified bool `json:"unverified"`
}

// Evaluate judges one enterprise.
func Evaluate(in Input) Result {
	r := Result{Industry: in.Industry, Requirements: []Item{}, Indicators: []Item{}, Products: []Item{}}
	figs := in.Balance.Figures()
	answers := Latest(in.Answers)
	for _, q := range requirements {
		it := Item{ID: q.ID, NameZH: q.NameZH, NameEN: q.NameEN, Verified: q.Verified, Status: Unknown}
		switch q.Check {
		case CheckMetering:
			it.Basis = "metered"
			intake, ratio := figs["intake_m3"], figs["metering_ratio"]
			switch {
			case !intake.OK:
				it.Note = "level-1 intake has no volume for the period: " + intake.Note
			case !ratio.OK:
				it.Note = "no level-2 metering ratio: " + ratio.Note
			default:
				v, lim := ratio.Value, in.Balance.MeteringRatioMin
				it.Value, it.Limit, it.Op = &v, &lim, ">="
				it.Status = statusOf(v >= lim)
			}
		case CheckBalance:
			it.Basis = "metered"
			e := figs["balance_error"]
			if e.OK && in.Balance.Within != nil {
				v, lim := e.Value, in.Balance.Tolerance
				it.Value, it.Limit, it.Op = &v, &lim, "|e| <="
				it.Status = statusOf(*in.Balance.Within)
			} else {
				it.Note = "the period's balance cannot be closed: " + e.Note
			}
		case CheckDeclared:
			it.Basis = "declared"
			if a, ok := answers[q.ID]; ok {
				it.Status, it.Answer = statusOf(a.Met), &a
			} else if v, ok := in.Declared[q.ID]; ok {
				it.Status = statusOf(v)
			} else {
				it.Note = "not declared"
			}
		}
		r.Requirements = append(r.Requirements, it)
	}
	for _, t := range Thresholds(in.Industry) {
		it := Item{ID: t.Indicator, NameZH: t.IndustryName, Verified: t.Verified, Source: t.Source, Basis: "metered", Status: Unknown}
		lim := t.Limit
		it.Limit, it.Op = &lim, map[bool]string{true: ">=", false: "<="}[t.AtLeast]
		if f, ok := figs[t.Indicator]; ok && f.OK {
			v := f.Value
			it.Value = &v
			it.Status = statusOf(t.Pass(v))
		} else {
			it.Note = "figure absent"
			if ok {
				it.Note = f.Note
			}
		}
		r.Indicators = append(r.Indicators, it)
	}
	for _, name := range sortedProducts(in.Balance.Products) {
		p := in.Balance.Products[name]
		it := Item{ID: name, Basis: "metered", Status: Unknown, Op: "<=", Verified: len(p.Quotas) > 0}
		for _, q := range p.Quotas {
			it.Verified = it.Verified && q.Verified
		}
		switch {
		case !p.IntakePerUnit.OK:
			it.Note = p.IntakePerUnit.Note
		case len(p.Quotas) == 0:
			it.Note = "no quota for " + name
		default:
			v, lim := p.IntakePerUnit.Value, p.Quotas[len(p.Quotas)-1].Limit
			it.Value, it.Limit = &v, &lim
			it.Status = statusOf(p.Grade != "over")
			it.Note = "quota grade " + p.Grade
		}
		r.Products = append(r.Products, it)
	}
	anyFail, anyUnknown := false, false
	r.DataPassed = true
	for _, list := range [][]Item{r.Requirements, r.Indicators, r.Products} {
		for _, it := range list {
			anyFail = anyFail || it.Status == Fail
			anyUnknown = anyUnknown || it.Status == Unknown
			r.Unverified = r.Unverified || !it.Verified
			if it.Basis != "declared" && it.Status != Pass {
				r.DataPassed = false
			}
			if it.Basis != "declared" && it.Status == Fail {
				r.DataFailed = true
			}
		}
	}
	switch {
	case anyFail:
		r.Outcome = "failed"
	case anyUnknown:
		r.Outcome = "incomplete"
	default:
		r.Outcome, r.Passed = "passed", true
	}
	return r
}

func statusOf(ok bool) Status {
	if ok {
		return Pass
	}
	return Fail
}

func sortedProducts(m map[string]balance.ProductResult) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
