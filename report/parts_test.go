package report

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/image/font/opentype"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/target"
)

func TestFindings(t *testing.T) {
	has := func(fs []finding, problem string) *finding {
		for i := range fs {
			if strings.Contains(fs[i].problem, problem) {
				return &fs[i]
			}
		}
		return nil
	}
	// 3.4 m³/t of crude steel: grade 2 of 3.2/3.6/4.2, over a table whose
	// last grade is 3.0; above the plan's 2025 figure 3.15 either way.
	ok := findings(steelDoc(t, steelQuotas(t, "3.2", "3.6", "4.2"), nil))
	if f := has(ok, "超定额"); f != nil {
		t.Errorf("grade 2 reported over quota: %+v", f)
	}
	if has(ok, "2025") == nil {
		t.Error("3.4 m³/t above the plan's 3.15 not reported")
	}
	if has(ok, "计量率") != nil || has(ok, "无测试期数据") != nil {
		t.Errorf("metering ratio 98.5%% or missing data reported: %+v", ok)
	}
	over := findings(steelDoc(t, steelQuotas(t, "2.6", "2.8", "3.0"), nil))
	f := has(over, "超定额")
	if f == nil || !strings.Contains(f.evidence, "3.4 m³/t > 3级定额 grade 3 limit 3 m³/t") || !strings.Contains(f.evidence, "unverified") {
		t.Fatalf("over quota: %+v", over)
	}
	// Level 2 reads 30000 m³ less: ratio 305000/340000 = 89.71 % < 95 %,
	// leakage 35000 m³ = 10.29 % of intake.
	leak := findings(steelDoc(t, nil, func(v balance.Volumes) { v["BF"] -= 30000 }))
	f = has(leak, "计量率")
	if f == nil || !strings.Contains(f.evidence, "89.71% < 95.00%") || !strings.Contains(f.evidence, "35,000.00 m³") || !strings.Contains(f.evidence, "10.29%") {
		t.Fatalf("low metering ratio: %+v", leak)
	}
	gap := findings(steelDoc(t, nil, func(v balance.Volumes) { delete(v, "OUTFALL") }))
	if f := has(gap, "无测试期数据"); f == nil || !strings.Contains(f.evidence, "OUTFALL") {
		t.Fatalf("missing point: %+v", gap)
	}
}

func TestSankeyLayout(t *testing.T) {
	d := steelDoc(t, nil, nil)
	sk := balance.Diagram(d.Points, d.Volumes)
	const w, h = 300.0, 120.0
	lay := layoutSankey(sk, w, h)
	if len(lay.bands) != len(sk.Links) {
		t.Fatalf("%d bands for %d links", len(lay.bands), len(sk.Links))
	}
	nodes := map[string]placedNode{}
	for _, n := range lay.nodes {
		nodes[n.Name] = n
	}
	scale := lay.bands[0].thick / lay.bands[0].link.Value
	const eps = 1e-9
	for _, b := range lay.bands {
		s, t2 := nodes[b.link.Source], nodes[b.link.Target]
		if math.Abs(b.thick-b.link.Value*scale) > eps*h {
			t.Errorf("%s→%s: thickness %v not on the common scale", b.link.Source, b.link.Target, b.thick)
		}
		if s.col >= t2.col {
			t.Errorf("%s (column %d) → %s (column %d) does not run left to right", s.Name, s.col, t2.Name, t2.col)
		}
		if b.y0 < s.y-eps || b.y0+b.thick > s.y+s.h+eps || b.y1 < t2.y-eps || b.y1+b.thick > t2.y+t2.h+eps {
			t.Errorf("%s→%s: band outside its nodes", s.Name, t2.Name)
		}
	}
	for _, n := range lay.nodes {
		if n.y < -eps || n.y+n.h > h*(1+eps)+h*minNode*float64(len(lay.nodes)) || n.x < 0 || n.x+n.w > w+eps {
			t.Errorf("node %s (%v,%v %vx%v) outside the %vx%v box", n.Name, n.x, n.y, n.w, n.h, w, h)
		}
	}
	// The enterprise boundary carries the whole intake.
	if b := nodes["boundary"]; math.Abs(b.value-d.Report.Intake.Value) > 1e-6 {
		t.Errorf("boundary carries %v, intake %v", b.value, d.Report.Intake.Value)
	}
	if got := layoutSankey(balance.Sankey{}, w, h); len(got.nodes)+len(got.bands) != 0 {
		t.Errorf("empty diagram laid out as %+v", got)
	}
}

