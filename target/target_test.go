package target

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/shuixiao/shuixiao/meter"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestPlanTargets(t *testing.T) {
	in, ok := Lookup(KeyIntensity)
	if !ok || !in.Relative || !in.Lower || in.Value != -0.16 || !in.Verified {
		t.Fatalf("intensity target %+v", in)
	}
	if v, ok := in.Target2025(46.87, true); !ok || !near(v, 39.3708, 1e-9) {
		t.Errorf("intensity 2025 from 46.87 = %v %v, want 39.3708", v, ok)
	}
	if _, ok := in.Target2025(0, false); ok {
		t.Error("a relative target without a 2020 value has no 2025 value")
	}
	re, _ := Lookup(KeyReuse)
	if re.Relative || re.Lower || re.Value != 0.94 || !re.AboveScaleOnly || re.ParksOnly {
		t.Errorf("reuse target %+v", re)
	}
	nc, _ := Lookup(KeyNonConventional)
	if !nc.ParksOnly || nc.Value != 0.10 || nc.Lower {
		t.Errorf("non-conventional target %+v", nc)
	}
	steel, ok := Lookup(ProductKey("粗钢"))
	if !ok || steel.Unit != "m3/t" || steel.Value != -0.10 || !steel.Lower {
		t.Errorf("粗钢 %+v", steel)
	}
	if b, ok := productBaseline(ProductKey("粗钢")); !ok || b != 3.5 {
		t.Errorf("粗钢 baseline %v %v", b, ok)
	}
	if _, ok := productBaseline(ProductKey("乙烯")); ok {
		t.Error("乙烯 has no 2020 figure in the plan")
	}
	if _, ok := Lookup(ProductKey("黄金")); ok {
		t.Error("a product outside the plan's table has no target")
	}
}

func TestExpectedTrajectory(t *testing.T) {
	cases := []struct {
		year int
		want float64
	}{{2019, 50}, {2020, 50}, {2021, 48.4}, {2022, 46.8}, {2023, 45.2}, {2025, 42}, {2027, 42}}
	for _, c := range cases {
		if got := Expected(50, 42, c.year); !near(got, c.want, 1e-12) {
			t.Errorf("Expected(50, 42, %d) = %v, want %v", c.year, got, c.want)
		}
	}
	if !OnTrack(46.8, 46.8, true) || OnTrack(46.9, 46.8, true) || !OnTrack(0.9, 0.89, false) || OnTrack(0.88, 0.89, false) {
		t.Error("OnTrack")
	}
}

func TestYearSums(t *testing.T) {
	y := Year{Year: 2021, Intake: Known(1000), ValueAdded: Known(40), Reuse: Known(9000), NonConventional: Known(50),
		Output: map[string]float64{"粗钢": 400}, Basis: Metered}
	all := Member{InPark: true, AboveScale: true}
	s := YearSums(y, all)
	if p := s[KeyIntensity]; p.Num != 1_000_000 || p.Den != 40_000 || p.Metered != 1 || p.Declared != 0 {
		t.Errorf("intensity %+v", p)
	}
	if v, _ := s[KeyReuse].Ratio(); v != 0.9 {
		t.Errorf("reuse rate %v, want 0.9 = 9000/(9000+1000)", v)
	}
	if v, _ := s[KeyNonConventional].Ratio(); v != 0.05 {
		t.Errorf("non-conventional rate %v", v)
	}
	if v, _ := s[ProductKey("粗钢")].Ratio(); v != 2.5 {
		t.Errorf("粗钢 intake per t %v", v)
	}
	out := YearSums(y, Member{AboveScale: true})
	if _, ok := out[KeyNonConventional]; ok {
		t.Error("the non-conventional target is for park enterprises only")
	}
	if _, ok := out[KeyReuse]; !ok {
		t.Error("an above-scale enterprise outside parks counts towards the reuse rate")
	}
	small := YearSums(y, Member{InPark: true})
	if _, ok := small[KeyReuse]; ok {
		t.Error("the reuse-rate target is for above-scale enterprises only")
	}
	if _, ok := small[KeyIntensity]; !ok {
		t.Error("the intensity target is for every enterprise")
	}
	y.Output = map[string]float64{"粗钢": 400, "烧碱": 10}
	if _, ok := YearSums(y, all)[ProductKey("粗钢")]; ok {
		t.Error("several products share the intake: no intake per unit")
	}
	y.ValueAdded = Quantity{}
	if _, ok := YearSums(y, all)[KeyIntensity]; ok {
		t.Error("intensity without value added")
	}
	y.Intake = Quantity{}
	if s := YearSums(y, all); len(s) != 0 {
		t.Errorf("no intake, no figure: %v", s)
	}
	if s := YearSums(Year{Intake: Known(1), ValueAdded: Known(1)}, all); len(s) != 0 {
		t.Error("a figure without basis counts for nothing")
	}
}

