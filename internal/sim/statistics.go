package sim

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
)

// Declared statistics (Config.ReportOutput): so that the province's target
// pages show a trajectory from 2020, every simulated enterprise declares its
// annual statistics for 2020 to last year — intake, reuse, non-conventional
// water, value added and, for a product of the plan's table, output — and
// its value added month by month for this year, through POST
// /api/v1/production. They are declared records (reported by a person, not
// metered) and their notes say they are simulated.
//
// They are made consistent with what the meters show: an enterprise's
// current year is its metered water at the model's average day (twelve
// sample days, one a month) over 365 days; its water intensity today
// (intake per 10⁴ CNY of value added) is drawn between 18 and 42 m³/万元
// (Hunan's 2022 average was 33.85, seed text line 35); going back to 2020
// its intensity rises linearly by a share drawn between 5 % and 45 % (the
// plan asks for 16 % less by 2025, so some enterprises are on track and some
// are not), its value added falls by 6 % a year, its reuse rate falls by
// 0.5 to 3 points and its non-conventional share halves by 2020; its output
// is this year's intake over the intake per unit output.go reports it at,
// with intake per unit rising back to 2020 as intensity does. The draws
// come from the enterprise's key, so a province is the same every run.
// These are demo assumptions, not data.
const (
	valueAddedGrowth = 0.06
	statisticsNote   = "simulated declared statistics (demo assumption, not data)"
)

// Statistics are the figures an enterprise declares for one year.
type Statistics struct {
	Year            int
	Intake          float64 // m³
	Reuse           float64 // m³
	NonConventional float64 // m³
	ValueAdded      float64 // 10⁴ CNY
	Output          float64 // in the plan product's unit; 0 when the product is not in the plan's table
}

// draw is a number in [lo, hi) from the enterprise's key and a salt.
func (e *Enterprise) draw(salt uint64, lo, hi float64) float64 {
	x := (e.Key ^ salt) * 0x9E3779B97F4A7C15
	x ^= x >> 31
	return lo + (hi-lo)*float64(x>>11)/float64(1<<53)
}

// meteredYear is the enterprise's water over a year at the model's average
// day as its meters measure it (meter bias included).
func (e *Enterprise) meteredYear(params *Parameters, year int) (intake, reuse, nonConv float64) {
	points := make([]meter.Point, len(e.Points))
	for i, pt := range e.Points {
		points[i] = pt.Point
	}
	for m := 1; m <= 12; m++ {
		day := time.Date(year, time.Month(m), 15, 0, 0, 0, 0, ChinaTime)
		vol := e.Volumes(params, day, day.Add(24*time.Hour), 30*time.Minute, nil)
		v := balance.Volumes{}
		for _, pt := range e.Points {
			if _, ok := balance.VolumeChannel(pt.Point); ok {
				v[pt.ID] = pt.Spec.Flow(vol) * (1 + pt.Meter.Bias)
			}
		}
		r := balance.Evaluate(points, v, balance.Options{Settings: balance.DefaultSettings()})
		intake += r.Intake.Value
		reuse += r.Reuse.Value
		nonConv += r.NonConventional.Value
	}
	k := 365.0 / 12
	return intake * k, reuse * k, nonConv * k
}

