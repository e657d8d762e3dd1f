package waterplan

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/meter"
)

func flat(v float64) (m [12]float64) {
	for i := range m {
		m[i] = v
	}
	return m
}

func schedule(t *testing.T, name string) Schedule {
	t.Helper()
	all, err := Schedules()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no schedule %q", name)
	return Schedule{}
}

func month(m int, municipal, ground float64) Month {
	return Month{Month: m, BySource: map[meter.Source]float64{meter.SourceMunicipal: municipal, meter.SourceGround: ground}, Coverage: 1}
}

func TestTrackSharesCrossingsAndTiers(t *testing.T) {
	plan := Plan{Enterprise: "E1", Year: 2025, Monthly: flat(1000)}
	permit := Permit{ID: "P1", Enterprise: "E1", Source: meter.SourceGround, AnnualM3: 4000,
		ValidFrom: time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), ValidTo: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	months := []Month{
		month(1, 500, 300),  // 800: 80 % of the month's plan
		month(2, 900, 600),  // 1500: 50 % over → tiers 20 % + 20 % + 10 %
		month(3, 1000, 100), // 1100: 10 % over
	}
	months[2].Coverage = 0.9
	st, err := Track(plan, []Permit{permit}, months, []float64{0.8, 1.0}, schedule(t, "national-guidance-2017"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Through != 3 || st.PlanToDateM3 != 3000 || st.IntakeM3 != 3400 || st.PlanAnnualM3 != 12000 {
		t.Fatalf("status %+v", st)
	}
	if math.Abs(st.ShareToDate-3400.0/3000) > 1e-12 || math.Abs(st.ShareAnnual-3400.0/12000) > 1e-12 {
		t.Errorf("shares %g %g", st.ShareToDate, st.ShareAnnual)
	}
	// Over plan: February 500 (200 at 0.5×, 200 at 1×, 100 at 2×), March 100 (at 0.5×).
	if st.OverPlanM3 != 600 {
		t.Errorf("over plan %g, want 600", st.OverPlanM3)
	}
	for i, want := range []float64{300, 200, 100} {
		if math.Abs(st.Tiers[i].M3-want) > 1e-9 {
			t.Errorf("tier %d: %g m³, want %g", i+1, st.Tiers[i].M3, want)
		}
	}
	// Crossings: January 80 %; February 80 % and 100 %; March 80 % and 100 %;
	// the permit (ground water from February: 600 + 100 = 700 of 4000) none;
	// the year (28 %) none.
	var got []string
	for _, c := range st.Crossings {
		got = append(got, c.Scope+":"+c.Ref+"@"+strconv.FormatFloat(c.Threshold, 'g', -1, 64))
	}
	want := "month:2025-01@0.8 month:2025-02@0.8 month:2025-02@1 month:2025-03@0.8 month:2025-03@1"
	if strings.Join(got, " ") != want {
		t.Errorf("crossings %q\nwant      %q", strings.Join(got, " "), want)
	}
	if len(st.Permits) != 1 || st.Permits[0].IntakeM3 != 700 || st.Permits[0].Share != 700.0/4000 {
		t.Errorf("permit %+v", st.Permits)
	}
	if len(st.IncompleteFor) != 1 || st.IncompleteFor[0] != 3 {
		t.Errorf("incomplete months %v, want [3]", st.IncompleteFor)
	}
}

func TestMonthWithoutPlanIsAllInTheLastTier(t *testing.T) {
	plan := Plan{Enterprise: "E1", Year: 2025, Monthly: flat(1000)}
	plan.Monthly[7] = 0 // August: shut-down planned
	st, err := Track(plan, nil, []Month{month(8, 50, 0)}, []float64{1}, schedule(t, "city-example-30-50"))
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(st.Months[0].Share, 1) || st.Tiers[2].M3 != 50 || st.Tiers[0].M3 != 0 || len(st.Crossings) != 1 {
		t.Errorf("%+v", st)
	}
}

func TestRefusals(t *testing.T) {
	good := Plan{Enterprise: "E1", Year: 2025, Monthly: flat(10)}
	sched := schedule(t, "national-guidance-2017")
	neg := good
	neg.Monthly[4] = -1
	for _, c := range []struct {
		name   string
		plan   Plan
		months []Month
		perm   []Permit
		thr    []float64
		sched  Schedule
		want   string
	}{
		{"negative month", neg, nil, nil, nil, sched, "month 5: -1 m³"},
		{"zero plan", Plan{Enterprise: "E1", Year: 2025}, nil, nil, nil, sched, "zero for the whole year"},
		{"year", Plan{Enterprise: "E1", Year: 1999, Monthly: flat(1)}, nil, nil, nil, sched, "year 1999"},
		{"month twice", good, []Month{month(2, 1, 1), month(2, 1, 1)}, nil, nil, sched, "given twice"},
		{"month 13", good, []Month{month(13, 1, 1)}, nil, nil, sched, "month 13"},
		{"negative volume", good, []Month{month(3, -4, 1)}, nil, nil, sched, "-4 m³"},
		{"bad coverage", good, []Month{{Month: 1, Coverage: 2}}, nil, nil, sched, "coverage 2"},
		{"threshold", good, nil, nil, []float64{0}, sched, "threshold 0"},
		{"bounded last tier", good, nil, nil, nil, Schedule{Name: "x", Tiers: []Tier{{UpTo: 0.2, Surcharge: 1}}}, "no upper bound"},
		{"permit source", good, nil, []Permit{{ID: "P", Enterprise: "E1", Source: "sea", AnnualM3: 1, ValidTo: time.Unix(1, 0)}}, nil, sched, "unknown source"},
		{"permit validity", good, nil, []Permit{{ID: "P", Enterprise: "E1", Source: meter.SourceGround, AnnualM3: 1}}, nil, sched, "is not after"},
		{"permit owner", good, nil, []Permit{{ID: "P", Enterprise: "E2", Source: meter.SourceGround, AnnualM3: 1, ValidTo: time.Unix(1, 0)}}, nil, sched, "belongs to E2"},
	} {
		_, err := Track(c.plan, c.perm, c.months, c.thr, c.sched)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

func TestHeadroom(t *testing.T) {
	rem, prod, err := Headroom(1e6, 7.5e5, 2.5)
	if err != nil || rem != 2.5e5 || prod != 1e5 {
		t.Errorf("%g %g %v", rem, prod, err)
	}
	if rem, prod, err := Headroom(1e6, 1.2e6, 2.5); err != nil || rem != -2e5 || prod != 0 {
		t.Errorf("exceeded: %g %g %v", rem, prod, err)
	}
	if _, _, err := Headroom(1e6, 1, 0); err == nil {
		t.Error("zero intake per unit accepted")
	}
}

func TestSchedulesCarryTheirSource(t *testing.T) {
	all, err := Schedules()
	if err != nil || len(all) == 0 {
		t.Fatal(all, err)
	}
	for _, s := range all {
		if s.Source == "" || s.Verified {
			t.Errorf("%s: source %q verified %v (no primary text was available: must be unverified)", s.Name, s.Source, s.Verified)
		}
	}
	if _, err := ParseSchedules([]byte(`[{"name":"a","source":"s","tiers":[{"up_to":"x","surcharge":1}]}]`)); err == nil {
		t.Error("up_to \"x\" accepted")
	}
}

func TestCheckAnnualAndSplit(t *testing.T) {
	p := SplitEvenly("E1", 2024, 366000)
	if p.Annual() != 366000 || p.Monthly[1] != 29000 || p.Monthly[11] != 31000 {
		t.Errorf("split %v sum %g", p.Monthly, p.Annual())
	}
	if err := p.CheckAnnual(366000.4); err != nil {
		t.Errorf("rounding refused: %v", err)
	}
	err := p.CheckAnnual(360000)
	if err == nil || !strings.Contains(err.Error(), "the months sum to 366000.00 m³, the annual figure is 360000.00 m³") {
		t.Errorf("sum mismatch: %v", err)
	}
	if err := p.CheckAnnual(-1); err == nil {
		t.Error("negative annual figure accepted")
	}
}

func TestCheckPermitOverlap(t *testing.T) {
	d := func(y, m int) time.Time { return time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC) }
	held := []Permit{{ID: "A", Enterprise: "E1", Source: meter.SourceGround, AnnualM3: 10, ValidFrom: d(2024, 1), ValidTo: d(2027, 1)}}
	for _, c := range []struct {
		name string
		p    Permit
		ok   bool
	}{
		{"same source overlapping", Permit{ID: "B", Enterprise: "E1", Source: meter.SourceGround, AnnualM3: 5, ValidFrom: d(2026, 6), ValidTo: d(2029, 1)}, false},
		{"same source after", Permit{ID: "B", Enterprise: "E1", Source: meter.SourceGround, AnnualM3: 5, ValidFrom: d(2027, 1), ValidTo: d(2029, 1)}, true},
		{"other source", Permit{ID: "B", Enterprise: "E1", Source: meter.SourceSurface, AnnualM3: 5, ValidFrom: d(2024, 1), ValidTo: d(2029, 1)}, true},
		{"replacing itself", Permit{ID: "A", Enterprise: "E1", Source: meter.SourceGround, AnnualM3: 12, ValidFrom: d(2024, 1), ValidTo: d(2028, 1)}, true},
		{"negative volume", Permit{ID: "C", Enterprise: "E1", Source: meter.SourceSurface, AnnualM3: -5, ValidFrom: d(2024, 1), ValidTo: d(2029, 1)}, false},
	} {
		err := CheckPermit(c.p, held)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
		if c.name == "same source overlapping" && (!errors.Is(err, ErrOverlap) || !strings.Contains(err.Error(), "overlaps permit A (2024-01-01 to 2027-01-01)")) {
			t.Errorf("overlap error %v", err)
		}
	}
	if got := PermitsFor(held, 2027, time.UTC); len(got) != 0 {
		t.Errorf("permit ending 2027-01-01 listed for 2027: %v", got)
	}
	if got := PermitsFor(held, 2026, time.UTC); len(got) != 1 {
		t.Errorf("permit for 2026: %v", got)
	}
}

func TestJSONCarriesInfinity(t *testing.T) {
	plan := Plan{Enterprise: "E1", Year: 2025, Monthly: flat(1000)}
	plan.Monthly[0] = 0
	st, err := Track(plan, nil, []Month{month(1, 5, 0)}, []float64{1}, schedule(t, "national-guidance-2017"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"share":"inf"`, `"up_to":"inf"`, `"share_to_date":"inf"`, `"plan_annual_m3":11000`, `"month":1`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
}
