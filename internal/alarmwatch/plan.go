package alarmwatch

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/planuse"
	"github.com/shuixiao/shuixiao/internal/store"
)

// Plan alarm scopes: the current month's intake against its plan, the year
// to date against the plan to date, and a permit's use against its annual
// volume. An alarm's kind is "plan-<scope>-<threshold in %>", e.g.
// "plan-month-80", one per enterprise, so that an enterprise at 100 % of
// its month has the 80 % and the 100 % alarm open.
const (
	PlanScopeMonth  = "month"
	PlanScopeYear   = "year"
	PlanScopePermit = "permit"
)

// PlanKind is the alarm kind of a scope and threshold.
func PlanKind(scope string, threshold float64) string {
	return fmt.Sprintf("plan-%s-%s", scope, strings.TrimSuffix(fmt.Sprintf("%.1f", threshold*100), ".0"))
}

// PlanBoards is what the plan check reads: the year's tracking
// (planuse.Service).
type PlanBoards interface {
	Board(ctx context.Context, year int) (*planuse.Board, error)
}

// PlanCheck configures the periodic plan and permit check.
type PlanCheck struct {
	Boards PlanBoards
	// Every is how often the check runs; default 5 min.
	Every time.Duration
	// Location sets the year; default Asia/Shanghai (store default).
	Location *time.Location
}

// planAlarm is an alarm the board calls for.
type planAlarm struct {
	kind, enterprise, message string
	threshold                 float64
}

// planAlarms lists the alarms a board calls for, at its thresholds: for
// each enterprise, every threshold reached by the share of its current
// month (the board's last month), of its year to date and of its most used
// permit.
func planAlarms(b *planuse.Board) []planAlarm {
	var out []planAlarm
	current := int(b.Through.Add(-time.Nanosecond).In(b.Through.Location()).Month())
	ids := make([]string, 0, len(b.Statuses))
	for id := range b.Statuses {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		st := b.Statuses[id]
		for _, t := range b.Thresholds {
			if n := len(st.Months); n > 0 && st.Months[n-1].Month == current && st.Months[n-1].Share >= t {
				m := st.Months[n-1]
				out = append(out, planAlarm{kind: PlanKind(PlanScopeMonth, t), enterprise: id, threshold: t,
					message: fmt.Sprintf("用水超计划预警 / Monthly plan: %s %d-%02d intake %.0f m³ is %.0f %% of the month's plan %.0f m³ (≥ %.0f %%)",
						id, st.Year, m.Month, m.IntakeM3, 100*m.Share, m.PlanM3, 100*t)})
			}
			if st.ShareToDate >= t {
				out = append(out, planAlarm{kind: PlanKind(PlanScopeYear, t), enterprise: id, threshold: t,
					message: fmt.Sprintf("年度计划预警 / Plan to date: %s %d intake %.0f m³ is %.0f %% of the plan to date %.0f m³ (≥ %.0f %%)",
						id, st.Year, st.IntakeM3, 100*st.ShareToDate, st.PlanToDateM3, 100*t)})
			}
			var over []string
			for _, p := range st.Permits {
				if p.Share >= t {
					over = append(over, fmt.Sprintf("%s (%s) %.0f of %.0f m³, %.0f %%", p.Permit.ID, p.Permit.Source, p.IntakeM3, p.Permit.AnnualM3, 100*p.Share))
				}
			}
			if len(over) > 0 {
				out = append(out, planAlarm{kind: PlanKind(PlanScopePermit, t), enterprise: id, threshold: t,
					message: fmt.Sprintf("取水许可预警 / Permit use ≥ %.0f %%: %s", 100*t, strings.Join(over, "; "))})
			}
		}
	}
	return out
}

// checkPlans raises the plan alarms the current year's board calls for
// and clears the open ones it no longer does (a new month, a new year, a
// plan or permit raised). It reads the open alarms from the store, so it
// needs no state across restarts.
func (m *Monitor) checkPlans(ctx context.Context) {
	c := m.opts.Plan
	loc := c.Location
	if loc == nil {
		loc = store.DefaultLocation()
	}
	b, err := c.Boards.Board(ctx, m.opts.Now().In(loc).Year())
	if err != nil {
		m.opts.Logger.Error("plan check", "error", err)
		return
	}
	m.applyPlanAlarms(ctx, b)
}

func (m *Monitor) applyPlanAlarms(ctx context.Context, b *planuse.Board) {
	want := map[string]planAlarm{}
	for _, a := range planAlarms(b) {
		want[a.kind+"\x00"+a.enterprise] = a
	}
	// Every open plan alarm, whatever its threshold: one of a threshold
	// no longer configured is cleared too.
	as, err := m.opts.Store.Alarms(ctx, alarm.Filter{Open: true, Limit: 1000000})
	if err != nil {
		m.opts.Logger.Error("plan check", "error", err)
		return
	}
	open := map[string]alarm.Alarm{}
	for _, a := range as {
		if strings.HasPrefix(a.Kind, "plan-") {
			open[a.Kind+"\x00"+a.Enterprise] = a
		}
	}
	now := m.opts.Now()
	for k, a := range open {
		if _, ok := want[k]; ok {
			continue
		}
		c, err := m.opts.Store.ClearAlarm(ctx, a.ID, "system", now, "below the threshold again / 已回落至阈值以下")
		if err != nil {
			m.opts.Logger.Error("clear plan alarm", "alarm", a.ID, "error", err)
			continue
		}
		m.opts.Notify(c)
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := open[k]; ok {
			continue
		}
		w := want[k]
		sev := alarm.SeverityWarning
		if w.threshold >= 1 {
			sev = alarm.SeverityMajor
		}
		a, _, err := m.opts.Store.RaiseAlarm(ctx, alarm.Alarm{Kind: w.kind, Severity: sev, Enterprise: w.enterprise, Raised: now, Message: w.message})
		if err != nil {
			m.opts.Logger.Error("raise plan alarm", "enterprise", w.enterprise, "error", err)
			continue
		}
		m.opts.Notify(a)
	}
}
