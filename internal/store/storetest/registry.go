package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

func ids[T any](xs []T, id func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	return out
}

func wantIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

func testRegistry(t *testing.T, s store.Store) {
	ctx := context.Background()
	fixture(t, s)

	// Get returns what was stored.
	p, err := s.Point(ctx, "PT-1")
	must(t, err)
	if p.Enterprise != "E-XT-1" || p.Source != meter.SourceSurface || len(p.Channels) != 3 || p.Channels[0] != chTotal {
		t.Errorf("point round trip: %+v", p)
	}
	if p, err := s.Point(ctx, "PT-2"); err != nil || p.Purpose != meter.PurposeIndirectCooling || p.Reuse != "" || p.Parent != "PT-1" {
		t.Errorf("point balance roles round trip: %+v, %v", p, err)
	}
	e, err := s.Enterprise(ctx, "E-XT-1")
	must(t, err)
	if e.Park != "P-XT" || !slices.Equal(e.Products, []string{"steel"}) {
		t.Errorf("enterprise round trip: %+v", e)
	}
	m, err := s.Meter(ctx, "M-1")
	must(t, err)
	if m.Point != "PT-1" || m.Key == "" || m.Revoked || !m.Registered.Equal(day(1)) || m.Interval.Minutes() != 1 {
		t.Errorf("meter round trip: %+v", m)
	}
	r, err := s.Region(ctx, "430300")
	must(t, err)
	if r.Name != "湘潭市" || r.Parent != "430000" {
		t.Errorf("region round trip: %+v", r)
	}
	regions, err := s.Regions(ctx)
	must(t, err)
	wantIDs(t, "regions", ids(regions, func(r meter.Region) string { return r.Code }), []string{"430000", "430100", "430300"})

	// Tenant filters.
	ents, err := s.Enterprises(ctx, store.Filter{Park: "P-XT"})
	must(t, err)
	wantIDs(t, "enterprises of park P-XT", ids(ents, func(e meter.Enterprise) string { return e.ID }), []string{"E-XT-1", "E-XT-2"})
	ents, err = s.Enterprises(ctx, store.Filter{Region: "430300"})
	must(t, err)
	wantIDs(t, "enterprises in city 430300", ids(ents, func(e meter.Enterprise) string { return e.ID }), []string{"E-XT-1", "E-XT-2"})
	ents, err = s.Enterprises(ctx, store.Filter{Region: "430000"})
	must(t, err)
	wantIDs(t, "enterprises in province", ids(ents, func(e meter.Enterprise) string { return e.ID }), []string{"E-CS-1", "E-XT-1", "E-XT-2"})
	parks, err := s.Parks(ctx, store.Filter{Region: "430100"})
	must(t, err)
	wantIDs(t, "parks in 430100", ids(parks, func(p meter.Park) string { return p.ID }), []string{"P-CS"})
	parks, err = s.Parks(ctx, store.Filter{Enterprise: "E-XT-2"})
	must(t, err)
	wantIDs(t, "park of E-XT-2", ids(parks, func(p meter.Park) string { return p.ID }), []string{"P-XT"})
	pts, err := s.Points(ctx, store.Filter{Enterprise: "E-XT-1"})
	must(t, err)
	wantIDs(t, "points of E-XT-1", ids(pts, func(p meter.Point) string { return p.ID }), []string{"PT-1", "PT-2"})
	pts, err = s.Points(ctx, store.Filter{Park: "P-XT", Stage: meter.StageIntake})
	must(t, err)
	wantIDs(t, "intake points of P-XT", ids(pts, func(p meter.Point) string { return p.ID }), []string{"PT-1", "PT-3"})
	pts, err = s.Points(ctx, store.Filter{Level: meter.Level2})
	must(t, err)
	wantIDs(t, "level-2 points", ids(pts, func(p meter.Point) string { return p.ID }), []string{"PT-2"})
	ms, err := s.Meters(ctx, store.Filter{Park: "P-XT"})
	must(t, err)
	wantIDs(t, "meters of P-XT", ids(ms, func(m meter.Meter) string { return m.ID }), []string{"M-1", "M-2", "M-3"})
	ms, err = s.Meters(ctx, store.Filter{Enterprise: "E-CS-1"})
	must(t, err)
	wantIDs(t, "meters of E-CS-1", ids(ms, func(m meter.Meter) string { return m.ID }), []string{"M-4"})
	ms, err = s.Meters(ctx, store.Filter{Region: "430100"})
	must(t, err)
	wantIDs(t, "meters in 430100", ids(ms, func(m meter.Meter) string { return m.ID }), []string{"M-4"})
	ms, err = s.Meters(ctx, store.Filter{Point: "PT-2"})
	must(t, err)
	wantIDs(t, "meters of PT-2", ids(ms, func(m meter.Meter) string { return m.ID }), []string{"M-2"})

	// Create, update and references.
	wantErr(t, "duplicate enterprise", s.CreateEnterprise(ctx, meter.Enterprise{ID: "E-XT-1", Name: "x", Region: "430300"}), store.ErrExists)
	wantErr(t, "update missing park", s.UpdatePark(ctx, meter.Park{ID: "P-NONE", Name: "x", Region: "430300"}), store.ErrNotFound)
	wantErr(t, "enterprise in missing park", s.CreateEnterprise(ctx, meter.Enterprise{ID: "E-9", Name: "x", Park: "P-NONE", Region: "430300"}), store.ErrNotFound)
	wantErr(t, "point of missing enterprise", s.CreatePoint(ctx, meter.Point{ID: "PT-9", Enterprise: "E-NONE", Level: 1, Stage: meter.StageUse, Channels: []meter.Channel{chFlow}}), store.ErrNotFound)
	wantErr(t, "point with parent in another enterprise", s.CreatePoint(ctx, meter.Point{ID: "PT-9", Enterprise: "E-XT-2", Level: 2, Stage: meter.StageUse, Parent: "PT-1", Channels: []meter.Channel{chFlow}}), store.ErrInvalid)
	wantErr(t, "invalid point", s.CreatePoint(ctx, meter.Point{ID: "PT-9", Enterprise: "E-XT-1", Level: 4, Stage: meter.StageUse, Channels: []meter.Channel{chFlow}}), store.ErrInvalid)
	wantErr(t, "meter on missing point", s.CreateMeter(ctx, newMeter(t, "M-9", "PT-NONE")), store.ErrNotFound)
	bad := newMeter(t, "M-9", "PT-1")
	bad.Key = newMeter(t, "M-8", "PT-1").Key // signed for another meter
	wantErr(t, "meter with another meter's key", s.CreateMeter(ctx, bad), store.ErrInvalid)
	wantErr(t, "bad region code", s.CreatePark(ctx, meter.Park{ID: "P-9", Name: "x", Region: "43"}), store.ErrInvalid)
	wantErr(t, "get missing meter", errOf(s.Meter(ctx, "M-NONE")), store.ErrNotFound)

	e.Name = "湘潭钢铁"
	e.AboveScale = true
	must(t, s.UpdateEnterprise(ctx, e))
	e2, err := s.Enterprise(ctx, "E-XT-1")
	must(t, err)
	if e2.Name != "湘潭钢铁" || !e2.AboveScale {
		t.Errorf("update not stored: %+v", e2)
	}
	// The above-scale flag is kept per enterprise, and can be cleared.
	if others, err := s.Enterprises(ctx, store.Filter{Park: "P-XT"}); err != nil || len(others) != 2 || others[1].AboveScale {
		t.Errorf("above-scale flag leaked to another enterprise: %+v %v", others, err)
	}
	e.AboveScale = false
	must(t, s.UpdateEnterprise(ctx, e))
	if e2, err = s.Enterprise(ctx, "E-XT-1"); err != nil || e2.AboveScale {
		t.Errorf("above-scale flag not cleared: %+v %v", e2, err)
	}
	e.AboveScale = true
	must(t, s.UpdateEnterprise(ctx, e))
	p.Channels = append(p.Channels, meter.Channel{Name: "ph", Unit: "[pH]", Kind: meter.Rate, Min: 0, Max: 14})
	must(t, s.UpdatePoint(ctx, p))
	p2, err := s.Point(ctx, "PT-1")
	must(t, err)
	if len(p2.Channels) != 4 {
		t.Errorf("point update not stored: %+v", p2)
	}
	m.Serial = "SN-1"
	must(t, s.UpdateMeter(ctx, m))
	must(t, s.RevokeMeter(ctx, "M-1"))
	m2, err := s.Meter(ctx, "M-1")
	must(t, err)
	if !m2.Revoked || m2.Serial != "SN-1" {
		t.Errorf("revoke/update not stored: %+v", m2)
	}
	wantErr(t, "revoke missing meter", s.RevokeMeter(ctx, "M-NONE"), store.ErrNotFound)
}

func errOf[T any](_ T, err error) error { return err }
