package balance

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// wantError fails unless err is an error whose message contains want.
func wantError(t *testing.T, name string, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("%s: error %v, want %q", name, err, want)
	}
}

func TestReadVolumes(t *testing.T) {
	vt, err := ReadVolumes(strings.NewReader("\uFEFFpoint, m3\n# comment\nIN-1, 100.5\nU-1,0\n"), "v.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(vt.Volumes) != 2 || vt.Volumes["IN-1"] != 100.5 || vt.Volumes["U-1"] != 0 {
		t.Errorf("volumes %v", vt.Volumes)
	}
	for _, c := range []struct{ name, csv, want string }{
		{"duplicate", "point,m3\nA,1\nB,2\nA,3\n", "v.csv line 4, field point: point A already given on line 2"},
		{"negative", "point,m3\nA,-1\n", "v.csv line 2, field m3: -1 is outside"},
		{"absurd", "point,m3\nA,1e11\n", "v.csv line 2, field m3: 1e+11 is outside"},
		{"inf", "point,m3\nA,Inf\n", "v.csv line 2, field m3: \"Inf\" is not a number"},
		{"hex", "point,m3\nA,0x10\n", "v.csv line 2, field m3: \"0x10\" is not a number"},
		{"comma decimal", "point,m3\nA,\"1,5\"\n", "v.csv line 2, field m3: \"1,5\" is not a number"},
		{"empty volume", "point,m3\nA,\n", "v.csv line 2, field m3: empty"},
		{"bad id", "point,m3\nA B,1\n", "v.csv line 2, field point"},
		{"header", "id,m3\nA,1\n", "v.csv line 1: unknown column \"id\""},
		{"quote", "point,m3\n\"A,1\n", "v.csv"},
	} {
		_, err := ReadVolumes(strings.NewReader(c.csv), "v.csv")
		wantError(t, c.name, err, c.want)
	}
	points, _ := workedExample()
	ph, _ := meter.StandardChannel("ph")
	points = append(points, meter.Point{ID: "PH", Enterprise: "E", Level: 1, Stage: meter.StageDischarge, Channels: []meter.Channel{ph}})
	vt, _ = ReadVolumes(strings.NewReader("point,m3\nIN-GW,1\nNOPE,2\nPH,3\n"), "v.csv")
	err = vt.Check(points)
	if err == nil || !strings.Contains(err.Error(), "v.csv line 3, field point: unknown point NOPE") ||
		!strings.Contains(err.Error(), "v.csv line 4, field point: point PH measures no volume") {
		t.Errorf("check: %v", err)
	}
}

func TestReadProduction(t *testing.T) {
	ps, err := ReadProduction(strings.NewReader("product,quantity,unit\n合成氨(烟煤),1200,T\n机织印染布,5000,100M\n"), "p.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Product != "合成氨（烟煤）" || ps[0].Unit != "t" || ps[1].Unit != "100m" || ps[1].Quantity != 5000 {
		t.Errorf("production %+v", ps)
	}
	for _, c := range []struct{ name, csv, want string }{
		{"unknown product", "product,quantity,unit\n钢,1,t\n", "p.csv line 2, field product: unknown product \"钢\""},
		{"unknown unit", "product,quantity,unit\n粗钢,1,kg\n", "p.csv line 2, field unit: unknown unit \"kg\""},
		{"wrong unit", "product,quantity,unit\n啤酒,1,t\n", "p.csv line 2, field unit: 啤酒 is counted in kL, not t"},
		{"negative", "product,quantity,unit\n粗钢,-5,t\n", "p.csv line 2, field quantity: -5 is outside"},
		{"zero", "product,quantity,unit\n粗钢,0,t\n", "p.csv line 2, field quantity: zero output"},
		{"absurd", "product,quantity,unit\n粗钢,2e9,t\n", "p.csv line 2, field quantity: 2e+09 is outside"},
		{"duplicate", "product,quantity,unit\n粗钢,1,t\n粗钢,2,t\n", "p.csv line 3, field product: product 粗钢 already given on line 2"},
		{"no rows", "product,quantity,unit\n", "p.csv: no products"},
		{"missing column", "product,quantity\n粗钢,1\n", "p.csv line 1: no column \"unit\""},
	} {
		_, err := ReadProduction(strings.NewReader(c.csv), "p.csv")
		wantError(t, c.name, err, c.want)
	}
}