// province builds a province of 3 cities, 4 parks and n enterprises with
// random figures for 2020–2023, some of them missing.
func province(t *testing.T, n int, seed uint64) (*Tree, Input) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	in := Input{
		Province: meter.Region{Code: "430000", Name: "湖南省"},
		Regions: []meter.Region{{Code: "430000", Name: "湖南省"}, {Code: "430100", Name: "长沙市", Parent: "430000"},
			{Code: "430200", Name: "株洲市", Parent: "430000"}, {Code: "430600", Name: "岳阳市", Parent: "430000"}},
		Parks: []meter.Park{{ID: "p1", Name: "园一", Region: "430100"}, {ID: "p2", Name: "园二", Region: "430100"},
			{ID: "p3", Name: "园三", Region: "430200"}, {ID: "p4", Name: "园四", Region: "430600"}},
		Figures: map[string][]Year{},
	}
	parks := []string{"", "p1", "p2", "p3", "p4"}
	regions := []string{"430102", "430211", "430602"}
	industries := []string{"3110", "2211", "1513"}
	products := []string{"粗钢", "未涂布印刷书写纸", "啤酒"}
	for i := 0; i < n; i++ {
		e := meter.Enterprise{ID: "e" + string(rune('a'+i%26)) + strings.Repeat("x", i/26), Name: "企业", Park: parks[rng.IntN(len(parks))],
			Region: regions[rng.IntN(len(regions))], Industry: industries[i%3], Products: []string{products[i%3]}, AboveScale: rng.IntN(3) > 0}
		in.Enterprises = append(in.Enterprises, e)
		for y := 2020; y <= 2023; y++ {
			if rng.IntN(10) == 0 {
				continue // no figures that year
			}
			basis := Declared
			if y == 2023 {
				basis = Metered
			}
			fy := Year{Year: y, Basis: basis, Intake: Known(1e4 + rng.Float64()*1e6), Reuse: Known(rng.Float64() * 1e7),
				Output: map[string]float64{products[i%3]: 1 + rng.Float64()*1e5}}
			if rng.IntN(5) > 0 {
				fy.ValueAdded = Known(1 + rng.Float64()*1e5)
			}
			if rng.IntN(3) > 0 {
				fy.NonConventional = Known(rng.Float64() * fy.Intake.Value * 0.3)
			}
			in.Figures[e.ID] = append(in.Figures[e.ID], fy)
		}
	}
	tr, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	return tr, in
}

