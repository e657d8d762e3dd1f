package meter

import "sort"

// TrustMixed is the trust level of figures whose meters do not all sign
// alike (some meter-signed, some gateway-signed).
const TrustMixed = "mixed"

// TrustSummary says where the readings behind a figure were signed: Level
// is meter-signed or gateway-signed when all the meters behind it sign
// alike, mixed otherwise (empty when there are no meters); Meters gives
// each meter's level and Gateways the gateways that sign for them.
type TrustSummary struct {
	Level    string            `json:"level"`
	Meters   map[string]string `json:"meters"`
	Gateways []string          `json:"gateways,omitempty"`
}

// TrustOf summarises the trust levels of meters.
func TrustOf(ms []Meter) TrustSummary {
	t := TrustSummary{Meters: make(map[string]string, len(ms))}
	gws := map[string]bool{}
	for _, m := range ms {
		lvl := m.Trust()
		t.Meters[m.ID] = lvl
		switch {
		case t.Level == "":
			t.Level = lvl
		case t.Level != lvl:
			t.Level = TrustMixed
		}
		if m.Gateway != "" && !gws[m.Gateway] {
			gws[m.Gateway] = true
			t.Gateways = append(t.Gateways, m.Gateway)
		}
	}
	sort.Strings(t.Gateways)
	return t
}

// BalanceTrust is the trust of an enterprise's balance: each point's
// summary (the figures of volumes and the Sankey are per point) and the
// level of the whole (mixed as soon as points differ).
type BalanceTrust struct {
	Level  string                  `json:"level"`
	Points map[string]TrustSummary `json:"points"`
}

// BalanceTrustOf is the trust of a balance over the meters of an
// enterprise: the level of them all and each point's summary.
func BalanceTrustOf(ms []Meter) BalanceTrust {
	byPoint := map[string][]Meter{}
	for _, m := range ms {
		byPoint[m.Point] = append(byPoint[m.Point], m)
	}
	out := BalanceTrust{Level: TrustOf(ms).Level, Points: make(map[string]TrustSummary, len(byPoint))}
	for pt, pms := range byPoint {
		out.Points[pt] = TrustOf(pms)
	}
	return out
}

// PointsByLevel lists the points of each trust level, sorted: what a
// report states beside the overall level.
func (b BalanceTrust) PointsByLevel() map[string][]string {
	out := map[string][]string{}
	for pt, t := range b.Points {
		out[t.Level] = append(out[t.Level], pt)
	}
	for _, pts := range out {
		sort.Strings(pts)
	}
	return out
}
