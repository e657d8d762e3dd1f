package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/quotacase"
)

// month returns local midnight of the first of month m of 2026 in Shanghai.
func month(m time.Month) time.Time { return time.Date(2026, m, 1, 0, 0, 0, 0, shanghai) }

func output(ent, product, unit string, q float64, from, to time.Time) production.Record {
	return production.Record{Enterprise: ent, Kind: production.Output, Product: product, Quantity: q, Unit: unit,
		From: from, To: to, ReportedBy: "tok-e", ReportedAt: day(1)}
}

// testProduction: records stored all or nothing, validated, listed by
// overlap with a period, enterprise and kind; overlaps refused.
func testProduction(t *testing.T, s store.Store) {
	ctx := context.Background()
	fixture(t, s)
	va := production.Record{Enterprise: "E-XT-1", Kind: production.ValueAdded, Quantity: 1200.5, Unit: "万元",
		From: month(time.January), To: month(time.April), ReportedBy: "tok-r", ReportedAt: day(2), Note: "Q1"}
	ids, err := s.AddProduction(ctx, []production.Record{
		output("E-XT-1", "粗钢", "t", 30000, month(time.October), month(time.November)),
		output("E-XT-1", "粗钢", "T", 31000, month(time.November), month(time.December)),
		va,
		output("E-XT-2", "烧碱", "t", 500, month(time.November), month(time.December)),
	})
	if err != nil || len(ids) != 4 || ids[0] == ids[1] {
		t.Fatalf("add: %v %v", ids, err)
	}

	// A batch with one bad record stores nothing.
	bad := [][]production.Record{
		{output("E-CS-1", "粗钢", "t", 10, month(time.May), month(time.June)), output("E-CS-1", "钢锭", "t", 1, month(time.May), month(time.June))},
		{output("E-CS-1", "粗钢", "t", 10, month(time.May), month(time.June)), output("E-CS-1", "粗钢", "kL", 1, month(time.June), month(time.July))},
		{output("E-CS-1", "粗钢", "t", -5, month(time.May), month(time.June))},
		{output("E-CS-1", "粗钢", "t", 10, month(time.June), month(time.May))},
		{output("E-CS-1", "粗钢", "t", 10, month(time.May).Add(time.Hour), month(time.June))},
		{output("E-NONE", "粗钢", "t", 10, month(time.May), month(time.June))},
		{{Enterprise: "E-CS-1", Kind: production.Output, Product: "粗钢", Quantity: 10, Unit: "t", From: month(time.May), To: month(time.June)}}, // no reporter
		// overlaps a stored record, and one of its own batch
		{output("E-CS-1", "粗钢", "t", 10, month(time.May), month(time.June)), output("E-XT-1", "粗钢", "t", 10, day(15), day(16))},
		{output("E-CS-1", "粗钢", "t", 10, month(time.May), month(time.July)), output("E-CS-1", "粗钢", "t", 10, month(time.June), month(time.August))},
	}
	for i, b := range bad {
		_, err := s.AddProduction(ctx, b)
		if err == nil {
			t.Fatalf("bad batch %d stored", i)
		}
		if i >= 7 && !(errors.Is(err, store.ErrConflict) && errors.Is(err, production.ErrOverlap)) {
			t.Errorf("bad batch %d: %v, want a conflict of overlapping records", i, err)
		}
		if i == 5 && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown enterprise: %v", err)
		}
		if i < 5 && !errors.Is(err, store.ErrInvalid) {
			t.Errorf("bad batch %d: %v, want ErrInvalid", i, err)
		}
	}
	if recs, err := s.ProductionRecords(ctx, production.Filter{Enterprises: []string{"E-CS-1"}}); err != nil || len(recs) != 0 {
		t.Fatalf("a refused batch left %v (%v)", recs, err)
	}

	all, err := s.ProductionRecords(ctx, production.Filter{})
	if err != nil || len(all) != 4 {
		t.Fatalf("all: %v %v", all, err)
	}
	got := all[1] // E-XT-1 output 粗钢 November (sorted: E-XT-1 output Oct, Nov, then value_added)
	if got.Enterprise != "E-XT-1" || got.Unit != "t" || got.Quantity != 31000 || !got.From.Equal(month(time.November)) ||
		!got.To.Equal(month(time.December)) || got.ReportedBy != "tok-e" || !got.ReportedAt.Equal(day(1)) {
		t.Errorf("read back %+v", got)
	}
	if all[2].Kind != production.ValueAdded || all[2].Unit != production.UnitValueAdded || all[2].Note != "Q1" || all[2].Product != "" {
		t.Errorf("value added read back %+v", all[2])
	}
	// Overlap with a period: November 15 to 16 touches the November record only.
	recs, err := s.ProductionRecords(ctx, production.Filter{Enterprises: []string{"E-XT-1"}, Kind: production.Output, From: day(15), To: day(16)})
	if err != nil || len(recs) != 1 || recs[0].Quantity != 31000 {
		t.Errorf("overlapping Nov 15: %v %v", recs, err)
	}
	// Touching ends do not overlap: [Nov 1, Dec 1) and a period starting Dec 1.
	if recs, _ := s.ProductionRecords(ctx, production.Filter{Kind: production.Output, From: month(time.December), To: month(time.December).AddDate(0, 1, 0)}); len(recs) != 0 {
		t.Errorf("December: %v", recs)
	}
	if recs, _ := s.ProductionRecords(ctx, production.Filter{Enterprises: []string{"E-XT-2", "E-CS-1"}}); len(recs) != 1 || recs[0].Product != "烧碱" {
		t.Errorf("by enterprises: %v", recs)
	}
	if recs, _ := s.ProductionRecords(ctx, production.Filter{Enterprises: manyEnterprises("E-XT-2")}); len(recs) != 1 || recs[0].Product != "烧碱" {
		t.Errorf("by a long list of enterprises: %v", recs)
	}
	if recs, _ := s.ProductionRecords(ctx, production.Filter{Kind: production.ValueAdded, To: month(time.February)}); len(recs) != 1 {
		t.Errorf("value added open start: %v", recs)
	}
}

