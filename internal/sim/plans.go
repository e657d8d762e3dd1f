package sim

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"time"

	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/waterplan"
)

// Demo plans and permits (计划用水, 取水许可). Every enterprise gets an annual
// plan 15 % above its metered year at the model's average day, split by
// days, and a permit for the source of its first intake point at 1.2 times
// that; to show the plan alarms within the demo, three enterprises (the
// first three) get plans sized to the metering that starts with the demo:
// the first's current month is its intake of about 3 minutes (over plan
// at the first plan check, 5 minutes in), the second's of about 6 minutes
// (80 % at 5 minutes, over at 10), and the third's permit is its intake of
// about 4 minutes.
// These are demo figures, not a plan anyone set.
func (s *Sim) declarePlans(ctx context.Context) {
	now := time.Now().In(ChinaTime)
	year, month := now.Year(), int(now.Month())
	stored := 0
	for i, e := range s.prov.Enterprises {
		annual, _, _ := e.meteredYear(&s.prov.Params, year)
		if !(annual > 0) {
			continue
		}
		perMinute := annual / (365 * 24 * 60)
		plan := waterplan.SplitEvenly(e.ID, year, math.Round(annual*1.15))
		switch i {
		case 0, 1:
			minutes := []float64{3, 6}[i]
			plan.Monthly[month-1] = math.Max(1, math.Round(perMinute*minutes))
		}
		body := map[string]any{"year": year, "annual_m3": plan.Annual(), "monthly_m3": plan.Monthly}
		if err := s.api.do(ctx, http.MethodPut, "/api/v1/enterprises/"+e.ID+"/plan", body, nil); err != nil {
			if ctx.Err() == nil {
				s.logf("用水计划未保存 / plan of %s not stored: %v", e.ID, err)
			}
			return
		}
		var src meter.Source
		for _, p := range e.Points {
			if p.Point.Level == meter.Level1 && p.Point.Stage == meter.StageIntake {
				src = p.Point.Source
				break
			}
		}
		if src != "" {
			volume := math.Round(annual * 1.2)
			if i == 2 {
				volume = math.Max(1, math.Round(perMinute*4))
			}
			id := fmt.Sprintf("取水(湘)字[%d]第%04d号", year-1, i+1)
			permit := map[string]any{"id": id, "enterprise": e.ID, "source": src, "annual_m3": volume,
				"valid_from": time.Date(year-1, 1, 1, 0, 0, 0, 0, ChinaTime), "valid_to": time.Date(year+4, 1, 1, 0, 0, 0, 0, ChinaTime)}
			if err := s.api.do(ctx, http.MethodPut, "/api/v1/permits/"+url.PathEscape(id), permit, nil); err != nil && ctx.Err() == nil {
				s.logf("取水许可未保存 / permit of %s not stored: %v", e.ID, err)
			}
		}
		stored++
	}
	s.logf("已设置用水计划和取水许可 / water-use plans and permits set: %d enterprises (demo figures; three sized to raise plan alarms)", stored)
}
