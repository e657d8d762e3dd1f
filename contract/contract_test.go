package contract

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
)

func month(y, m int) time.Time { return time.Date(y, time.Month(m), 1, 0, 0, 0, 0, production.Zone) }

func valid() Contract {
	return Contract{ID: "C-1", Name: "n", Enterprise: "E", ServiceCompany: "S", Option: WholeFacility, Granularity: Monthly,
		Baseline:  Span{month(2024, 1), month(2025, 1)},
		Reporting: []Span{{month(2025, 1), month(2025, 4)}, {month(2025, 4), month(2025, 7)}},
		Drivers:   []Driver{{Name: "production", Kind: OutputDriver, Product: "p"}, {Name: "cdd", Kind: DeclaredDriver}},
		Status:    Active, ServiceCompanyShare: 0.5}
}

func TestValidate(t *testing.T) {
	if err := valid().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		field string
		edit  func(c *Contract)
	}{
		{"id", func(c *Contract) { c.ID = "a b" }},
		{"service_company", func(c *Contract) { c.ServiceCompany = " " }},
		{"points", func(c *Contract) { c.Option = RetrofitIsolation }},
		{"points", func(c *Contract) { c.Points = []string{"P"} }},
		{"option", func(c *Contract) { c.Option = "A" }},
		{"granularity", func(c *Contract) { c.Granularity = "week" }},
		{"baseline", func(c *Contract) { c.Baseline.From = month(2024, 1).Add(time.Hour) }},
		{"baseline", func(c *Contract) { c.Baseline.From = month(2020, 1) }},
		{"reporting[0]", func(c *Contract) { c.Reporting[0].From = month(2024, 12) }},
		{"reporting[1]", func(c *Contract) { c.Reporting[1].From = month(2025, 3) }},
		{"reporting", func(c *Contract) { c.Reporting = nil }},
		{"drivers[1].name", func(c *Contract) { c.Drivers[1].Name = "production" }},
		{"drivers[1].name", func(c *Contract) { c.Drivers[1].Name = "intercept" }},
		{"drivers[0].product", func(c *Contract) { c.Drivers[0].Product = "" }},
		{"drivers[1].kind", func(c *Contract) { c.Drivers[1].Kind = "weather" }},
		{"service_company_share", func(c *Contract) { c.ServiceCompanyShare = 1.5 }},
		{"status", func(c *Contract) { c.Status = "" }},
		{"declared[0].driver", func(c *Contract) {
			c.Declared = []DeclaredValue{{Driver: "production", From: month(2024, 1), To: month(2024, 2), Source: "s"}}
		}},
		{"declared[0].source", func(c *Contract) {
			c.Declared = []DeclaredValue{{Driver: "cdd", From: month(2024, 1), To: month(2024, 2)}}
		}},
		{"declared[1]", func(c *Contract) {
			c.Declared = []DeclaredValue{{Driver: "cdd", From: month(2024, 1), To: month(2024, 3), Source: "s"}, {Driver: "cdd", From: month(2024, 2), To: month(2024, 4), Source: "s"}}
		}},
	} {
		x := valid()
		x.Reporting = append([]Span(nil), x.Reporting...)
		x.Drivers = append([]Driver(nil), x.Drivers...)
		c.edit(&x)
		err := x.Validate()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: error %v, want a FieldError naming it", c.field, err)
		}
	}
}

