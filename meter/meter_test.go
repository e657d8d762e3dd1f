package meter

import (
	"reflect"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/reading"
)

func TestPointValidate(t *testing.T) {
	total, _ := StandardChannel("total_m3")
	good := Point{ID: "P1", Enterprise: "E1", Level: Level1, Stage: StageIntake, Source: SourceGround, Channels: []Channel{total}}
	if err := good.Validate(); err != nil {
		t.Fatalf("good point: %v", err)
	}
	mut := func(f func(p *Point)) Point {
		p := good
		p.Channels = append([]Channel(nil), good.Channels...)
		f(&p)
		return p
	}
	for name, p := range map[string]Point{
		"level 0":          mut(func(p *Point) { p.Level = 0 }),
		"level 4":          mut(func(p *Point) { p.Level = 4 }),
		"bad stage":        mut(func(p *Point) { p.Stage = "pond" }),
		"intake no source": mut(func(p *Point) { p.Source = "" }),
		"use with source":  mut(func(p *Point) { p.Stage = StageUse }),
		"no channels":      mut(func(p *Point) { p.Channels = nil }),
		"dup channel":      mut(func(p *Point) { p.Channels = append(p.Channels, total) }),
		"bad channel kind": mut(func(p *Point) { p.Channels[0].Kind = "avg" }),
		"rate rollover":    mut(func(p *Point) { p.Channels[0].Kind = Rate; p.Channels[0].Rollover = 10 }),
		"no enterprise":    mut(func(p *Point) { p.Enterprise = "" }),
	} {
		if err := p.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, p)
		}
	}
}

func TestCatalogues(t *testing.T) {
	for _, name := range []string{"total_m3", "flow_m3h", "ph", "cond_us_cm", "turb_ntu", "cod_mg_l", "pressure_mpa"} {
		c, ok := StandardChannel(name)
		if !ok {
			t.Fatalf("channel %s missing", name)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if c, _ := StandardChannel("total_m3"); c.Kind != Total {
		t.Errorf("total_m3 kind %s", c.Kind)
	}
	if c, _ := StandardChannel("ph"); c.Plausible(15) || !c.Plausible(7) {
		t.Errorf("ph bounds wrong: %+v", c)
	}
	regions := HunanRegions()
	if len(regions) != 15 || !regions[0].IsProvince() {
		t.Fatalf("Hunan regions: %d, first %+v", len(regions), regions[0])
	}
	for _, r := range regions {
		if err := ValidRegionCode(r.Code); err != nil {
			t.Error(err)
		}
		if !r.IsProvince() && ProvinceOf(r.Code) != "430000" {
			t.Errorf("%s not in Hunan", r.Code)
		}
	}
	if in, ok := IndustryByCode("3120"); !ok || in.Name != "炼钢" {
		t.Errorf("industry 3120: %+v %v", in, ok)
	}
	if CityOf("430302") != "430300" || ProvinceOf("430302") != "430000" {
		t.Error("CityOf/ProvinceOf")
	}
}

func TestPointLedgerEntryRoundTrip(t *testing.T) {
	total, _ := StandardChannel("total_m3")
	total.Rollover = 99999.99
	flow, _ := StandardChannel("flow_m3h")
	p := Point{ID: "P3", Enterprise: "E1", Name: "冷却塔补水", NameEN: "Tower make-up", Level: Level3, Stage: StageCascade,
		Parent: "P2", Reuse: ReuseWastewater, From: "P9", Channels: []Channel{total, flow}}
	e := p.LedgerEntry(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	parsed, err := reading.ParsePointEntry([]byte(e.Text()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := PointOf(parsed)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("round trip:\n%+v\nvs\n%+v", got, p)
	}
	bad := *parsed
	bad.Stage = "pond"
	if _, err := PointOf(&bad); err == nil {
		t.Fatal("a point entry with an unknown stage must not make a point")
	}
}
