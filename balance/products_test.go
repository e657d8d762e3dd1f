package balance

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPlanTable(t *testing.T) {
	for _, c := range []struct {
		name, unit       string
		baseline, target float64
	}{
		{"粗钢", "t", 3.5, 3.15}, {"啤酒", "kL", 4.5, 3.825}, {"未涂布印刷书写纸", "t", 18, 16.2},
		{"机织印染布", "100m", 1.6, 1.36}, {"漂白化学木浆", "Adt", 70, 63}, {"合成氨(烟煤)", "t", 12, 11.4},
		{"白酒（原酒）", "kL", 51, 43.35}, {"锌冶炼（湿法）", "t", 10, 9.5}, {"石油炼制", "t", 0.56, 0.532},
	} {
		p, ok := LookupProduct(c.name)
		if !ok {
			t.Errorf("%s not in the plan table", c.name)
			continue
		}
		tg, ok := p.Target2025()
		if p.Unit != c.unit || p.Baseline != c.baseline || !ok || tg != c.target {
			t.Errorf("%s: unit %s baseline %v target %v, want %s %v %v", c.name, p.Unit, p.Baseline, tg, c.unit, c.baseline, c.target)
		}
	}
	if p, ok := LookupProduct("乙烯"); !ok || p.HasBaseline {
		t.Errorf("乙烯: %+v %v (the plan gives no 2020 figure)", p, ok)
	} else if _, ok := p.Target2025(); ok {
		t.Error("乙烯 has a 2025 target")
	}
	if _, ok := LookupProduct("钢"); ok {
		t.Error("unknown product found")
	}
}

func TestBuiltinQuotasMarkedAsReference(t *testing.T) {
	q := BuiltinQuotas()
	set := q.For("机织印染布")
	if len(set) != 1 || set[0].Grade != 3 || set[0].Limit != 1.6 || set[0].Unit != "m3/100m" || set[0].Verified {
		t.Fatalf("机织印染布 quotas %+v", set)
	}
	// The reference marks every quota value it has [U]: none may be verified.
	for _, name := range productNames() {
		for _, x := range q.For(name) {
			if x.Verified || !strings.Contains(x.Source, "[U]") {
				t.Errorf("%s grade %d: verified %v source %q", name, x.Grade, x.Verified, x.Source)
			}
		}
	}
	if len(q.For("粗钢")) != 0 {
		t.Error("粗钢 has a quota the references do not give")
	}
}

func quotasFrom(t *testing.T, csv string) (*Quotas, error) {
	t.Helper()
	return ReadQuotas(strings.NewReader(csv), "q.csv")
}

func TestGradeBoundaries(t *testing.T) {
	q, err := quotasFrom(t, "product,unit,grade,limit\n粗钢,m3/t,1,3.0\n粗钢,m3/t,2,3.5\n粗钢,m3/t,3,4.0\n")
	if err != nil {
		t.Fatal(err)
	}
	set := q.For("粗钢")
	for _, c := range []struct {
		v    float64
		want string
	}{{0, "1"}, {2.9, "1"}, {3.0, "1"}, {3.0000001, "2"}, {3.5, "2"}, {3.5000001, "3"}, {4.0, "3"}, {4.0000001, "over"}, {100, "over"}} {
		if g := Grade(set, c.v); g != c.want {
			t.Errorf("Grade(%v) = %s, want %s", c.v, g, c.want)
		}
	}
	// Through the report: 350 m³ for 100 t is exactly the grade-2 limit.
	res := ProductFigures(known(350, ""), []Production{{Product: "粗钢", Quantity: 100, Unit: "t"}}, q)
	if r := res["粗钢"]; r.Grade != "2" || r.IntakePerUnit.Value != 3.5 {
		t.Errorf("粗钢: grade %s, intake per unit %v", r.Grade, r.IntakePerUnit.Value)
	}
	res = ProductFigures(known(351, ""), []Production{{Product: "粗钢", Quantity: 100, Unit: "t"}}, q)
	if r := res["粗钢"]; r.Grade != "3" {
		t.Errorf("3.51 m³/t graded %s", r.Grade)
	}
	// A single-grade table (the built-in 3级 values): at the limit is grade 3, above is over.
	b := BuiltinQuotas()
	for v, want := range map[float64]string{160: "3", 161: "over"} {
		res := ProductFigures(known(v, ""), []Production{{Product: "机织印染布", Quantity: 100, Unit: "100m"}}, b)
		if g := res["机织印染布"].Grade; g != want {
			t.Errorf("机织印染布 %v m³ / 100 units graded %s, want %s", v, g, want)
		}
	}
	// Units in another letter case are the same units.
	if q, err := quotasFrom(t, "product,unit,grade,limit\n啤酒,M3/KL,1,3\n"); err != nil || q.For("啤酒")[0].Unit != "m3/kL" {
		t.Errorf("M3/KL: %v", err)
	}
	// Two-value tables (先进值/通用值) are grades 1 and 2.
	q, err = quotasFrom(t, "product,unit,grade,limit,label\n啤酒,m3/kL,先进值,3.0,\n啤酒,m3/kL,通用值,4.5,\n")
	if err != nil {
		t.Fatal(err)
	}
	if s := q.For("啤酒"); len(s) != 2 || s[1].Grade != 2 || s[1].Label != "通用值" || Grade(s, 4.5) != "2" {
		t.Errorf("啤酒 %+v", s)
	}
}