func TestOverlap(t *testing.T) {
	b := func(id string, from, to time.Time, pts ...string) Contract {
		c := valid()
		c.ID, c.Option, c.Points = id, RetrofitIsolation, pts
		c.Baseline, c.Reporting = Span{from, to}, []Span{{to, to.AddDate(0, 3, 0)}}
		return c
	}
	whole := valid()
	for _, c := range []struct {
		name string
		a, b Contract
		want string // "" none
	}{
		{"C inside C", whole, func() Contract { c := valid(); c.ID = "C-2"; return c }(), "option C"},
		{"B inside C", whole, b("B-1", month(2024, 6), month(2025, 1), "P1"), "option C"},
		{"B after C", whole, b("B-1", month(2025, 7), month(2026, 1), "P1"), ""},
		{"B sharing a point", b("B-1", month(2024, 1), month(2025, 1), "P1", "P2"), b("B-2", month(2024, 6), month(2025, 1), "P2", "P3"), "P2"},
		{"B other points", b("B-1", month(2024, 1), month(2025, 1), "P1"), b("B-2", month(2024, 6), month(2025, 1), "P3"), ""},
		{"other enterprise", whole, func() Contract { c := valid(); c.ID, c.Enterprise = "C-2", "E2"; return c }(), ""},
		{"back to back", whole, func() Contract {
			c := valid()
			c.ID, c.Baseline, c.Reporting = "C-2", Span{month(2025, 7), month(2026, 1)}, []Span{{month(2026, 1), month(2026, 2)}}
			return c
		}(), ""},
	} {
		err := Overlap(c.a, c.b)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v, want none", c.name, err)
		case c.want != "" && (!errors.Is(err, ErrOverlap) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.a.ID) || !strings.Contains(err.Error(), c.b.ID)):
			t.Errorf("%s: %v, want ErrOverlap naming %q and both contracts", c.name, err, c.want)
		}
	}
}

