package alarmwatch

import (
	"context"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/planuse"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/waterplan"
)

// boardAt is a board of enterprise E in November 2026 with the shares
// given: the month's, the year to date's and one permit's.
func boardAt(month, toDate, permit float64, thresholds ...float64) *planuse.Board {
	cst := time.FixedZone("CST", 8*3600)
	st := waterplan.Status{Enterprise: "E", Year: 2026, Through: 11, ShareToDate: toDate, IntakeM3: toDate * 1000, PlanToDateM3: 1000,
		Months:  []waterplan.MonthStatus{{Month: 10, Share: 2}, {Month: 11, Share: month, PlanM3: 100, IntakeM3: 100 * month}},
		Permits: []waterplan.PermitStatus{{Permit: waterplan.Permit{ID: "P-1", Enterprise: "E", Source: meter.SourceGround, AnnualM3: 500}, IntakeM3: 500 * permit, Share: permit}}}
	return &planuse.Board{Year: 2026, Through: time.Date(2026, 11, 28, 2, 0, 0, 0, cst), Thresholds: thresholds,
		Statuses: map[string]waterplan.Status{"E": st}}
}

// Plan alarms open at their shares and clear when the share falls below
// them (a new month), checked against the store's open alarms.
func TestPlanAlarmsAtTheirShares(t *testing.T) {
	st, clk := fixture(t)
	ctx := context.Background()
	var notified []string
	m := New(Options{Store: st, Now: clk.now, Logger: slog.New(slog.DiscardHandler), Notify: func(a alarm.Alarm) { notified = append(notified, string(a.State)+":"+a.Kind) }})
	open := func() string {
		as, err := st.Alarms(ctx, alarm.Filter{Enterprise: "E", Open: true})
		if err != nil {
			t.Fatal(err)
		}
		var ks []string
		for _, a := range as {
			if strings.HasPrefix(a.Kind, "plan-") {
				ks = append(ks, a.Kind+"/"+string(a.Severity))
			}
		}
		sort.Strings(ks)
		return strings.Join(ks, " ")
	}
	for _, c := range []struct {
		name                  string
		month, toDate, permit float64
		want                  string
	}{
		{"below every share", 0.79, 0.5, 0.2, ""},
		{"month at 80 %", 0.8, 0.5, 0.2, "plan-month-80/warning"},
		{"month at 100 %, permit at 85 %", 1.0, 0.7, 0.85, "plan-month-100/major plan-month-80/warning plan-permit-80/warning"},
		{"again: nothing repeated", 1.0, 0.7, 0.85, "plan-month-100/major plan-month-80/warning plan-permit-80/warning"},
		{"month back to 90 %, year to date 120 %", 0.9, 1.2, 0.85, "plan-month-80/warning plan-permit-80/warning plan-year-100/major plan-year-80/warning"},
		{"new month", 0.1, 0.79, 1.0, "plan-permit-100/major plan-permit-80/warning"},
	} {
		m.applyPlanAlarms(ctx, boardAt(c.month, c.toDate, c.permit, 0.8, 1.0))
		if got := open(); got != c.want {
			t.Errorf("%s: open %q, want %q", c.name, got, c.want)
		}
	}
	as, _ := st.Alarms(ctx, alarm.Filter{Kind: "plan-month-80"})
	if len(as) != 1 || as[0].Count != 1 || as[0].State != alarm.Cleared || !strings.Contains(as[0].Message, "2026-11") {
		t.Errorf("month alarm %+v", as)
	}
	if len(notified) != 10 { // 6 raised, 4 cleared
		t.Errorf("notified %v", notified)
	}
	// Configurable shares: at 90 % only, an 85 % permit raises nothing.
	m.applyPlanAlarms(ctx, boardAt(0.1, 0.1, 0.85, 0.9))
	if got := open(); got != "" {
		t.Errorf("at 90 %%: %q", got)
	}
}

func TestPlanKind(t *testing.T) {
	for th, want := range map[float64]string{0.8: "plan-month-80", 1: "plan-month-100", 0.955: "plan-month-95.5"} {
		if got := PlanKind(PlanScopeMonth, th); got != want {
			t.Errorf("%g: %s", th, got)
		}
	}
}
