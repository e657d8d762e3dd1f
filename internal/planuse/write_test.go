package planuse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/waterplan"
)

// The plan and permit use cases: refusals wrap store.ErrInvalid or
// store.ErrConflict with their reason and write nothing, a scope refusal
// writes nothing, and every write is seen by the next board at once (the
// cached boards dropped).
func TestPlanAndPermitWrites(t *testing.T) {
	ctx := context.Background()
	w := buildWorld(t, 3, jan, 48)
	now := jan.AddDate(0, 0, 2)
	svc := &Service{Src: w.st, Now: func() time.Time { return now }}
	if !svc.Writable() {
		t.Fatal("a sqlite store is not writable")
	}
	all := func(context.Context, string) error { return nil }
	outside := errors.New("outside the caller's scope")
	notE1 := func(_ context.Context, id string) error {
		if id == "E00001" {
			return outside
		}
		return nil
	}
	planOf := func(id string) float64 {
		t.Helper()
		b, err := svc.Board(ctx, 2026)
		must(t, err)
		return b.Plans[id].Annual()
	}
	if got := planOf("E00000"); got != planPerHour(0)*8760 {
		t.Fatalf("fixture plan %g", got)
	}

	// SetPlan: months that do not sum, a negative month; then stored and
	// seen by the board within MaxAge.
	months := [12]float64{31000, 28000, 31000, 30000, 31000, 30000, 31000, 31000, 30000, 31000, 30000, 30000}
	if _, err := svc.SetPlan(ctx, "E00000", 2026, 365000, &months); !errors.Is(err, store.ErrInvalid) ||
		!strings.Contains(err.Error(), "计划被拒绝 / plan refused: ") || !strings.Contains(err.Error(), "the months sum to 364000.00 m³") {
		t.Errorf("months not summing: %v", err)
	}
	months[11], months[3] = 31000+5, -5
	if _, err := svc.SetPlan(ctx, "E00000", 2026, 335000, &months); !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "month 4: -5 m³") {
		t.Errorf("negative month: %v", err)
	}
	if got := planOf("E00000"); got != planPerHour(0)*8760 {
		t.Errorf("a refused plan was stored: %g", got)
	}
	pl, err := svc.SetPlan(ctx, "E00000", 2026, 365000, nil)
	if err != nil || pl.Monthly[0] != 31000 || pl.Monthly[1] != 28000 {
		t.Fatalf("plan split by days %+v: %v", pl, err)
	}
	if got := planOf("E00000"); got != 365000 {
		t.Errorf("the board still shows %g after a plan was set", got)
	}

	// ImportPlans: all or none.
	n, err := svc.ImportPlans(ctx, strings.NewReader("enterprise,year,annual_m3\nE00001,2026,1000\nE00002,2026,-3\n"), all)
	if n != 0 || !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "import refused, no plan stored") || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("a bad row: %d %v", n, err)
	}
	n, err = svc.ImportPlans(ctx, strings.NewReader("enterprise,year,annual_m3\nE00001,2026,1000\nE09999,2026,1000\n"), func(ctx context.Context, id string) error {
		if id == "E09999" {
			return fmt.Errorf("enterprise %s: %w", id, store.ErrNotFound)
		}
		return nil
	})
	if n != 0 || !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "plan 2, field enterprise: no enterprise E09999") {
		t.Errorf("an unknown enterprise: %d %v", n, err)
	}
	if n, err = svc.ImportPlans(ctx, strings.NewReader("enterprise,year,annual_m3\nE00002,2026,1000\nE00001,2026,1000\n"), notE1); n != 0 || !errors.Is(err, outside) {
		t.Errorf("an enterprise outside the scope: %d %v", n, err)
	}
	if got := planOf("E00002"); got != planPerHour(2)*8760 {
		t.Errorf("a refused import stored a plan: %g", got)
	}
	if n, err = svc.ImportPlans(ctx, strings.NewReader("enterprise,year,annual_m3\nE00001,2026,1000\nE00002,2026,2000\n"), all); n != 2 || err != nil {
		t.Fatalf("import: %d %v", n, err)
	}
	if planOf("E00001") != 1000 || planOf("E00002") != 2000 {
		t.Error("imported plans not on the board")
	}

	// Permits: a long number, a scope refusal, an invalid permit, an
	// overlap; stored and seen by the board; deleted.
	pm := waterplan.Permit{ID: "取水(湘)字[2026]第7号", Enterprise: "E00000", Source: meter.SourceGround, AnnualM3: 10, ValidFrom: jan, ValidTo: jan.AddDate(5, 0, 0)}
	long := pm
	long.ID = strings.Repeat("x", MaxPermitID+1)
	if _, err := svc.PutPermit(ctx, long, all); !errors.Is(err, store.ErrInvalid) || err.Error() != "permit id: at most 128 bytes" {
		t.Errorf("long id: %v", err)
	}
	other := pm
	other.Enterprise = "E00001"
	if _, err := svc.PutPermit(ctx, other, notE1); !errors.Is(err, outside) {
		t.Errorf("outside the scope: %v", err)
	}
	bad := pm
	bad.AnnualM3 = -1
	if _, err := svc.PutPermit(ctx, bad, all); !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "取水许可被拒绝 / permit refused: ") {
		t.Errorf("negative permit: %v", err)
	}
	if ps, _ := svc.Permits(ctx, "E00000"); ps == nil || len(ps) != 0 {
		t.Errorf("permits before any was stored: %#v", ps)
	}
	if _, err := svc.PutPermit(ctx, pm, all); err != nil {
		t.Fatal(err)
	}
	over := pm
	over.ID, over.ValidFrom = "P-8", jan.AddDate(4, 0, 0)
	if _, err := svc.PutPermit(ctx, over, all); !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "取水许可有效期重叠 / ") ||
		!strings.Contains(err.Error(), "overlaps permit 取水(湘)字[2026]第7号") {
		t.Errorf("overlap: %v", err)
	}
	permitShare := func() float64 {
		b, err := svc.Board(ctx, 2026)
		must(t, err)
		return rowOf(b, "E00000").PermitShare
	}
	if s := permitShare(); s <= 1 { // 1 m³/h of ground water for 48 h against 10 m³ a year
		t.Errorf("permit share %g on the board", s)
	}
	if err := svc.DeletePermit(ctx, pm.ID, notE1); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeletePermit(ctx, pm.ID, all); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted twice: %v", err)
	}
	if s := permitShare(); s != 0 {
		t.Errorf("permit share %g after the permit was deleted", s)
	}
	// A scope refusal deletes nothing.
	other.ID = "P-E1"
	if _, err := svc.PutPermit(ctx, other, all); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeletePermit(ctx, "P-E1", notE1); !errors.Is(err, outside) {
		t.Errorf("delete outside the scope: %v", err)
	}
	if ps, _ := svc.Permits(ctx, "E00001"); len(ps) != 1 {
		t.Errorf("permits of E00001 %+v", ps)
	}
}

// Headroom: the park's view of the board with its enterprises' rows; a
// park without plans has an empty allocation and no rows.
func TestHeadroom(t *testing.T) {
	ctx := context.Background()
	w := buildWorld(t, 3, jan, 48)
	svc := &Service{Src: w.st, Now: func() time.Time { return jan.AddDate(0, 0, 2) }}
	h, err := svc.Headroom(ctx, meter.Park{ID: "PK", Name: "湘潭园区", Region: "430300"}, 2026)
	must(t, err)
	if h.Enterprises != 2 || len(h.Rows) != 2 || h.AllocationM3 != (planPerHour(0)+planPerHour(2))*8760 || h.Rows[0].Park != "PK" {
		t.Errorf("PK %+v", h)
	}
	h, err = svc.Headroom(ctx, meter.Park{ID: "PX", Name: "空园区", Region: "430300"}, 2026)
	must(t, err)
	if h.Park.Park != "PX" || h.Name != "空园区" || h.AllocationM3 != 0 || h.Rows == nil || len(h.Rows) != 0 || h.Products == nil {
		t.Errorf("PX %+v", h)
	}
}
