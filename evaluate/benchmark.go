package evaluate

import (
	"math"
	"sort"
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
	// Grade is the quota grade reached ("1", "2", "3", "over"; empty
	// without a quota); see balance.Grade.
	Grade string `json:"grade"`
	// Evaluation is the outcome of the enterprise's evaluation ("passed",
	// "failed", "incomplete"; empty when none was made).
	Evaluation string `json:"evaluation"`
}

// Ranked is an entry with its place in the industry.
type Ranked struct {
	Entry
	Rank int `json:"rank"` // 1 is the lowest intake per unit; ties share a rank
	// Percentile is the share of the other enterprises with a higher (worse)
	// intake per unit, ties counted half, ×100: 100 is the best, 0 the
	// worst; a single enterprise is at 100.
	Percentile float64 `json:"percentile"`
	Leader     bool    `json:"leader_candidate"`
	// Why says why a top enterprise is not a candidate.
	Why string `json:"why,omitempty"`
}

// Benchmark ranks entries by intake per unit, lowest first. A candidate for
// water-efficiency leader is among the best LeaderShare of the ranked
// enterprises (ceil(5 % of n), at least one; ties with the last place
// included), reaches quota grade 1, and has passed its water-saving
// enterprise evaluation. Entries with a value that is not a positive
// finite number are left out.
func Benchmark(entries []Entry) []Ranked {
	var rs []Ranked
	for _, e := range entries {
		if e.Value > 0 && !math.IsInf(e.Value, 0) {
			rs = append(rs, Ranked{Entry: e})
		}
	}
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].Value != rs[j].Value {
			return rs[i].Value < rs[j].Value
		}
		return rs[i].Enterprise < rs[j].Enterprise
	})
	n := len(rs)
	top := int(math.Ceil(LeaderShare * float64(n)))
	if top < 1 {
		top = 1
	}
	for i := range rs {
		worse, ties := 0, 0
		for j := range rs {
			switch {
			case j == i:
			case rs[j].Value > rs[i].Value:
				worse++
			case rs[j].Value == rs[i].Value:
				ties++
			}
		}
		rs[i].Rank = n - worse - ties
		rs[i].Percentile = 100
		if n > 1 {
			rs[i].Percentile = 100 * (float64(worse) + 0.5*float64(ties)) / float64(n-1)
		}
		if rs[i].Rank > top {
			continue // outside the best share
		}
		switch {
		case rs[i].Grade != "1":
			rs[i].Why = "quota grade " + orNone(rs[i].Grade) + ", not 1"
		case rs[i].Evaluation != "passed":
			rs[i].Why = "water-saving enterprise evaluation " + orNone(rs[i].Evaluation)
		default:
			rs[i].Leader = true
		}
	}
	return rs
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