func TestQuotaTableErrors(t *testing.T) {
	for _, c := range []struct{ name, csv, want string }{
		{"duplicate grade", "product,unit,grade,limit\n粗钢,m3/t,1,3\n粗钢,m3/t,1,3.2\n", "q.csv line 3, field grade: 粗钢 grade 1 already given (q.csv line 2)"},
		{"duplicate by label", "product,unit,grade,limit\n粗钢,m3/t,3,3\n粗钢,m3/t,现有企业,3.2\n", "line 3, field grade"},
		{"gap", "product,unit,grade,limit\n粗钢,m3/t,1,3\n粗钢,m3/t,3,4\n", "q.csv line 3, field grade: 粗钢 has grades 1 and 3 but no grade 2"},
		{"not monotone", "product,unit,grade,limit\n粗钢,m3/t,1,3\n粗钢,m3/t,2,2.5\n", "q.csv line 3, field limit: 粗钢 grade 2 limit 2.5 is below grade 1 limit 3"},
		{"unknown unit", "product,unit,grade,limit\n粗钢,m3/kg,1,3\n", "q.csv line 2, field unit: unknown unit \"m3/kg\""},
		{"wrong unit", "product,unit,grade,limit\n啤酒,m3/t,1,3\n", "q.csv line 2, field unit: 啤酒 is counted in m3/kL, not m3/t"},
		{"no m3/", "product,unit,grade,limit\n粗钢,t,1,3\n", "q.csv line 2, field unit: unknown unit \"t\""},
		{"unknown product", "product,unit,grade,limit\n味精,m3/t,1,3\n", "q.csv line 2, field product: unknown product \"味精\""},
		{"unknown grade", "product,unit,grade,limit\n粗钢,m3/t,4,3\n", "q.csv line 2, field grade: unknown grade \"4\""},
		{"zero limit", "product,unit,grade,limit\n粗钢,m3/t,1,0\n", "q.csv line 2, field limit: 0 is not a positive limit"},
		{"negative limit", "product,unit,grade,limit\n粗钢,m3/t,1,-3\n", "q.csv line 2, field limit: -3 is outside"},
		{"text limit", "product,unit,grade,limit\n粗钢,m3/t,1,三\n", "q.csv line 2, field limit: \"三\" is not a number"},
		{"nan limit", "product,unit,grade,limit\n粗钢,m3/t,1,NaN\n", "field limit: \"NaN\" is not a number"},
		{"bad verified", "product,unit,grade,limit,verified\n粗钢,m3/t,1,3,maybe\n", "q.csv line 2, field verified"},
		{"missing column", "product,unit,limit\n粗钢,m3/t,3\n", "q.csv line 1: no column \"grade\""},
		{"unknown column", "product,unit,grade,limit,value\n粗钢,m3/t,1,3,3\n", "q.csv line 1: unknown column \"value\""},
		{"empty", "", "q.csv: empty file"},
		{"no rows", "product,unit,grade,limit\n", "q.csv: no quotas"},
		{"ragged", "product,unit,grade,limit\n粗钢,m3/t,1\n", "wrong number of fields"},
	} {
		_, err := quotasFrom(t, c.csv)
		wantError(t, c.name, err, c.want)
	}
}

func TestProductFigures(t *testing.T) {
	intake := known(5580, "")
	res := ProductFigures(intake, []Production{{Product: "未涂布印刷书写纸", Quantity: 310, Unit: "t"}}, BuiltinQuotas())
	r := res["未涂布印刷书写纸"]
	check(t, "per unit", r.IntakePerUnit, 18)
	if r.Grade != "3" {
		t.Errorf("grade %s", r.Grade)
	}
	b, _ := json.Marshal(r)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for k, want := range map[string]any{"intake_per_unit": 18.0, "unit": "m3/t", "quota_grade": "3", "baseline_2020": 18.0,
		"target_2025": 16.2, "meets_target_2025": false, "quota_verified": false, "decrease_2025": 0.1} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	// Several products: no per-unit figure, and the reason says why.
	res = ProductFigures(intake, []Production{{Product: "粗钢", Quantity: 1000, Unit: "t"}, {Product: "啤酒", Quantity: 10, Unit: "kL"}}, BuiltinQuotas())
	for name, r := range res {
		checkAbsent(t, name, r.IntakePerUnit, "several products")
		if r.Grade != "" {
			t.Errorf("%s graded without a figure", name)
		}
	}
	// An absent intake gives an absent figure with the intake's reason.
	res = ProductFigures(absent("intake: no volume for IN-1"), []Production{{Product: "粗钢", Quantity: 1000, Unit: "t"}}, BuiltinQuotas())
	checkAbsent(t, "粗钢", res["粗钢"].IntakePerUnit, "IN-1")
}

func TestDefaultSettings(t *testing.T) {
	if s := DefaultSettings(); s != (Settings{Tolerance: 0.05, MeteringRatioMin: 0.95, UnitTolerance: 0.05}) {
		t.Errorf("settings %+v", s)
	}
}
