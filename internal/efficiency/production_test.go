package efficiency_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/efficiency"
	et "github.com/shuixiao/shuixiao/internal/efficiency/efficiencytest"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
)

// Reporting production: all rows or none; an unknown enterprise, one
// outside the reporter's scope and a record the store refuses are named by
// their row; stored records carry the reporter, the time and their IDs,
// and the snapshots are invalidated once.
func TestReportProduction(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	et.Register(t, st, meter.Enterprise{ID: "D", Name: "印染一厂", Park: "PK", Region: "430302", Industry: "1713"}, nil)
	et.Register(t, st, meter.Enterprise{ID: "G", Name: "印染二厂", Park: "PK", Region: "430302", Industry: "1713"}, nil)
	now := time.Date(2026, 11, 3, 9, 30, 0, 0, time.UTC)
	n := 0
	p := &efficiency.Production{Store: st, Invalidate: func() { n++ }, Now: func() time.Time { return now }}
	rec := func(ent string, from time.Time) production.Row {
		return production.Row{At: "line " + ent, Record: production.Record{Enterprise: ent, Kind: production.Output, Product: "机织印染布", Quantity: 10, Unit: "100m",
			From: from, To: from.AddDate(0, 1, 0)}}
	}
	oct := et.Day(2026, 10, 1)
	all := func(meter.Enterprise) bool { return true }
	stored := func() int {
		t.Helper()
		recs, err := st.ProductionRecords(ctx, production.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		return len(recs)
	}
	if _, _, err := p.Report(ctx, []production.Row{rec("D", oct), rec("X", oct)}, "tok", all); !errors.Is(err, store.ErrInvalid) ||
		err.Error() != "上传被拒绝，未保存任何记录 / upload refused, nothing stored: line X, field enterprise: no enterprise X" {
		t.Errorf("unknown enterprise: %v", err)
	}
	onlyD := func(e meter.Enterprise) bool { return e.ID == "D" }
	if _, _, err := p.Report(ctx, []production.Row{rec("D", oct), rec("G", oct)}, "tok", onlyD); !errors.Is(err, efficiency.ErrOutsideScope) ||
		!strings.HasPrefix(err.Error(), "line G, field enterprise: G is outside this token's scope") {
		t.Errorf("outside the scope: %v", err)
	}
	if got := stored(); got != 0 || n != 0 {
		t.Fatalf("refused uploads stored %d records, %d invalidations", got, n)
	}
	recs, ids, err := p.Report(ctx, []production.Row{rec("D", oct), rec("G", oct)}, "tok-a", all)
	if err != nil || len(ids) != 2 || recs[1].ID != ids[1] || recs[0].ReportedBy != "tok-a" || !recs[0].ReportedAt.Equal(now) || recs[0].ReportedAt.Location() != production.Zone || n != 1 {
		t.Fatalf("report: %+v %v %v, %d invalidations", recs, ids, err, n)
	}
	// An overlap with a stored record is a conflict named by its row.
	over := rec("G", oct.AddDate(0, 0, 10))
	over.At = "line 7"
	if _, _, err := p.Report(ctx, []production.Row{rec("D", oct.AddDate(0, 1, 0)), over}, "tok", all); !errors.Is(err, store.ErrConflict) ||
		!strings.HasPrefix(err.Error(), "上传被拒绝，未保存任何记录 / upload refused, nothing stored: line 7: ") {
		t.Errorf("overlap: %v", err)
	}
	if got := stored(); got != 2 || n != 1 {
		t.Errorf("after a refused overlap: %d records, %d invalidations", got, n)
	}
}
