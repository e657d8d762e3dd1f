package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/waterplan"
)

type planStore interface {
	store.Store
	store.Plans
}

// testPlans: plans replaced per enterprise and year, listed by year and
// enterprise; permits with their overlap rule per enterprise and source,
// a number held by one enterprise only, deletion; refusals store nothing.
func testPlans(t *testing.T, s planStore) {
	ctx := context.Background()
	fixture(t, s)
	p := waterplan.SplitEvenly("E-XT-1", 2026, 365000)
	must(t, s.PutPlan(ctx, p))
	p.Monthly[0] = 40000
	must(t, s.PutPlan(ctx, p)) // replaces
	must(t, s.PutPlan(ctx, waterplan.SplitEvenly("E-XT-2", 2026, 1200)))
	must(t, s.PutPlan(ctx, waterplan.SplitEvenly("E-XT-1", 2025, 1000)))
	if err := s.PutPlan(ctx, waterplan.SplitEvenly("E-NONE", 2026, 10)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("plan of unknown enterprise: %v", err)
	}
	neg := waterplan.SplitEvenly("E-CS-1", 2026, 1200)
	neg.Monthly[3] = -1
	if err := s.PutPlan(ctx, neg); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("negative month: %v", err)
	}
	got, err := s.WaterPlans(ctx, 2026, nil)
	if err != nil || len(got) != 2 || got[0].Enterprise != "E-XT-1" || got[0].Monthly[0] != 40000 || got[1].Annual() != 1200 {
		t.Fatalf("plans 2026: %+v %v", got, err)
	}
	if got, _ := s.WaterPlans(ctx, 0, []string{"E-XT-1"}); len(got) != 2 || got[0].Year != 2025 || got[0].Monthly != waterplan.SplitEvenly("E-XT-1", 2025, 1000).Monthly {
		t.Errorf("plans of E-XT-1: %+v", got)
	}
	if got, _ := s.WaterPlans(ctx, 2026, []string{"E-CS-1"}); len(got) != 0 {
		t.Errorf("refused plan stored: %+v", got)
	}

	d := func(y int, m time.Month) time.Time { return time.Date(y, m, 1, 0, 0, 0, 0, shanghai) }
	a := waterplan.Permit{ID: "取水(湘)字[2024]第001号", Enterprise: "E-XT-1", Source: meter.SourceGround, AnnualM3: 50000, ValidFrom: d(2024, 1), ValidTo: d(2029, 1)}
	b := waterplan.Permit{ID: "B-002", Enterprise: "E-XT-1", Source: meter.SourceSurface, AnnualM3: 300000, ValidFrom: d(2025, 1), ValidTo: d(2030, 1)}
	must(t, s.PutPermit(ctx, a))
	must(t, s.PutPermit(ctx, b))
	a.AnnualM3 = 60000
	must(t, s.PutPermit(ctx, a)) // replaces its own
	for _, c := range []struct {
		name string
		p    waterplan.Permit
		want error
	}{
		{"overlaps a", waterplan.Permit{ID: "C", Enterprise: "E-XT-1", Source: meter.SourceGround, AnnualM3: 1, ValidFrom: d(2028, 6), ValidTo: d(2031, 1)}, waterplan.ErrOverlap},
		{"number of another enterprise", waterplan.Permit{ID: "B-002", Enterprise: "E-XT-2", Source: meter.SourceSurface, AnnualM3: 1, ValidFrom: d(2025, 1), ValidTo: d(2026, 1)}, store.ErrConflict},
		{"negative", waterplan.Permit{ID: "D", Enterprise: "E-XT-2", Source: meter.SourceSurface, AnnualM3: -1, ValidFrom: d(2025, 1), ValidTo: d(2026, 1)}, store.ErrInvalid},
		{"unknown enterprise", waterplan.Permit{ID: "E", Enterprise: "E-NONE", Source: meter.SourceSurface, AnnualM3: 1, ValidFrom: d(2025, 1), ValidTo: d(2026, 1)}, store.ErrNotFound},
	} {
		if err := s.PutPermit(ctx, c.p); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		} else if c.want == waterplan.ErrOverlap && (!errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), a.ID)) {
			t.Errorf("%s: %v does not name the permit overlapped", c.name, err)
		}
	}
	// Adjacent validity is no overlap.
	must(t, s.PutPermit(ctx, waterplan.Permit{ID: "C", Enterprise: "E-XT-1", Source: meter.SourceGround, AnnualM3: 1, ValidFrom: d(2029, 1), ValidTo: d(2031, 1)}))
	ps, err := s.Permits(ctx, []string{"E-XT-1"})
	if err != nil || len(ps) != 3 || ps[0].ID != a.ID || ps[0].AnnualM3 != 60000 || !ps[0].ValidFrom.Equal(a.ValidFrom) || !ps[0].ValidTo.Equal(a.ValidTo) || ps[1].ID != "C" || ps[2].ID != "B-002" {
		t.Fatalf("permits: %+v %v", ps, err)
	}
	if all, _ := s.Permits(ctx, nil); len(all) != 3 {
		t.Errorf("refused permits stored: %+v", all)
	}
	must(t, s.DeletePermit(ctx, "C"))
	if err := s.DeletePermit(ctx, "C"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	if ps, _ := s.Permits(ctx, nil); len(ps) != 2 {
		t.Errorf("after delete: %+v", ps)
	}
}
