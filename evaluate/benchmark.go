package evaluate

import (
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/shuixiao/shuixiao/balance"
)

// LeaderShare is the share of an industry's ranked enterprises, best first,
// among which water-efficiency leader (水效领跑者) candidates are sought:
// the best 5 %, and at least the best one. It is this platform's rule for
// proposing candidates, not a standard's: the national selection also
// weighs criteria the platform does not hold.
const LeaderShare = 0.05

// Entry is one enterprise's intake per unit of a product for a period.
type Entry struct {
	Enterprise string  `json:"enterprise"`
	Name       string  `json:"name"`
	Value      float64 `json:"value"` // m³ per unit of output
	Basis      string  `json:"basis"` // metered or declared
	// Evaluation is the outcome of the enterprise's evaluation ("passed",
	// "failed", "incomplete"; empty when none was made); Evaluated says one
	// was made from metered data, DataFailed that an item judged from data
	// failed in it (Result.DataFailed).
	Evaluation string `json:"evaluation"`
	Evaluated  bool   `json:"evaluated"`
	DataFailed bool   `json:"evaluation_data_failed"`
}

// Ranked is an entry with its place in the industry.
type Ranked struct {
	Entry
	Grade string `json:"grade"` // quota grade reached (balance.Grade); empty without a quota
	Rank  int    `json:"rank"`  // 1 is the lowest intake per unit; ties share a rank
	// Percentile is the share of the other enterprises with a higher (worse)
	// intake per unit, ties counted half, ×100: 100 is the best, 0 the
	// worst; a single enterprise is at 100.
	Percentile float64 `json:"percentile"`
	Leader     bool    `json:"leader_candidate"`
	// Why says why an enterprise in the best share is not a candidate.
	Why string `json:"why,omitempty"`
}

// Bar is the intake per unit a leader candidate must not exceed: grade 1
// of the product's quota table where the table has one, otherwise the
// plan's 2025 target for the product (balance/data/products.csv).
type Bar struct {
	Limit float64 `json:"limit"`
	What  string  `json:"what"`
}

// LeaderBar returns the bar of a product; false when neither a grade-1
// quota nor a 2025 target exists.
func LeaderBar(product string, quotas *balance.Quotas) (Bar, bool) {
	for _, q := range quotas.For(product) {
		if q.Grade == 1 {
			return Bar{Limit: q.Limit, What: fmt.Sprintf("quota grade 1 (%s %s)", q.Standard, q.Edition)}, true
		}
	}
	if p, ok := balance.LookupProduct(product); ok {
		if t, ok := p.Target2025(); ok {
			return Bar{Limit: t, What: "the plan's 2025 target (no grade-1 quota)"}, true
		}
	}
	return Bar{}, false
}

// Benchmark ranks entries of one product by intake per unit, lowest first,
// graded against quotas. A candidate for water-efficiency leader is among
// the best LeaderShare of the ranked enterprises (ceil(5 % of n), at least
// one; enterprises tied with that place included), is at or below the
// product's LeaderBar, and has a metered evaluation in which no item judged
// from data failed (the declared requirements, and the items its data could
// not decide, remain for the regulator to confirm). Entries whose value is not a positive finite number are left
// out.
func Benchmark(product string, quotas *balance.Quotas, entries []Entry) []Ranked {
	rs := []Ranked{}
	set := quotas.For(product)
	for _, e := range entries {
		if e.Value > 0 && !math.IsInf(e.Value, 0) {
			r := Ranked{Entry: e}
			if len(set) > 0 {
				r.Grade = balance.Grade(set, e.Value)
			}
			rs = append(rs, r)
		}
	}
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].Value != rs[j].Value {
			return rs[i].Value < rs[j].Value
		}
		return rs[i].Enterprise < rs[j].Enterprise
	})
	n := len(rs)
	top := max(1, int(math.Ceil(LeaderShare*float64(n))))
	bar, hasBar := LeaderBar(product, quotas)
	// rs is sorted, so the enterprises worse than rs[i] are those after its
	// last tie.
	for i := 0; i < n; {
		j := i
		for j+1 < n && rs[j+1].Value == rs[i].Value {
			j++
		}
		worse, ties := n-1-j, j-i
		for k := i; k <= j; k++ {
			rs[k].Rank = i + 1
			rs[k].Percentile = 100
			if n > 1 {
				rs[k].Percentile = 100 * (float64(worse) + 0.5*float64(ties)) / float64(n-1)
			}
			if rs[k].Rank <= top {
				rs[k].Leader, rs[k].Why = leader(rs[k], bar, hasBar)
			}
		}
		i = j + 1
	}
	return rs
}

func leader(r Ranked, bar Bar, hasBar bool) (bool, string) {
	switch {
	case !hasBar:
		return false, "no grade-1 quota and no 2025 target for the product"
	case r.Value > bar.Limit:
		return false, "above " + bar.What + ": " + strconv.FormatFloat(bar.Limit, 'g', -1, 64)
	case !r.Evaluated:
		return false, "no water-saving enterprise evaluation from metered data"
	case r.DataFailed:
		return false, "water-saving enterprise evaluation " + orNone(r.Evaluation) + ": an item judged from data failed"
	}
	return true, ""
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
