package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// finding is a problem the figures show, the figures that show it, and
// what to do about it.
type finding struct {
	problem, evidence, advice string
}

func pct(v float64) string   { return strconv.FormatFloat(v*100, 'f', 2, 64) + "%" }
func m3(v float64) string    { return volume(v).String() + " m³" }
func plain(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// findings derives the report's problems from the figures alone: products
// over quota or above the plan's 2025 figure, a level-2 metering ratio
// below the minimum (equivalently, unaccounted water above 1 − minimum of
// the intake), balances outside tolerance, and points without data. The
// thresholds are the report's own (Report.Tolerance, MeteringRatioMin, the
// quota tables): nothing is judged against a number the report does not show.
func findings(d Doc) []finding {
	r := d.Report
	var out []finding
	for _, name := range sortedProducts(r.Products) {
		p := r.Products[name]
		if !p.IntakePerUnit.OK {
			continue
		}
		v := p.IntakePerUnit.Value
		unit := "m³/" + p.OutputUnit
		if p.Grade == "over" {
			last := p.Quotas[len(p.Quotas)-1]
			note := ""
			if !last.Verified {
				note = "（定额值未经核实 the quota value is unverified）"
			}
			out = append(out, finding{
				problem:  fmt.Sprintf("%s 单位产品取水量超定额 over quota", name),
				evidence: fmt.Sprintf("%s %s > %d级定额 grade %d limit %s %s (%s)%s", plain(round4(v)), unit, last.Grade, last.Grade, plain(last.Limit), unit, quotaSource(last), note),
				advice:   fmt.Sprintf("限期实施节水改造：查明 %s 生产线取水去向，提高循环和回用，改造后以计量数据证明低于定额。Retrofit within a deadline (限期节水改造) and prove with metered data that intake per unit is below the quota.", name),
			})
		}
		if t, ok := p.Plan.Target2025(); ok && v > t {
			out = append(out, finding{
				problem:  fmt.Sprintf("%s 单位产品取水量高于行动方案2025年预期 above the plan's 2025 figure", name),
				evidence: fmt.Sprintf("%s %s > %s %s（2020 基准 baseline %s，下降 decrease %s）", plain(round4(v)), unit, plain(t), unit, plain(p.Plan.Baseline), pct(p.Plan.Decrease)),
				advice:   "对标行业先进值制定节水计划，优先提高重复利用率。Set a water-saving plan against the industry's advanced value, reuse first.",
			})
		}
	}
	if m := r.MeteringRatio; m.OK && m.Value < r.MeteringRatioMin {
		out = append(out, finding{
			problem: "二级计量率低于要求，漏失或未计量水量偏高 metering ratio below the minimum; leakage or unmetered water too high",
			evidence: fmt.Sprintf("Σ二级 %s / 一级 %s = %s < %s；漏失 Vl = %s，漏失率 Kl = %s > %s",
				m3(r.Level2.Value), m3(r.Intake.Value), pct(m.Value), pct(r.MeteringRatioMin), m3(r.Leakage.Value), pct(r.LeakageRate.Value), pct(1-r.MeteringRatioMin)),
			advice: "开展管网查漏（夜间最小流量、分区计量），为未计量的用水单元加装二级水表。Survey the site network for leaks (night flow, district metering) and meter the units that have no level-2 meter.",
		})
	}
	if r.Within != nil && !*r.Within {
		out = append(out, finding{
			problem:  "企业水平衡误差超出允许范围 enterprise balance outside tolerance",
			evidence: fmt.Sprintf("|e| = %s > %s", pct(math.Abs(r.BalanceError.Value)), pct(r.Tolerance)),
			advice:   "校验一级、二级水表及耗水计量，复测后重新平衡。Check the level-1, level-2 and consumption meters, re-measure and balance again.",
		})
	}
	for _, u := range r.Units {
		if u.Within != nil && !*u.Within {
			out = append(out, finding{
				problem:  fmt.Sprintf("用水单元 %s 水平衡误差超出允许范围 unit balance outside tolerance", u.Unit),
				evidence: fmt.Sprintf("进 in %s，出 out %s，|e| = %s > %s", m3(u.In.Value), m3(u.Out.Value), pct(math.Abs(u.Error.Value)), pct(u.Tolerance)),
				advice:   "检查该单元的进出水表和耗水计量。Check the unit's inflow, outflow and consumption meters.",
			})
		}
	}
	if len(r.Missing) > 0 {
		missing := append([]string(nil), r.Missing...)
		sort.Strings(missing)
		out = append(out, finding{
			problem:  "部分计量点无测试期数据 points without data for the period",
			evidence: strings.Join(missing, ", ") + "：依赖这些点的数字未给出 figures that need them are not given",
			advice:   "排查通信和表计故障，补测后重新出具报告。Repair communication or meters and re-issue the report after re-measuring.",
		})
	}
	return out
}

// round4 rounds to four decimals, as intake per unit is printed in findings.
func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }
