package efficiency_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/efficiency"
	et "github.com/shuixiao/shuixiao/internal/efficiency/efficiencytest"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/quotacase"
)

// TestCaseLifeCycle follows a retrofit case with an injected clock: a dye
// works over quota in October gets a case (once, however often the review
// runs), it submits a plan, goes overdue when the deadline passes, cannot
// be closed while the evidence months are incomplete or one of them is
// over the limit, and is closed by the review once December to February
// were metered under the limit. A works under quota gets no case.
func TestCaseLifeCycle(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	dye := et.Point("D", "D-IN", 1, meter.StageIntake, meter.SourceSurface, "")
	good := et.Point("G", "G-IN", 1, meter.StageIntake, meter.SourceSurface, "")
	et.Register(t, st, meter.Enterprise{ID: "D", Name: "印染一厂", Park: "PK", Region: "430302", Industry: "1713"}, []meter.Point{dye})
	et.Register(t, st, meter.Enterprise{ID: "G", Name: "印染二厂", Park: "PK", Region: "430302", Industry: "1713"}, []meter.Point{good})
	months := []time.Time{et.Day(2026, 10, 1), et.Day(2026, 11, 1), et.Day(2026, 12, 1), et.Day(2027, 1, 1), et.Day(2027, 2, 1), et.Day(2027, 3, 1)}
	// Intake 100 m³/h; the dye works' output per month gives 2.0 m³/100 m in
	// October (over the 1.6 limit), 1.7 in November, then 1.5, 1.58, 1.4.
	perUnit := map[time.Month]float64{time.October: 2.0, time.November: 1.7, time.December: 1.5, time.January: 1.58, time.February: 1.4}
	f := &et.Feeder{St: st}
	f.Feed(t, []string{dye.ID, good.ID}, months[0], months[len(months)-1], time.Hour, func(string, time.Time) float64 { return 100 })
	for i := 0; i+1 < len(months); i++ {
		hours := months[i+1].Sub(months[i]).Hours()
		add(t, st,
			production.Record{Enterprise: "D", Kind: production.Output, Product: "机织印染布", Quantity: 100 * hours / perUnit[months[i].Month()], Unit: "100m", From: months[i], To: months[i+1]},
			production.Record{Enterprise: "G", Kind: production.Output, Product: "机织印染布", Quantity: 100 * hours / 1.2, Unit: "100m", From: months[i], To: months[i+1]})
	}
	now := et.Day(2026, 11, 2).Add(9 * time.Hour)
	cases := &efficiency.Cases{Store: st, Policy: efficiency.Policy{Deadline: 30 * 24 * time.Hour}, Now: func() time.Time { return now }}

	res, err := cases.Review(ctx, months[0], months[1])
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Opened) != 1 || res.Board.Over != 1 || len(res.Board.Rows) != 2 {
		t.Fatalf("review of October: %+v", res)
	}
	id := res.Opened[0]
	c, err := st.QuotaCase(ctx, id)
	if err != nil || c.Enterprise != "D" || c.State != quotacase.Open || !near(c.Value, 2.0) || c.Limit != 1.6 || c.EvidenceMonths != 3 ||
		!c.Deadline.Equal(now.Add(30*24*time.Hour)) || c.Owner != "D" || len(c.History) != 1 || c.History[0].Actor != "system:quota-review" {
		t.Fatalf("case %+v %v", c, err)
	}
	for _, row := range res.Board.Rows {
		if row.Enterprise == "G" && (row.Grade == nil || *row.Grade != "3" || row.Case != nil) {
			t.Errorf("under-quota row %+v", row)
		}
	}
	// Idempotent: a second review opens nothing.
	if res, err := cases.Review(ctx, months[0], months[1]); err != nil || len(res.Opened) != 0 {
		t.Fatalf("second review: %+v %v", res, err)
	}
	if c, err = cases.Transition(ctx, id, quotacase.PlanSubmitted, "tok-d", "改造方案：冷却水循环"); err != nil || c.State != quotacase.PlanSubmitted {
		t.Fatalf("plan: %+v %v", c, err)
	}
	var refusal *quotacase.Refusal
	if _, err := cases.Transition(ctx, id, quotacase.Closed, "tok-d", ""); !errors.Is(err, store.ErrConflict) || !errors.As(err, &refusal) {
		t.Fatalf("closure without evidence months: %v", err)
	}

	// Past the deadline: overdue.
	now = et.Day(2026, 12, 10)
	if res, err := cases.Review(ctx, months[1], months[2]); err != nil || len(res.Overdue) != 1 || res.Overdue[0] != id {
		t.Fatalf("overdue review: %+v %v", res, err)
	}
	// In February the evidence window is November–January: November is the
	// opening month, so no closure yet.
	now = et.Day(2027, 2, 3)
	if res, _ := cases.Review(ctx, months[3], months[4]); len(res.Closed) != 0 {
		t.Fatalf("closed on a window reaching the opening month: %+v", res)
	}
	if _, err := cases.Transition(ctx, id, quotacase.Closed, "tok-r", "by hand"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("closure by hand without evidence: %v", err)
	}
	// In March: December 1.5, January 1.58, February 1.4 — all ≤ 1.6.
	now = et.Day(2027, 3, 2)
	res, err = cases.Review(ctx, months[4], months[5])
	if err != nil || len(res.Closed) != 1 {
		t.Fatalf("review in March: %+v %v", res, err)
	}
	c, _ = st.QuotaCase(ctx, id)
	if c.State != quotacase.Closed || len(c.History) != 4 || c.History[2].To != quotacase.Overdue || c.History[3].From != quotacase.Overdue {
		t.Fatalf("closed case %+v", c)
	}
	if last := c.History[3]; last.Note == "" || last.Actor != "system:quota-review" {
		t.Errorf("closing event %+v", last)
	}
}

// TestEvidenceOverLimit: one evidence month over the limit keeps the case open.
func TestEvidenceOverLimit(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	in := et.Point("D", "D-IN", 1, meter.StageIntake, meter.SourceSurface, "")
	et.Register(t, st, meter.Enterprise{ID: "D", Name: "印染厂", Park: "PK", Region: "430302", Industry: "1713"}, []meter.Point{in})
	months := []time.Time{et.Day(2026, 10, 1), et.Day(2026, 11, 1), et.Day(2026, 12, 1), et.Day(2027, 1, 1), et.Day(2027, 2, 1), et.Day(2027, 3, 1)}
	perUnit := []float64{2.0, 1.5, 1.5, 1.9, 1.5}
	(&et.Feeder{St: st}).Feed(t, []string{in.ID}, months[0], months[5], time.Hour, func(string, time.Time) float64 { return 50 })
	for i := range perUnit {
		add(t, st, production.Record{Enterprise: "D", Kind: production.Output, Product: "机织印染布",
			Quantity: 50 * months[i+1].Sub(months[i]).Hours() / perUnit[i], Unit: "100m", From: months[i], To: months[i+1]})
	}
	now := et.Day(2026, 11, 1).Add(time.Hour)
	cases := &efficiency.Cases{Store: st, Now: func() time.Time { return now }}
	res, err := cases.Review(ctx, months[0], months[1])
	if err != nil || len(res.Opened) != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	now = et.Day(2027, 3, 5)
	if res, err := cases.Review(ctx, months[4], months[5]); err != nil || len(res.Closed) != 0 || len(res.Overdue) != 0 {
		t.Fatalf("closed or overdue with January over the limit (default deadline 180 days): %+v %v", res, err)
	}
	ev, ok, err := cases.Evidence(ctx, quotacase.Case{Enterprise: "D", Product: "机织印染布", Unit: "m3/100m", Limit: 1.6, EvidenceMonths: 3, OpenedAt: now.AddDate(0, -4, 0)}, now)
	if err != nil || ok || len(ev) != 3 || !near(ev[1].Value, 1.9) {
		t.Fatalf("evidence %+v %v %v", ev, ok, err)
	}
}
