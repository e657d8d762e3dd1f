package meter

import (
	"reflect"
	"testing"

	"github.com/shuixiao/shuixiao/reading"
)

func TestBalanceTrustOf(t *testing.T) {
	ms := []Meter{
		{ID: "m1", Point: "IN"},
		{ID: "m2", Point: "IN", Signed: SignedByGateway, Gateway: "gw-b"},
		{ID: "m3", Point: "OUT", Signed: SignedByGateway, Gateway: "gw-a"},
		{ID: "m4", Point: "OUT", Signed: SignedByGateway, Gateway: "gw-b"},
		{ID: "m5", Point: "REUSE", Signed: SignedByMeter},
	}
	b := BalanceTrustOf(ms)
	if b.Level != TrustMixed {
		t.Errorf("level %q, want mixed", b.Level)
	}
	want := map[string]TrustSummary{
		"IN":    {Level: TrustMixed, Meters: map[string]string{"m1": reading.TrustMeter, "m2": reading.TrustGateway}, Gateways: []string{"gw-b"}},
		"OUT":   {Level: reading.TrustGateway, Meters: map[string]string{"m3": reading.TrustGateway, "m4": reading.TrustGateway}, Gateways: []string{"gw-a", "gw-b"}},
		"REUSE": {Level: reading.TrustMeter, Meters: map[string]string{"m5": reading.TrustMeter}},
	}
	if !reflect.DeepEqual(b.Points, want) {
		t.Errorf("points %+v\nwant %+v", b.Points, want)
	}
	if got, want := b.PointsByLevel(), map[string][]string{TrustMixed: {"IN"}, reading.TrustGateway: {"OUT"}, reading.TrustMeter: {"REUSE"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("by level %v, want %v", got, want)
	}
	if l := BalanceTrustOf(ms[4:]).Level; l != reading.TrustMeter {
		t.Errorf("one meter-signed meter: %q", l)
	}
	if e := BalanceTrustOf(nil); e.Level != "" || len(e.Points) != 0 {
		t.Errorf("no meters: %+v", e)
	}
}