// TestRollupsSumExactly checks that every unit's pairs are exactly the sums
// of its children's, in both trees, and that the province is the sum of
// its enterprises whichever way it is reached.
func TestRollupsSumExactly(t *testing.T) {
	tr, in := province(t, 200, 7)
	check := func(root *Unit) {
		root.walk(func(u *Unit) {
			if len(u.Children) == 0 {
				return
			}
			for y := 2020; y <= 2023; y++ {
				sum := Sums{}
				for _, c := range u.Children {
					sum.add(c.Years[y])
				}
				if len(sum) != len(u.Years[y]) {
					t.Errorf("%s %s %d: %d keys, children have %d", u.Level, u.Code, y, len(u.Years[y]), len(sum))
				}
				for k, p := range sum {
					if u.Years[y][k] != p {
						t.Errorf("%s %s %d %s: %+v, children sum to %+v", u.Level, u.Code, y, k, u.Years[y][k], p)
					}
				}
			}
		})
	}
	check(tr.Province)
	check(tr.Industries)
	for y := 2020; y <= 2023; y++ {
		direct := Sums{}
		for _, e := range in.Enterprises {
			direct.add(YearSums(findYear(in.Figures[e.ID], y), MemberOf(e)))
		}
		for k, p := range direct {
			if tr.Province.Years[y][k] != p || tr.Industries.Years[y][k] != p {
				t.Errorf("%d %s: province %+v, by industry %+v, enterprises %+v", y, k, tr.Province.Years[y][k], tr.Industries.Years[y][k], p)
			}
		}
	}
	if n := tr.Province.Enterprises(""); n != 200 {
		t.Errorf("province counts %d enterprises", n)
	}
	above, inParks := 0, 0
	for _, e := range in.Enterprises {
		if e.AboveScale {
			above++
		}
		if e.Park != "" {
			inParks++
		}
	}
	if n := tr.Province.Enterprises(KeyReuse); n != above || above == 0 || above == 200 {
		t.Errorf("the reuse target counts %d enterprises, %d are above scale", n, above)
	}
	if n := tr.Province.Enterprises(KeyNonConventional); n != inParks {
		t.Errorf("the non-conventional target counts %d enterprises, %d are in parks", n, inParks)
	}
	// The reuse rate's parts are those of above-scale enterprises only.
	var vr, vt int64
	for _, e := range in.Enterprises {
		if y := findYear(in.Figures[e.ID], 2023); e.AboveScale && y.Intake.OK && y.Reuse.OK {
			vr += Milli(y.Reuse.Value)
			vt += Milli(y.Reuse.Value + y.Intake.Value)
		}
	}
	if p := tr.Province.Years[2023][KeyReuse]; p.Num != vr || p.Den != vt {
		t.Errorf("province reuse parts %d/%d, above-scale enterprises sum to %d/%d", p.Num, p.Den, vr, vt)
	}
	// The report's child values are the children's own ratios; the
	// province's value is the ratio of the summed parts, not a mean of ratios.
	r := Progress(tr.Province, 2023)
	var num, den int64
	for _, c := range tr.Province.Children {
		num += c.Years[2023][KeyIntensity].Num
		den += c.Years[2023][KeyIntensity].Den
	}
	if got := *indicator(t, r.Indicators, KeyIntensity).Value; got != float64(num)/float64(den) {
		t.Errorf("province intensity %v, want Σnum/Σden %v", got, float64(num)/float64(den))
	}
	if len(r.Children) != 3 {
		t.Errorf("%d cities", len(r.Children))
	}
}

func findYear(ys []Year, y int) Year {
	for _, f := range ys {
		if f.Year == y {
			return f
		}
	}
	return Year{}
}

func indicator(t *testing.T, inds []Indicator, key string) Indicator {
	t.Helper()
	for _, i := range inds {
		if i.Key == key {
			return i
		}
	}
	t.Fatalf("no indicator %s", key)
	return Indicator{}
}

// TestContributionsSumToGap: over all enterprises of a unit the
// contributions add up to the unit's distance from its trajectory.
func TestContributionsSumToGap(t *testing.T) {
	tr, _ := province(t, 120, 3)
	for _, u := range []*Unit{tr.Province, tr.Province.Children[0], tr.Industries.Children[1]} {
		for _, key := range []string{KeyIntensity, KeyReuse, KeyNonConventional, ProductKey("粗钢")} {
			ind := u.indicator(key, 2023)
			if ind.Value == nil || ind.Expected == nil {
				continue
			}
			lk, _ := Lookup(key)
			whole := u.Years[2023][key]
			var sum float64
			u.walk(func(x *Unit) {
				if x.Level == LevelEnterprise {
					if c, ok := Contribution(whole, x.Years[2023][key], *ind.Expected, lk.Lower); ok {
						sum += c
					}
				}
			})
			gap := *ind.Value - *ind.Expected
			if !lk.Lower {
				gap = -gap
			}
			if !near(sum, gap, 1e-9*math.Max(1, math.Abs(*ind.Value))) {
				t.Errorf("%s %s %s: contributions sum to %v, gap %v", u.Level, u.Code, key, sum, gap)
			}
		}
	}
}

