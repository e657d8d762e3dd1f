package sim

import (
	"context"
	"math"
	"net/http"
	"time"

	"github.com/shuixiao/shuixiao/balance"
)

// Reported output (Config.ReportOutput): the simulated enterprises report
// their daily product output through POST /api/v1/production, as an
// enterprise's water manager would, so that intake per unit of product can
// be graded against the quotas.
//
// What a plant made is its production pattern integrated over the day, as
// its meters see the day: at Speed s a real day holds s model days, so the
// day's output is the model output over those days divided by s, which
// keeps output and metered intake in step. Each enterprise reports that
// output times its efficiency factor: most simulated plants are assumed
// 15 % more water-efficient than the plan's 2020 average they are
// calibrated to (factor 1.15: intake per unit ≈ 0.87 of the 2020 figure);
// among the enterprises whose product has a built-in quota every other one,
// at most two, runs its water systems at design flow while making 35 % less
// product (a line down: factor 0.65, intake per unit ≈ 1.5× the 2020
// figure) and so is over quota. The factors are demo assumptions, not data.
const (
	efficientFactor = 1.15
	overQuotaFactor = 0.65
	maxOverQuota    = 2
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
		made := e.Output(s.modelTime(day), s.modelTime(next), time.Hour) / s.cfg.Speed
		factor, note := efficientFactor, "simulated: output of the production pattern × 1.15 (efficient plant)"
		if over[e.ID] {
			factor, note = overQuotaFactor, "simulated: output of the production pattern × 0.65 (a line down, water at design flow)"
		}
		d := day.Format(time.DateOnly)
		out = append(out, productionInput{Enterprise: e.ID, Kind: "output", Product: p.Name, Quantity: roundTo(made*factor, 3),
			Unit: p.Unit, From: d, To: d, Note: note})
	}
	return out
}

func roundTo(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// reportOutput reports today's output, then each next day's at its start,
// until ctx ends. A day already reported (a restart) is answered 409 and
// left as it is.
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
				// already reported
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