func TestReadPoints(t *testing.T) {
	points, _ := workedExample()
	good, _ := json.Marshal(points)
	got, err := ReadPoints(strings.NewReader(string(good)), "p.json")
	if err != nil || len(got) != len(points) || got[5].From != "U-A" || got[2].Purpose != meter.PurposeIndirectCooling {
		t.Fatalf("read back: %v %+v", err, got)
	}
	mutate := func(f func(ps []map[string]any) []map[string]any) string {
		var ps []map[string]any
		_ = json.Unmarshal(good, &ps)
		b, _ := json.Marshal(f(ps))
		return string(b)
	}
	for _, c := range []struct{ name, json, want string }{
		{"not json", "{", "p.json: unexpected EOF"},
		{"empty", "[]", "p.json: no points"},
		{"object", `{"id":"A"}`, "p.json: json: cannot unmarshal object"},
		{"unknown field", mutate(func(ps []map[string]any) []map[string]any { ps[0]["purpse"] = "x"; return ps }), "unknown field \"purpse\""},
		{"invalid point", mutate(func(ps []map[string]any) []map[string]any { ps[3]["level"] = 7; return ps }), "p.json: point 4: point U-B: level 7"},
		{"bad purpose", mutate(func(ps []map[string]any) []map[string]any { ps[3]["purpose"] = "cooling"; return ps }), "point 4: point U-B: unknown purpose"},
		{"duplicate", mutate(func(ps []map[string]any) []map[string]any { ps[1]["id"] = "IN-GW"; return ps }), "point 2: id IN-GW already used by point 1"},
		{"two enterprises", mutate(func(ps []map[string]any) []map[string]any { ps[4]["enterprise"] = "F"; return ps }), "point 5 (A-RECIRC) is of enterprise F"},
		{"unknown parent", mutate(func(ps []map[string]any) []map[string]any { ps[4]["parent"] = "U-X"; return ps }), "point 5 (A-RECIRC), field parent: no point U-X"},
		{"unknown from", mutate(func(ps []map[string]any) []map[string]any { ps[5]["from"] = "U-X"; return ps }), "point 6 (A-TO-B), field from: no point U-X"},
		{"cycle", mutate(func(ps []map[string]any) []map[string]any { ps[0]["parent"] = "U-A"; return ps }), "field parent: the parents form a cycle"},
		{"trailing", string(good) + "[]", "data after the array"},
	} {
		_, err := ReadPoints(strings.NewReader(c.json), "p.json")
		wantError(t, c.name, err, c.want)
	}
}

// The parsers never panic, and what they accept obeys their rules.
func FuzzReadVolumes(f *testing.F) {
	f.Add("point,m3\nIN-1,100\nU-1,0.5\n")
	f.Add("\uFEFFpoint,m3\n# c\nA,1e3\n")
	f.Add("point,m3\nA,1\nA,2\n")
	f.Add("m3,point\n5,\"A\"\n")
	f.Fuzz(func(t *testing.T, s string) {
		vt, err := ReadVolumes(strings.NewReader(s), "f.csv")
		if err != nil {
			return
		}
		for id, v := range vt.Volumes {
			if reading.ValidID(id) != nil || !(v >= 0 && v <= MaxVolume) {
				t.Fatalf("accepted %q = %v", id, v)
			}
		}
	})
}

func FuzzReadProduction(f *testing.F) {
	f.Add("product,quantity,unit\n粗钢,1000,t\n")
	f.Add("product,quantity,unit\n合成氨(烟煤),1,t\n机织印染布,2,100m\n")
	f.Add("unit,product,quantity\nkL,啤酒,0.5\n")
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ReadProduction(strings.NewReader(s), "f.csv")
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, p := range ps {
			plan, ok := LookupProduct(p.Product)
			if !ok || plan.Unit != p.Unit || !(p.Quantity > 0 && p.Quantity <= MaxQuantity) || seen[p.Product] {
				t.Fatalf("accepted %+v", p)
			}
			seen[p.Product] = true
		}
	})
}

func FuzzReadQuotas(f *testing.F) {
	f.Add("product,unit,grade,limit\n粗钢,m3/t,1,3.0\n粗钢,m3/t,2,3.5\n粗钢,m3/t,3,4.0\n")
	f.Add("product,unit,grade,limit,label,verified\n啤酒,m3/kL,先进值,3,,yes\n啤酒,m3/kL,通用值,4.5,,no\n")
	f.Add("product,unit,grade,limit\n粗钢,m3/t,1,3\n粗钢,m3/t,3,4\n")
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ReadQuotas(strings.NewReader(s), "f.csv")
		if err != nil {
			return
		}
		for _, name := range productNames() {
			set := q.For(name)
			for i, x := range set {
				if i > 0 && (x.Grade != set[i-1].Grade+1 || x.Limit < set[i-1].Limit) || !(x.Limit > 0) {
					t.Fatalf("accepted %s %+v", name, set)
				}
			}
		}
	})
}

func FuzzReadPoints(f *testing.F) {
	points, _ := workedExample()
	good, _ := json.Marshal(points)
	f.Add(string(good))
	f.Add(`[{"id":"A","enterprise":"E","level":1,"stage":"intake","source":"ground","channels":[{"name":"total_m3","quantity":"volume","unit":"m3","kind":"total","min":0,"max":1}]}]`)
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ReadPoints(strings.NewReader(s), "f.json")
		if err != nil {
			return
		}
		for _, p := range ps {
			if p.Validate() != nil {
				t.Fatalf("accepted invalid %+v", p)
			}
		}
		// Whatever was accepted evaluates without panicking.
		_ = Evaluate(ps, Volumes{}, Options{Settings: DefaultSettings()})
	})
}

func TestInputSizeLimit(t *testing.T) {
	defer func(n int64) { maxInputBytes = n }(maxInputBytes)
	maxInputBytes = 1 << 10
	big := strings.Repeat(" ", int(maxInputBytes))
	_, err := ReadVolumes(strings.NewReader("point,m3\nA,1"+big+"\n"), "v.csv")
	wantError(t, "big csv", err, "v.csv: larger than")
	_, err = ReadPoints(strings.NewReader("["+big+"]"), "p.json")
	wantError(t, "big json", err, "p.json: larger than")
}