func testCase(ent string, opened time.Time) quotacase.Case {
	return quotacase.Case{Enterprise: ent, EnterpriseName: "湘钢", Park: "P-XT", Region: "430302", Product: "机织印染布", Unit: "m3/100m",
		Value: 2.1, Limit: 1.6, Grade: "over", Standard: "GB/T 18916.4-2022", PeriodFrom: month(time.October), PeriodTo: month(time.November),
		OpenedAt: opened, Deadline: opened.AddDate(0, 6, 0), Owner: ent, EvidenceMonths: 3}
}

// testQuotaCases: one live case per enterprise and product, transitions
// applied by the life-cycle rules with their history, closure only with
// evidence.
func testQuotaCases(t *testing.T, s store.Store) {
	ctx := context.Background()
	fixture(t, s)
	opened := day(2).Add(3 * time.Hour)
	c, err := s.OpenQuotaCase(ctx, testCase("E-XT-1", opened), "system", "over quota in 2026-10")
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == 0 || c.State != quotacase.Open || len(c.History) != 1 || c.History[0].To != quotacase.Open || c.History[0].Actor != "system" ||
		!c.OpenedAt.Equal(opened) || c.Limit != 1.6 || !c.PeriodFrom.Equal(month(time.October)) || c.Verified {
		t.Fatalf("opened %+v", c)
	}
	if _, err := s.OpenQuotaCase(ctx, testCase("E-XT-1", opened), "system", ""); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second live case: %v", err)
	}
	if _, err := s.OpenQuotaCase(ctx, testCase("E-NONE", opened), "system", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown enterprise: %v", err)
	}
	bad := testCase("E-XT-2", opened)
	bad.Value = 1.0 // under the limit
	if _, err := s.OpenQuotaCase(ctx, bad, "system", ""); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("case under the limit: %v", err)
	}
	if _, err := s.TransitionQuotaCase(ctx, 999, quotacase.Transition{To: quotacase.PlanSubmitted, Actor: "a", At: opened}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown case: %v", err)
	}

	at := opened.Add(24 * time.Hour)
	c, err = s.TransitionQuotaCase(ctx, c.ID, quotacase.Transition{To: quotacase.PlanSubmitted, Actor: "tok-e", At: at, Note: "plan: cooling tower retrofit"})
	if err != nil || c.State != quotacase.PlanSubmitted || len(c.History) != 2 || c.History[1].From != quotacase.Open || c.History[1].Note == "" {
		t.Fatalf("plan submitted: %+v %v", c, err)
	}
	// Not overdue before the deadline; no closure without evidence; no going back.
	for _, tr := range []quotacase.Transition{
		{To: quotacase.Overdue, Actor: "system", At: at},
		{To: quotacase.Closed, Actor: "tok-r", At: at},
		{To: quotacase.Open, Actor: "tok-r", At: at},
	} {
		var refusal *quotacase.Refusal
		if _, err := s.TransitionQuotaCase(ctx, c.ID, tr); !errors.Is(err, store.ErrConflict) || !errors.As(err, &refusal) {
			t.Errorf("%s allowed: %v", tr.To, err)
		}
	}
	late := c.Deadline.Add(time.Hour)
	if c, err = s.TransitionQuotaCase(ctx, c.ID, quotacase.Transition{To: quotacase.Overdue, Actor: "system", At: late}); err != nil || c.State != quotacase.Overdue {
		t.Fatalf("overdue: %+v %v", c, err)
	}
	evidence := []quotacase.Month{
		{Start: month(time.December), Value: 1.5, OK: true, Basis: "metered"},
		{Start: month(time.December).AddDate(0, 1, 0), Value: 1.4, OK: true, Basis: "metered"},
		{Start: month(time.December).AddDate(0, 2, 0), Value: 1.59, OK: true, Basis: "metered"},
	}
	c, err = s.TransitionQuotaCase(ctx, c.ID, quotacase.Transition{To: quotacase.Closed, Actor: "system", At: late.Add(time.Hour), Evidence: evidence})
	if err != nil || c.State != quotacase.Closed || !c.ClosedAt.Equal(late.Add(time.Hour)) || len(c.History) != 4 {
		t.Fatalf("closed: %+v %v", c, err)
	}
	// Closed is final; a new case may be opened for the product.
	if _, err := s.TransitionQuotaCase(ctx, c.ID, quotacase.Transition{To: quotacase.Overdue, Actor: "system", At: late.Add(2 * time.Hour)}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("transition of a closed case: %v", err)
	}
	c2, err := s.OpenQuotaCase(ctx, testCase("E-XT-1", late.Add(48*time.Hour)), "system", "")
	if err != nil || c2.ID == c.ID {
		t.Fatalf("reopen after closure: %+v %v", c2, err)
	}
	if _, err := s.OpenQuotaCase(ctx, testCase("E-XT-2", opened), "system", ""); err != nil {
		t.Fatal(err)
	}

	list, err := s.QuotaCases(ctx, quotacase.Filter{})
	if err != nil || len(list) != 3 || list[0].ID != c2.ID {
		t.Fatalf("list newest first: %v %v", list, err)
	}
	if list, _ := s.QuotaCases(ctx, quotacase.Filter{NotClosed: true, Enterprise: "E-XT-1"}); len(list) != 1 || list[0].ID != c2.ID {
		t.Errorf("not closed of E-XT-1: %v", list)
	}
	if list, _ := s.QuotaCases(ctx, quotacase.Filter{State: quotacase.Closed}); len(list) != 1 || list[0].ID != c.ID {
		t.Errorf("closed: %v", list)
	}
	if list, _ := s.QuotaCases(ctx, quotacase.Filter{Enterprises: []string{"E-XT-2", "E-CS-1"}}); len(list) != 1 || list[0].Enterprise != "E-XT-2" {
		t.Errorf("by enterprises: %v", list)
	}
	if list, _ := s.QuotaCases(ctx, quotacase.Filter{Enterprises: manyEnterprises("E-XT-1"), Limit: 1}); len(list) != 1 || list[0].ID != c2.ID {
		t.Errorf("by a long list of enterprises, limit 1: %v", list)
	}
	if got, err := s.QuotaCase(ctx, c.ID); err != nil || len(got.History) != 4 || got.History[3].To != quotacase.Closed || got.History[3].Note == "" {
		t.Errorf("history: %+v %v", got, err)
	}
}

// manyEnterprises is a list of 2,000 enterprise IDs ending with real: longer
// than a driver may put in one statement.
func manyEnterprises(real string) []string {
	out := make([]string, 0, 2001)
	for i := range 2000 {
		out = append(out, fmt.Sprintf("E-NONE-%04d", i))
	}
	return append(out, real)
}