// DeclaredStatistics returns the enterprise's declared statistics for 2020
// to last, and its figures for this year (year last+1), by the rule above.
// perUnit is the intake per unit of product the enterprise achieves this
// year, as its reported output makes it (output.go); going back, intake per
// unit rises as intensity does, so output follows value added.
func (e *Enterprise) DeclaredStatistics(params *Parameters, last int, perUnit float64) (past []Statistics, thisYear Statistics) {
	intake, reuse, nonConv := e.meteredYear(params, last+1)
	intensity := e.draw(0x1a7e, 18, 42)
	improved := e.draw(0x2b8f, 0.05, 0.45)
	reuseGain := e.draw(0x3c90, 0.005, 0.03)
	va := intake / intensity
	rate := 0.0
	if intake+reuse > 0 {
		rate = reuse / (intake + reuse)
	}
	nc := 0.0
	if intake > 0 {
		nc = nonConv / intake
	}
	output := 0.0
	if _, ok := balance.LookupProduct(e.Archetype.Product); ok && perUnit > 0 {
		output = intake / perUnit
	}
	span := float64(last + 1 - 2020)
	for y := 2020; y <= last; y++ {
		back := float64(last+1-y) / span // 1 in 2020, falling to 1/span last year
		s := Statistics{Year: y, ValueAdded: va / math.Pow(1+valueAddedGrowth, float64(last+1-y))}
		s.Intake = intensity * (1 + improved*back) * s.ValueAdded
		r := math.Max(0, rate-reuseGain*back)
		s.Reuse = s.Intake * r / (1 - r)
		s.NonConventional = s.Intake * nc * (1 - 0.5*back)
		s.Output = output * s.ValueAdded / va // intake per unit × (1 + improved·back), as intensity
		past = append(past, s)
	}
	return past, Statistics{Year: last + 1, Intake: intake, Reuse: reuse, NonConventional: nonConv, ValueAdded: va, Output: output}
}

// statisticsRecords are the production records of every enterprise's
// declared statistics for 2020 to last year and its monthly value added
// for this year up to the month of now.
func (s *Sim) statisticsRecords(now time.Time) []productionInput {
	now = now.In(ChinaTime)
	over := s.overQuota()
	var out []productionInput
	for _, e := range s.prov.Enterprises {
		share := efficientShare
		if over[e.ID] {
			share = overQuotaShare
		}
		past, cur := e.DeclaredStatistics(&s.prov.Params, now.Year()-1, share*e.Archetype.IntakePerUnit)
		p, hasProduct := balance.LookupProduct(e.Archetype.Product)
		rec := func(kind production.Kind, q float64, unit, product string, from, to time.Time) {
			out = append(out, productionInput{Enterprise: e.ID, Kind: string(kind), Product: product, Quantity: q, Unit: unit,
				From: from.Format(time.DateOnly), To: to.AddDate(0, 0, -1).Format(time.DateOnly), Note: statisticsNote})
		}
		for _, st := range past {
			from, to := time.Date(st.Year, 1, 1, 0, 0, 0, 0, ChinaTime), time.Date(st.Year+1, 1, 1, 0, 0, 0, 0, ChinaTime)
			rec(production.Intake, roundTo(st.Intake, 0), production.UnitVolume, "", from, to)
			rec(production.Reuse, roundTo(st.Reuse, 0), production.UnitVolume, "", from, to)
			rec(production.NonConventional, roundTo(st.NonConventional, 0), production.UnitVolume, "", from, to)
			rec(production.ValueAdded, roundTo(st.ValueAdded, 1), production.UnitValueAdded, "", from, to)
			if hasProduct && st.Output > 0 {
				rec(production.Output, roundTo(st.Output, 1), p.Unit, p.Name, from, to)
			}
		}
		for m := time.January; m <= now.Month(); m++ {
			from := time.Date(now.Year(), m, 1, 0, 0, 0, 0, ChinaTime)
			to := from.AddDate(0, 1, 0)
			days := to.Sub(from).Hours() / 24
			rec(production.ValueAdded, roundTo(cur.ValueAdded*days/365, 1), production.UnitValueAdded, "", from, to)
		}
	}
	return out
}

// declareStatistics posts the declared statistics, in parts small enough
// for one request each. A part already stored (a restart) is answered 409
// and left as it is.
func (s *Sim) declareStatistics(ctx context.Context) {
	recs := s.statisticsRecords(time.Now())
	const part = 500
	stored := 0
	for i := 0; i < len(recs); i += part {
		chunk := recs[i:min(i+part, len(recs))]
		status, err := s.api.doStatus(ctx, http.MethodPost, "/api/v1/production", chunk, nil)
		switch {
		case err == nil:
			stored += len(chunk)
		case status == http.StatusConflict || IsExists(err):
		case ctx.Err() == nil:
			s.logf("申报统计数据失败 / declared statistics not stored: %v", err)
			return
		}
	}
	s.logf("%s", fmt.Sprintf("已申报统计数据 / declared statistics stored: %d records (2020–%d and this year's value added; simulated)", stored, time.Now().In(ChinaTime).Year()-1))
}
