package sim

import (
	"context"
	"math"
	"net/http"
	"time"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/meter"
)

// Reported output (Config.ReportOutput): the simulated enterprises report
// their daily product output through POST /api/v1/production, as an
// enterprise's water manager would, so that intake per unit of product can
// be graded against the quotas.
//
// The output is made consistent with what the meters measure: the day's
// modelled intake (the level-1 intake points' flows integrated over the day
// as the meters see it: at Speed s a real day holds s model days, so the
// model volume over them divided by s) divided by the intake per unit the
// enterprise is assumed to achieve. Most simulated plants are assumed
// 20 % better than the plan's 2020 figure of their product (intake per unit
// 0.8 × the archetype's; that meets the 2025 targets and, where the 2020
// figure is the quota's least stringent limit, grade 3); among the
// enterprises whose product has a built-in quota every other one, at most
// two, is assumed 50 % worse (1.5 ×: over quota). The shares are demo
// assumptions, not data; metered intake differs from the model by the
// meters' errors (a few per cent).
const (
	efficientShare = 0.8
	overQuotaShare = 1.5
	maxOverQuota   = 2
)

// overQuota lists the enterprises the demo shows over quota.
func (s *Sim) overQuota() map[string]bool {
	over := map[string]bool{}
	withQuota := 0
	for _, e := range s.prov.Enterprises {
		p, ok := balance.LookupProduct(e.Archetype.Product)
		if !ok || len(balance.BuiltinQuotas().For(p.Name)) == 0 {
			continue
		}
		if withQuota%2 == 0 && len(over) < maxOverQuota {
			over[e.ID] = true
		}
		withQuota++
	}
	return over
}

// OverQuota reports whether the demo makes enterprise id over quota.
func (s *Sim) OverQuota(id string) bool { return s.overQuota()[id] }

// productionInput is a record of POST /api/v1/production.
type productionInput struct {
	Enterprise string  `json:"enterprise"`
	Kind       string  `json:"kind"`
	Product    string  `json:"product"`
	Quantity   float64 `json:"quantity"`
	Unit       string  `json:"unit"`
	From       string  `json:"from"`
	To         string  `json:"to"`
	Note       string  `json:"note,omitempty"`
}

// dayOutput is the records of the day starting at day (midnight, China
// time) for every enterprise whose product is in the plan's table.
func (s *Sim) dayOutput(day time.Time) []productionInput {
	over := s.overQuota()
	next := day.AddDate(0, 0, 1)
	var out []productionInput
	for _, e := range s.prov.Enterprises {
		p, ok := balance.LookupProduct(e.Archetype.Product)
		if !ok {
			continue
		}
		vol := e.Volumes(&s.prov.Params, s.modelTime(day), s.modelTime(next), time.Hour, nil)
		intake := 0.0
		for _, pt := range e.Points {
			if pt.Point.Level == meter.Level1 && pt.Point.Stage == meter.StageIntake {
				intake += pt.Spec.Flow(vol)
			}
		}
		intake /= s.cfg.Speed
		share, note := efficientShare, "simulated: modelled intake ÷ (0.8 × the 2020 intake per unit)"
		if over[e.ID] {
			share, note = overQuotaShare, "simulated: modelled intake ÷ (1.5 × the 2020 intake per unit): over quota by design"
		}
		if intake <= 0 {
			continue
		}
		d := day.Format(time.DateOnly)
		out = append(out, productionInput{Enterprise: e.ID, Kind: "output", Product: p.Name,
			Quantity: roundTo(intake/(share*e.Archetype.IntakePerUnit), 3), Unit: p.Unit, From: d, To: d, Note: note})
	}
	return out
}

func roundTo(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// reportOutput reports today's output, then each next day's at its start,
// until ctx ends. A day already reported (a restart) or overlapping another
// output record is answered 409 and left as the server has it.
func (s *Sim) reportOutput(ctx context.Context) {
	day := time.Now().In(ChinaTime)
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, ChinaTime)
	for {
		recs := s.dayOutput(day)
		if len(recs) > 0 {
			status, err := s.api.doStatus(ctx, http.MethodPost, "/api/v1/production", recs, nil)
			switch {
			case err == nil:
				s.logf("产量已填报 / output reported for %s: %d enterprises (%d over quota by design)", day.Format(time.DateOnly), len(recs), len(s.overQuota()))
			case status == http.StatusConflict || IsExists(err):
				// Reported before a restart, or overlapping another record
				// (say an annual one): the server kept what it had.
				s.logf("产量未重复填报 / output for %s not reported again: %v", day.Format(time.DateOnly), err)
			case ctx.Err() == nil:
				s.logf("产量填报失败 / output report for %s failed: %v", day.Format(time.DateOnly), err)
			}
		}
		day = day.AddDate(0, 0, 1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(day)):
		}
	}
}