// TestProgressHandMade checks a small province by hand.
func TestProgressHandMade(t *testing.T) {
	in := Input{
		Province: meter.Region{Code: "430000", Name: "湖南省"},
		Regions:  []meter.Region{{Code: "430100", Name: "长沙市"}, {Code: "430200", Name: "株洲市"}},
		Parks:    []meter.Park{{ID: "p1", Name: "园一", Region: "430100"}},
		Enterprises: []meter.Enterprise{
			{ID: "a", Name: "A", Park: "p1", Region: "430102", Industry: "3110", Products: []string{"粗钢"}, AboveScale: true},
			{ID: "b", Name: "B", Park: "p1", Region: "430102", Industry: "3110", Products: []string{"粗钢"}, AboveScale: true},
			{ID: "c", Name: "C", Region: "430211", Industry: "1513"},
		},
		Figures: map[string][]Year{
			// 2020: province 1500 m³ on 30 万元 = 50 m³/万元; target 42 for 2025.
			"a": {{Year: 2020, Basis: Declared, Intake: Known(500), ValueAdded: Known(10), Reuse: Known(4500), NonConventional: Known(25), Output: map[string]float64{"粗钢": 125}},
				{Year: 2022, Basis: Metered, Intake: Known(600), ValueAdded: Known(10), Reuse: Known(5400), NonConventional: Known(30), Output: map[string]float64{"粗钢": 200}}},
			"b": {{Year: 2020, Basis: Declared, Intake: Known(500), ValueAdded: Known(10), Reuse: Known(500), NonConventional: Known(75)},
				{Year: 2022, Basis: Metered, Intake: Known(300), ValueAdded: Known(10), Reuse: Known(2700), NonConventional: Known(90)}},
			"c": {{Year: 2020, Basis: Declared, Intake: Known(500), ValueAdded: Known(10), Reuse: Known(0)},
				{Year: 2022, Basis: Declared, Intake: Known(500), ValueAdded: Known(20), Reuse: Known(4500)}},
		},
	}
	tr, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	r := Progress(tr.Province, 2022)
	in22 := indicator(t, r.Indicators, KeyIntensity)
	// 2022: 1400 m³ on 40 万元 = 35; expected 50 + (42 − 50)·2/5 = 46.8.
	if *in22.Baseline2020 != 50 || *in22.Target2025 != 42 || !near(*in22.Expected, 46.8, 1e-12) || *in22.Value != 35 || !*in22.OnTrack {
		t.Errorf("intensity %+v", in22)
	}
	if in22.Basis != Mixed || in22.Coverage != (Coverage{Enterprises: 3, WithData: 3, Fraction: 1}) {
		t.Errorf("intensity basis %s coverage %+v", in22.Basis, in22.Coverage)
	}
	// Reuse, above-scale a and b only (c is not): 2022 8100 / (8100 + 900)
	// = 0.9; 2020: 5000/6000; expected 5000/6000 + (0.94 − 5000/6000)·2/5.
	// With c it would be 12600/14000 and 5000/6500.
	re := indicator(t, r.Indicators, KeyReuse)
	wantExp := 5000.0/6000 + (0.94-5000.0/6000)*2/5
	if *re.Value != 0.9 || !near(*re.Expected, wantExp, 1e-12) || !*re.OnTrack || re.Coverage.Enterprises != 2 {
		t.Errorf("reuse %+v", re)
	}
	// Non-conventional: park enterprises only, 120/900 in 2022.
	nc := indicator(t, r.Indicators, KeyNonConventional)
	if !near(*nc.Value, 120.0/900, 1e-15) || nc.Coverage.Enterprises != 2 || *nc.Baseline2020 != 0.1 {
		t.Errorf("non-conventional %+v", nc)
	}
	// 粗钢: only a reports output; the plan's 3.5 m³/t and 3.15 in 2025.
	st := indicator(t, r.Indicators, ProductKey("粗钢"))
	if *st.Value != 3 || *st.Baseline2020 != 3.5 || *st.Target2025 != 3.15 || !near(*st.Expected, 3.5-0.35*2/5, 1e-12) || !*st.OnTrack {
		t.Errorf("粗钢 %+v", st)
	}
	if st.Coverage.Enterprises != 2 || st.Coverage.WithData != 1 {
		t.Errorf("粗钢 coverage %+v", st.Coverage)
	}
	// Worst for intensity: reference 46.8 over D = 40 万元. a: (600 − 468)/40
	// = 3.3; b: (300 − 468)/40 < 0; c: (500 − 936)/40 < 0. Park p1: (900 −
	// 936)/40 < 0. Only a is listed.
	var got []Contributor
	for _, w := range r.Worst {
		if w.Key == KeyIntensity {
			got = append(got, w)
		}
	}
	if len(got) != 1 || got[0].ID != "a" || got[0].Kind != LevelEnterprise || !near(got[0].Contribution, 3.3, 1e-12) || got[0].Value != 60 {
		t.Errorf("worst intensity %+v", got)
	}
	// Trajectory: 2020, 2021 (no data), 2022 for every key.
	var years []int
	for _, p := range r.Trajectory {
		if p.Key == KeyIntensity {
			years = append(years, p.Year)
			if p.Year == 2021 && (p.Value != nil || !near(*p.Expected, 48.4, 1e-12)) {
				t.Errorf("2021 %+v", p)
			}
		}
	}
	if len(years) != 3 {
		t.Errorf("trajectory years %v", years)
	}
	// The park's own baseline gives its own trajectory: 1000/20 = 50 in 2020.
	p1, ok := tr.Unit(LevelPark, "p1")
	if !ok {
		t.Fatal("no park p1")
	}
	pr := Progress(p1, 2022)
	if v := *indicator(t, pr.Indicators, KeyIntensity).Value; v != 45 {
		t.Errorf("park intensity %v, want 900/20", v)
	}
	if len(pr.Children) != 2 {
		t.Errorf("park children %+v", pr.Children)
	}
	ind, ok := tr.Unit(LevelIndustry, "3110")
	if !ok || len(Progress(ind, 2022).Children) != 2 {
		t.Error("industry 3110 has a and b")
	}
	for _, w := range Progress(ind, 2022).Worst {
		if w.Kind == LevelPark {
			t.Error("an industry lists no parks")
		}
	}
	if _, ok := tr.Unit(LevelCity, "430300"); ok {
		t.Error("unknown city found")
	}
}

func TestBuildErrors(t *testing.T) {
	base := Input{Province: meter.Region{Code: "430000"}, Regions: []meter.Region{{Code: "430100"}}}
	cases := []struct {
		in   func(Input) Input
		want string
	}{
		{func(in Input) Input {
			in.Enterprises = []meter.Enterprise{{ID: "x", Park: "nope", Region: "430102"}}
			return in
		}, "enterprise x: park nope"},
		{func(in Input) Input {
			in.Enterprises = []meter.Enterprise{{ID: "x", Region: "430302"}}
			return in
		}, "enterprise x: region 430302"},
		{func(in Input) Input {
			in.Parks = []meter.Park{{ID: "p", Region: "440100"}}
			return in
		}, "park p: city 440100"},
		{func(in Input) Input {
			in.Enterprises = []meter.Enterprise{{ID: "x", Region: "430102"}}
			in.Figures = map[string][]Year{"x": {{Year: 2021}, {Year: 2021}}}
			return in
		}, "year 2021 given twice"},
	}
	for _, c := range cases {
		_, err := Build(c.in(base))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}