// TestCanonical pins the canonical JSON and digest of a statement (a
// certificate points at the digest: it must never change for the same
// figures).
func TestCanonical(t *testing.T) {
	s := Statement{Contract: "C-1", Enterprise: "E", From: month(2025, 1), To: month(2025, 4),
		AdjustedBaselineM3: 7350, ReportingM3: 6615, SavingsM3: 735, UncertaintyM3: 12.25, MeetsGuideline14: true,
		CheckpointSize: 42, CheckpointRoot: "00ff"}
	b, err := s.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"adjusted_baseline_m3":7350,"checkpoint_root":"00ff","checkpoint_size":42,"contract":"C-1","enterprise":"E","from":"2024-12-31T16:00:00Z","meets_guideline14":true,"reporting_m3":6615,"savings_m3":735,"to":"2025-03-31T16:00:00Z","uncertainty_m3":12.25}`
	if string(b) != want {
		t.Fatalf("canonical\n%s\nwant\n%s", b, want)
	}
	if err := s.Seal(); err != nil {
		t.Fatal(err)
	}
	// sha256 of want, computed independently: printf '%s' "$want" | sha256sum.
	if s.Digest != "8fb6e4b8ad933e4a409504cb7282472d20c9630c7603f6a400be40b2a8fd5344" || s.ID != "mvs-8fb6e4b8ad933e4a" {
		t.Fatalf("digest %s, id %s", s.Digest, s.ID)
	}
	if err := s.CheckSeal(); err != nil {
		t.Fatal(err)
	}
	x := s
	x.SavingsM3 = 736
	if err := x.CheckSeal(); err == nil {
		t.Fatal("a changed figure kept its seal")
	}
	x = s
	x.ID = "mvs-0000000000000000"
	if err := x.CheckSeal(); err == nil {
		t.Fatal("a changed ID kept its seal")
	}
	if !s.Verifiable() || s.Issuable() != 722 {
		t.Fatalf("verifiable %v issuable %g, want true, floor(735 − 12.25) = 722", s.Verifiable(), s.Issuable())
	}
	s.MeetsGuideline14 = false
	if s.Verifiable() || s.Issuable() != 0 {
		t.Fatal("a statement outside Guideline 14 is issuable")
	}
}

func TestPeriodsAndDrivers(t *testing.T) {
	ps := Periods(Span{month(2024, 1), month(2024, 4)}, Monthly)
	if len(ps) != 3 || Label(ps[1].From, Monthly) != "2024-02" || !ps[2].To.Equal(month(2024, 4)) {
		t.Fatalf("months %v", ps)
	}
	if ds := Periods(Span{month(2024, 2), month(2024, 3)}, Daily); len(ds) != 29 || Label(ds[28].From, Daily) != "2024-02-29" {
		t.Fatalf("days of February 2024: %d", len(ds))
	}
	// A quarterly record prorated over a month by time; a month half
	// covered is reported as such.
	recs := []production.Record{{Kind: production.Output, Product: "p", Quantity: 91, From: month(2024, 1), To: month(2024, 4)}}
	v, cov := DriverValue(Driver{Name: "x", Kind: OutputDriver, Product: "p"}, Span{month(2024, 2), month(2024, 3)}, recs, nil)
	if v != 29 || cov != 1 {
		t.Fatalf("February share of 91 over 91 days: %g (coverage %g), want 29, 1", v, cov)
	}
	_, cov = DriverValue(Driver{Name: "x", Kind: OutputDriver, Product: "p"}, Span{month(2024, 3), month(2024, 5)}, recs, nil)
	if cov < 0.5 || cov > 0.52 {
		t.Fatalf("coverage of March–April %g, want 31/61", cov)
	}
	c := valid()
	c.Drivers = c.Drivers[:1]
	c.Drivers[0].Product = "p"
	if _, err := Figures(c, Span{month(2024, 1), month(2024, 5)}, recs); err == nil || !strings.Contains(err.Error(), "2024-04") {
		t.Fatalf("missing April: %v", err)
	}
}

func TestBoundaryAndIntakes(t *testing.T) {
	total, _ := meter.StandardChannel("total_m3")
	pts := []meter.Point{
		{ID: "I2", Enterprise: "E", Level: meter.Level1, Stage: meter.StageIntake, Channels: []meter.Channel{total}},
		{ID: "I1", Enterprise: "E", Level: meter.Level1, Stage: meter.StageIntake, Channels: []meter.Channel{total}},
		{ID: "U", Enterprise: "E", Level: meter.Level2, Stage: meter.StageUse, Channels: []meter.Channel{total}},
		{ID: "X", Enterprise: "E2", Level: meter.Level1, Stage: meter.StageIntake, Channels: []meter.Channel{total}},
	}
	c := valid()
	bd, err := Boundary(c, pts)
	if err != nil || len(bd) != 2 || bd[0].ID != "I1" || bd[1].ID != "I2" {
		t.Fatalf("option C boundary %v %v, want I1, I2", bd, err)
	}
	c.Option, c.Points = RetrofitIsolation, []string{"X"}
	if _, err := Boundary(c, pts); err == nil || !strings.Contains(err.Error(), "X") {
		t.Fatalf("another enterprise's point: %v", err)
	}
	// Two days of hourly buckets; I2 silent on day 2.
	start := month(2024, 1)
	bucket := func(n int, v float64, valid func(int) bool) []balance.BucketVolume {
		out := make([]balance.BucketVolume, n)
		for i := range out {
			out[i] = balance.BucketVolume{Value: v, Valid: valid(i)}
		}
		return out
	}
	b := map[string][]balance.BucketVolume{"I1": bucket(48, 1, func(int) bool { return true }), "I2": bucket(48, 2, func(i int) bool { return i < 24 || i == 30 })}
	in := PeriodIntakes(bd, start, b, []Span{{start, start.AddDate(0, 0, 1)}, {start.AddDate(0, 0, 1), start.AddDate(0, 0, 2)}, {start.AddDate(0, 0, 2), start.AddDate(0, 0, 3)}})
	if in[0].M3 != 72 || in[0].Coverage != 1 || len(in[0].Missing) != 0 {
		t.Errorf("day 1 %+v, want 72 m³ fully covered", in[0])
	}
	if in[1].M3 != 26 || in[1].Coverage != 1.0/24 {
		t.Errorf("day 2 %+v, want 26 m³ at coverage 1/24", in[1])
	}
	if len(in[2].Missing) != 2 {
		t.Errorf("day 3, beyond the buckets: %+v, want both points missing", in[2])
	}
}