func TestParseCheckpoint(t *testing.T) {
	c := testCheckpoint(t)
	if c.Origin != "shuixiao.example/ledger" || c.Size != 12345 || !bytes.Equal(c.RootHash, testRoot) {
		t.Fatalf("%+v", c)
	}
	for _, bad := range []string{"", "origin\n12\n", "origin\nx\nAAAA\n\n— sig\n", "origin\n12\n" + strings.Repeat("A", 44) + "\n"} {
		if _, err := ParseCheckpoint([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// ttf builds a minimal TrueType file whose tables are the given tags, each
// holding its own tag four times.
func ttf(tags ...string) []byte {
	b := make([]byte, 12+16*len(tags))
	copy(b, "\x00\x01\x00\x00")
	binary.BigEndian.PutUint16(b[4:], uint16(len(tags)))
	for i, tag := range tags {
		rec := b[12+16*i:]
		copy(rec, tag)
		binary.BigEndian.PutUint32(rec[8:], uint32(len(b)))
		binary.BigEndian.PutUint32(rec[12:], 16)
		b = append(b, strings.Repeat(tag, 4)...)
	}
	return b
}

func TestSingleTrueType(t *testing.T) {
	plain := ttf("glyf", "head")
	if got, err := singleTrueType(plain); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("plain font: %v", err)
	}
	// A collection of two fonts: the first is extracted with its own offsets.
	second := ttf("glyf", "cmap")
	coll := make([]byte, 20)
	copy(coll, "ttcf\x00\x01\x00\x00")
	binary.BigEndian.PutUint32(coll[8:], 2)
	binary.BigEndian.PutUint32(coll[12:], 20)
	binary.BigEndian.PutUint32(coll[16:], uint32(20+len(plain)))
	shift := func(f []byte, by int) []byte {
		f = append([]byte(nil), f...)
		for i := 0; i < int(binary.BigEndian.Uint16(f[4:])); i++ {
			o := f[12+16*i+8:]
			binary.BigEndian.PutUint32(o, binary.BigEndian.Uint32(o)+uint32(by))
		}
		return f
	}
	coll = append(append(coll, shift(plain, 20)...), shift(second, 20+len(plain))...)
	got, err := singleTrueType(coll)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("first font of a collection: %v\n got %q\nwant %q", err, got, plain)
	}
	for name, bad := range map[string][]byte{
		"short": []byte("ttcf"), "CFF": append([]byte("OTTO"), make([]byte, 20)...), "text": []byte("hello, world, not a font"),
		"no glyf": ttf("CFF ", "head"), "empty collection": []byte("ttcf\x00\x01\x00\x00\x00\x00\x00\x00"),
		"table beyond end": ttf("glyf")[:30],
	} {
		if _, err := singleTrueType(bad); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestSystemFontExtracted(t *testing.T) {
	p := fontOrSkip(t)
	f, err := loadFont(p)
	if err != nil {
		t.Fatal(err)
	}
	ot, err := opentype.Parse(f.ttf)
	if err != nil {
		t.Fatalf("%s as extracted: %v", p, err)
	}
	if g, err := ot.GlyphIndex(nil, '水'); err != nil || g == 0 {
		t.Fatalf("%s has no glyph for 水 (%v)", p, err)
	}
}

func FuzzSingleTrueType(f *testing.F) {
	f.Add(ttf("glyf", "head"))
	f.Add([]byte("ttcf\x00\x01\x00\x00\x00\x00\x00\x01\x00\x00\x00\x10"))
	f.Add([]byte("OTTO"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := singleTrueType(b)
		if err != nil {
			return
		}
		if _, err := tableDirectory(out, 0); err != nil {
			t.Fatalf("accepted font fails its own check: %v", err)
		}
	})
}

func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte("shuixiao.example/ledger\n12345\n" + strings.Repeat("A", 43) + "=\n\n— sig\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCheckpoint(b)
		if err == nil && (c.Origin == "" || len(c.RootHash) == 0) {
			t.Fatalf("accepted %q as %+v", b, c)
		}
	})
}

func TestTargetsXLSX(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	yes, no := true, false
	p := target.Report{Level: target.LevelProvince, Code: "430000", Name: "湖南省", Year: 2024,
		Indicators: []target.Indicator{
			{Key: "intake_per_10k_cny", NameZH: "万元工业增加值用水量", NameEN: "Intake per 10⁴ CNY", Unit: "m3/10k CNY",
				Baseline2020: f(30), Value: f(27.1), Expected: f(26.16), Target2025: f(25.2), OnTrack: &no, Basis: "declared",
				Coverage: target.Coverage{Enterprises: 40, WithData: 38, Fraction: 0.95}, Source: "plan"},
			{Key: "reuse_rate", NameZH: "重复利用率", NameEN: "Reuse rate", Unit: "fraction", Value: f(0.945), Target2025: f(0.94), OnTrack: &yes},
		},
		Children: []target.Child{{Level: target.LevelCity, Code: "430300", Name: "湘潭市",
			Indicators: []target.Indicator{{Key: "reuse_rate", NameZH: "重复利用率", Value: f(0.91)}}}},
		Worst:      []target.Contributor{{Kind: target.LevelEnterprise, ID: "HN-STEEL-01", Name: "湘潭示例钢铁", Key: "reuse_rate", Value: 0.8, Contribution: 0.012}},
		Trajectory: []target.Point{{Year: 2020, Key: "intake_per_10k_cny", Value: f(30), Expected: f(30)}, {Year: 2024, Key: "intake_per_10k_cny", Value: f(27.1), Expected: f(26.16)}},
	}
	var buf bytes.Buffer
	if err := TargetsXLSX(&buf, TargetsDoc{Progress: p, Checkpoint: testCheckpoint(t), Generated: time.Unix(0, 0).UTC()}); err != nil {
		t.Fatal(err)
	}
	// One trajectory chart: intake per 10⁴ CNY has years, the reuse rate none.
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var charts []string
	for _, f := range zr.File {
		if strings.HasPrefix(f.Name, "xl/charts/chart") {
			rc, _ := f.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			charts = append(charts, strings.ReplaceAll(string(b), "&#39;", "'"))
		}
	}
	if len(charts) != 1 || !strings.Contains(charts[0], "'4 轨迹'!$C$5:$C$6") || !strings.Contains(charts[0], "'4 轨迹'!$D$5:$D$6") ||
		!strings.Contains(charts[0], "'4 轨迹'!$A$5:$A$6") || !strings.Contains(charts[0], "'4 轨迹'!$C$4") || !strings.Contains(charts[0], "万元工业增加值用水量") {
		t.Errorf("trajectory charts: %d, %s", len(charts), charts)
	}
	x, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	for _, c := range []struct {
		sheet, row string
		col        int
		want       float64
	}{
		{"1 指标", "intake_per_10k_cny", 3, 30}, {"1 指标", "intake_per_10k_cny", 4, 27.1}, {"1 指标", "intake_per_10k_cny", 5, 26.16},
		{"1 指标", "intake_per_10k_cny", 6, 25.2}, {"1 指标", "intake_per_10k_cny", 10, 38}, {"1 指标", "reuse_rate", 4, 0.945},
		{"2 下级单元", "市 city", 4, 0.91}, {"3 拖累", "企业 enterprise", 5, 0.012}, {"4 轨迹", "2024", 2, 27.1},
		{"5 数据可信声明", "树大小", 1, 12345},
	} {
		if got := numberAt(t, x, c.sheet, c.row, c.col); got != c.want {
			t.Errorf("%s / %s col %d: %v, want %v", c.sheet, c.row, c.col, got, c.want)
		}
	}
	if r := rowOf(t, x, "1 指标", "intake_per_10k_cny"); r[7] != "否 no" || r[8] != "declared" {
		t.Errorf("on track / basis: %q", r)
	}
	if err := TargetsXLSX(&bytes.Buffer{}, TargetsDoc{}); err == nil {
		t.Error("empty progress accepted")
	}
}

func TestTrustStatement(t *testing.T) {
	c := testCheckpoint(t)
	text := func(s section) string {
		var b strings.Builder
		for _, p := range s.paras {
			b.WriteString(p + "\n")
		}
		for _, tb := range s.tables {
			for _, r := range tb.rows {
				for _, x := range r {
					b.WriteString(x.String() + "\t")
				}
			}
		}
		return b.String()
	}
	for _, tc := range []struct {
		c         *Checkpoint
		read      uint64
		want, not string
	}{
		{c, 0, "first 12345 entries", "not yet under"},
		{c, 12345, "first 12345 entries", "not yet under"},
		{c, 12400, "entries 12345–12399 were not yet under a signed checkpoint", ""},
		{nil, 500, "first 500 entries of the platform's ledger; no signed checkpoint", "offline"},
		{nil, 0, "offline test", "entries"},
	} {
		got := text(trustStatement("s", "t", tc.c, tc.read, "src"))
		if !strings.Contains(got, tc.want) || tc.not != "" && strings.Contains(got, tc.not) {
			t.Errorf("checkpoint %v, read %d: %q lacks %q or has %q", tc.c != nil, tc.read, got, tc.want, tc.not)
		}
	}
}

// An enterprise without points or data still gets its report: every figure
// absent with its reason, no panic, no silent zero.
func TestEmptyEnterpriseReport(t *testing.T) {
	d := steelDoc(t, nil, nil)
	d.Points, d.Volumes = nil, balance.Volumes{}
	d.Report = balance.Evaluate(nil, d.Volumes, balance.Options{Settings: balance.DefaultSettings()})
	d.ValueAdded = 0
	var buf bytes.Buffer
	if err := BalanceXLSX(&buf, d); err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if r := rowOf(t, x, "5 水平衡表", "取水量 Intake"); r[2] != absentMark || !strings.Contains(r[3], "no level-1 intake point") {
		t.Errorf("intake without points: %q", r)
	}
	if font, err := FindFont(); err == nil {
		if err := BalancePDF(&bytes.Buffer{}, d, WithFont(font)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCellText(t *testing.T) {
	for _, c := range []struct {
		c    cell
		want string
	}{
		{volume(1234567.891), "1,234,567.89"}, {volume(-1000), "-1,000.00"}, {volume(12), "12.00"},
		{fraction(0.96706), "96.71%"}, {number(3.4), "3.4"}, {number(100000), "100000"},
		{number(0.0017122193525307549), "0.001712"}, {number(1611.94321), "1611.9432"}, {number(0), "0"},
		{count(12345), "12345"}, {txt("x"), "x"},
	} {
		if got := c.c.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.c, got, c.want)
		}
	}
}
