package meter

import (
	"encoding/json"
	"testing"
)

func TestPointRoles(t *testing.T) {
	total, _ := StandardChannel("total_m3")
	base := func(stage Stage) Point {
		return Point{ID: "P1", Enterprise: "E1", Level: Level2, Stage: stage, Parent: "U1", Channels: []Channel{total}}
	}
	with := func(stage Stage, f func(p *Point)) Point { p := base(stage); f(&p); return p }
	for _, tc := range []struct {
		name string
		p    Point
		ok   bool
	}{
		{"old point, no roles", base(StageCascade), true},
		{"use purpose", with(StageUse, func(p *Point) { p.Purpose = PurposeIndirectCooling }), true},
		{"recirculation purpose", with(StageRecirculation, func(p *Point) { p.Purpose = PurposeDirectCooling }), true},
		{"unknown purpose", with(StageUse, func(p *Point) { p.Purpose = "cooling" }), false},
		{"discharge purpose", with(StageDischarge, func(p *Point) { p.Purpose = PurposeProcess }), false},
		{"condensate cascade", with(StageCascade, func(p *Point) { p.Reuse = ReuseCondensate; p.From = "U2" }), true},
		{"wastewater cascade", with(StageCascade, func(p *Point) { p.Reuse = ReuseWastewater }), true},
		{"recirculated on cascade", with(StageCascade, func(p *Point) { p.Reuse = ReuseRecirculated }), false},
		{"cascaded on recirculation", with(StageRecirculation, func(p *Point) { p.Reuse = ReuseCascaded }), false},
		{"reuse on use", with(StageUse, func(p *Point) { p.Reuse = ReuseCascaded }), false},
		{"unknown reuse", with(StageCascade, func(p *Point) { p.Reuse = "grey" }), false},
		{"from on recirculation", with(StageRecirculation, func(p *Point) { p.From = "U2" }), false},
		{"from itself", with(StageCascade, func(p *Point) { p.From = "P1" }), false},
		{"from bad id", with(StageCascade, func(p *Point) { p.From = "a b" }), false},
		{"consumption outflow", with(StageDischarge, func(p *Point) { p.Outflow = OutflowConsumption }), true},
		{"outflow on use", with(StageUse, func(p *Point) { p.Outflow = OutflowDischarge }), false},
		{"unknown outflow", with(StageDischarge, func(p *Point) { p.Outflow = "drain" }), false},
	} {
		if err := tc.p.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	if k := base(StageRecirculation).ReuseKindOf(); k != ReuseRecirculated {
		t.Errorf("recirculation default kind %q", k)
	}
	if k := base(StageCascade).ReuseKindOf(); k != ReuseCascaded {
		t.Errorf("cascade default kind %q", k)
	}
	if o := base(StageDischarge).OutflowOf(); o != OutflowDischarge {
		t.Errorf("discharge default outflow %q", o)
	}
	if o := base(StageUse).OutflowOf(); o != "" {
		t.Errorf("use outflow %q", o)
	}
}

// A point stored before the balance fields existed still decodes and
// validates, and encoding it adds none of the new keys.
func TestPointJSONCompatible(t *testing.T) {
	old := `{"id":"IN1","enterprise":"E1","name":"总进水","level":1,"stage":"intake","source":"ground",
		"channels":[{"name":"total_m3","quantity":"volume","unit":"m3","kind":"total","min":0,"max":1e12}]}`
	var p Point
	if err := json.Unmarshal([]byte(old), &p); err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p)
	var keys map[string]any
	_ = json.Unmarshal(b, &keys)
	for _, k := range []string{"purpose", "reuse", "from", "outflow"} {
		if _, ok := keys[k]; ok {
			t.Errorf("old point encodes %s: %s", k, b)
		}
	}
}
