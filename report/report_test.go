package report

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/meter"
)

// The steel works of testdata/balance (constructed, one month): intake
// 340000 m³, reuse 9982000 m³, discharge 60000 m³, 100000 t of crude steel.
const (
	wantIntake    = "340,000.00"
	wantReuseRate = "96.71%" // 9982000 / 10322000
)

var testRoot = bytes.Repeat([]byte{0xab, 0x01}, 16)

// testCheckpoint is a checkpoint note as the ledger publishes it (the
// signature line is a placeholder: the report does not check it).
func testCheckpoint(t testing.TB) *Checkpoint {
	t.Helper()
	note := "shuixiao.example/ledger\n12345\n" + base64.StdEncoding.EncodeToString(testRoot) + "\n\n— shuixiao.example/ledger AAAAAQ==\n"
	c, err := ParseCheckpoint([]byte(note))
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

// steelDoc is the report of the steel works with quotas q (nil: the
// built-in tables) and the volumes changed by edit.
func steelDoc(t testing.TB, q *balance.Quotas, edit func(balance.Volumes)) Doc {
	t.Helper()
	pf, err := os.Open("testdata/balance/points.json")
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	points, err := balance.ReadPoints(pf, "points.json")
	if err != nil {
		t.Fatal(err)
	}
	vf, err := os.Open("testdata/balance/volumes.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer vf.Close()
	vt, err := balance.ReadVolumes(vf, "volumes.csv")
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(vt.Volumes)
	}
	prod := []balance.Production{{Product: "粗钢", Quantity: 100000, Unit: "t"}}
	loc := time.FixedZone("CST", 8*3600)
	// Every point metered by its own signing meter, but the municipal
	// supply read through a protocol gateway: the balance is mixed.
	var ms []meter.Meter
	for _, p := range points {
		m := meter.Meter{ID: "M-" + p.ID, Point: p.ID}
		if p.ID == "IN-MUNI" {
			m.Signed, m.Gateway = meter.SignedByGateway, "GW-1"
		}
		ms = append(ms, m)
	}
	trust := meter.BalanceTrustOf(ms)
	r := balance.Evaluate(points, vt.Volumes, balance.Options{Settings: balance.DefaultSettings(), ValueAdded: 20000, Production: prod, Quotas: q})
	return Doc{
		Enterprise: meter.Enterprise{ID: "HN-STEEL-01", Name: "湘潭示例钢铁有限公司", Region: "430300", Industry: "3120", Products: []string{"粗钢"}},
		RegionName: "湘潭市", IndustryName: "炼钢",
		From: time.Date(2026, 10, 1, 0, 0, 0, 0, loc), To: time.Date(2026, 11, 1, 0, 0, 0, 0, loc),
		Points: points, Volumes: vt.Volumes, Report: r, ValueAdded: 20000, Basis: "metered",
		Source: "test", Checkpoint: testCheckpoint(t), Trust: &trust, Generated: time.Date(2026, 11, 2, 9, 0, 0, 0, loc),
	}
}

func steelQuotas(t testing.TB, limits ...string) *balance.Quotas {
	t.Helper()
	csv := "product,unit,grade,limit,standard,verified\n"
	for i, l := range limits {
		csv += "粗钢,m3/t," + string(rune('1'+i)) + "," + l + ",example,no\n"
	}
	q, err := balance.ReadQuotas(strings.NewReader(csv), "quotas.csv")
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// rowOf returns the row of sheet whose first column starts with prefix.
func rowOf(t *testing.T, x *excelize.File, sheet, prefix string) []string {
	t.Helper()
	rows, err := x.GetRows(sheet, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if len(r) > 0 && strings.HasPrefix(r[0], prefix) {
			return r
		}
	}
	t.Fatalf("sheet %s: no row starting with %q", sheet, prefix)
	return nil
}

// numberAt returns the number in a cell, failing if it is not a number cell.
func numberAt(t *testing.T, x *excelize.File, sheet, prefix string, col int) float64 {
	t.Helper()
	rows, err := x.GetRows(sheet, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		if len(r) > col && strings.HasPrefix(r[0], prefix) {
			ref, _ := excelize.CoordinatesToCellName(col+1, i+1)
			typ, err := x.GetCellType(sheet, ref)
			if err != nil {
				t.Fatal(err)
			}
			if typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
				t.Fatalf("%s!%s (%s) is of type %v, not a number", sheet, ref, r[col], typ)
			}
			v, err := parseFloat(r[col])
			if err != nil {
				t.Fatalf("%s!%s = %q: %v", sheet, ref, r[col], err)
			}
			return v
		}
	}
	t.Fatalf("sheet %s: no row starting with %q with column %d", sheet, prefix, col)
	return 0
}

func TestBalanceXLSXFigures(t *testing.T) {
	d := steelDoc(t, steelQuotas(t, "3.2", "3.6", "4.2"), nil)
	var buf bytes.Buffer
	if err := BalanceXLSX(&buf, d); err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	r := d.Report
	const bal, ind = "5 水平衡表", "6 用水指标"
	for _, c := range []struct {
		sheet, row string
		col        int
		want       float64
	}{
		{bal, "取水量 Intake", 2, r.Intake.Value},
		{bal, "重复利用水量 Reuse", 2, r.Reuse.Value},
		{bal, "总用水量 Total use", 2, r.TotalUse.Value},
		{bal, "排水量 Discharge", 2, r.Discharge.Value},
		{bal, "漏失水量", 2, r.Leakage.Value},
		{ind, "水重复利用率", 3, r.ReuseRate.Value},
		{ind, "非常规水源替代率", 3, r.NonConventionalRate.Value},
		{ind, "万元工业增加值取水量", 3, r.IntakePer10kCNY.Value},
		{ind, "粗钢", 3, r.Products["粗钢"].IntakePerUnit.Value},
		{"1 企业概况", "粗钢", 1, 100000},
		{"1 企业概况", "工业增加值", 1, 20000},
		{"3 计量器具", "二级计量率", 1, r.MeteringRatio.Value},
		{"9 数据可信声明", "树大小", 1, 12345},
	} {
		// An XLSX keeps 15 significant digits, as Excel does.
		if got := numberAt(t, x, c.sheet, c.row, c.col); math.Abs(got-c.want) > 1e-14*math.Abs(c.want) {
			t.Errorf("%s / %s: %v, want %v", c.sheet, c.row, got, c.want)
		}
	}
	// The figures themselves, not only equal to the report's.
	if r.Intake.Value != 340000 || r.Reuse.Value != 9982000 {
		t.Fatalf("test data changed: intake %v reuse %v", r.Intake.Value, r.Reuse.Value)
	}
	if g := rowOf(t, x, ind, "粗钢")[4]; !strings.Contains(g, "2 级") {
		t.Errorf("grade of 3.4 m³/t against 3.2/3.6/4.2: %q, want grade 2", g)
	}
	if h := rowOf(t, x, "9 数据可信声明", "根哈希 Root hash (hex)")[1]; h != hex.EncodeToString(testRoot) {
		t.Errorf("root hash %q", h)
	}
	// The data trust level: mixed overall, the gateway-read point named.
	if v := rowOf(t, x, "9 数据可信声明", "总体 Overall")[1]; v != "混合 mixed" {
		t.Errorf("overall trust %q, want 混合 mixed", v)
	}
	if v := rowOf(t, x, "9 数据可信声明", "网关签名 gateway-signed")[1]; v != "1: IN-MUNI 自来水总表" {
		t.Errorf("gateway-signed points %q", v)
	}
	if v := rowOf(t, x, "9 数据可信声明", "表计签名 meter-signed")[1]; !strings.HasPrefix(v, fmt.Sprintf("%d: ", len(d.Points)-1)) || strings.Contains(v, "IN-MUNI") {
		t.Errorf("meter-signed points %q, want the %d others", v, len(d.Points)-1)
	}
	// Percentages are fractions with a percent format, not text.
	if s := formattedRow(t, x, ind, "水重复利用率")[3]; s != wantReuseRate {
		t.Errorf("formatted reuse rate %q, want %s", s, wantReuseRate)
	}
	pics, err := x.GetPictureCells("7 水平衡图")
	if err != nil || len(pics) != 1 {
		t.Errorf("diagram sheet pictures %v, %v; want one", pics, err)
	}
}

// fontOrSkip returns a Chinese font of the machine; without one the test
// is skipped, unless services are required (CI), where it fails.
func fontOrSkip(t *testing.T) string {
	t.Helper()
	p, err := FindFont()
	if err != nil {
		if os.Getenv("CI") != "" || os.Getenv("SHUIXIAO_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%v (.ci/run installs fonts-wqy-microhei)", err)
		}
		t.Skipf("跳过 / skipped: %v", err)
	}
	return p
}

func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") != "" || os.Getenv("SHUIXIAO_REQUIRE_SERVICES") == "1" {
			t.Fatal("pdftotext not found (Debian: poppler-utils)")
		}
		t.Skip("跳过 / skipped: pdftotext not found (Debian: poppler-utils); the PDF's text cannot be checked")
	}
	path := filepath.Join(t.TempDir(), "r.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func TestBalancePDF(t *testing.T) {
	font := fontOrSkip(t)
	d := steelDoc(t, steelQuotas(t, "3.2", "3.6", "4.2"), nil)
	var buf bytes.Buffer
	if err := BalancePDF(&buf, d, WithFont(font)); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("starts with %q", b[:min(8, len(b))])
	}
	if !bytes.Contains(b, []byte("/FontFile2")) {
		t.Error("no embedded TrueType font (/FontFile2)")
	}
	text := pdfText(t, b)
	for _, want := range []string{
		"水平衡测试报告书", "湘潭示例钢铁有限公司", "2026-10-01 至 / to 2026-10-31",
		wantIntake, "9,982,000.00", "60,000.00", wantReuseRate, "3.4", "2 级", "17", // intake per 10⁴ CNY
		"12345", hex.EncodeToString(testRoot), "shuixiao verify consistency",
		"企业总取水", // a Sankey node label
		"数据可信等级 Data trust level", "混合 mixed", "网关签名 gateway-signed", "IN-MUNI 自来水总表",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	if testing.Verbose() && os.Getenv("REPORT_KEEP") != "" {
		_ = os.WriteFile(os.Getenv("REPORT_KEEP"), b, 0o644)
	}
}

func TestBalancePDFWithoutFont(t *testing.T) {
	d := steelDoc(t, nil, nil)
	missing := filepath.Join(t.TempDir(), "no-such-font.ttf")
	err := BalancePDF(&bytes.Buffer{}, d, WithFont(missing))
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("missing font file: %v", err)
	}
	defer func(saved []string) { FontCandidates = saved }(FontCandidates)
	FontCandidates = []string{missing}
	if err := BalancePDF(&bytes.Buffer{}, d); !errors.Is(err, ErrNoFont) {
		t.Fatalf("no font found: %v, want ErrNoFont", err)
	}
	// Not a font at all.
	notFont := filepath.Join(t.TempDir(), "x.ttf")
	if err := os.WriteFile(notFont, []byte("not a font, just text"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := BalancePDF(&bytes.Buffer{}, d, WithFont(notFont)); err == nil || !strings.Contains(err.Error(), "not a TrueType font") {
		t.Fatalf("text file as font: %v", err)
	}
	// The XLSX needs no font: its diagram falls back to English labels.
	var buf bytes.Buffer
	if err := BalanceXLSX(&buf, d); err != nil {
		t.Fatalf("XLSX without a font: %v", err)
	}
}

func TestBadDoc(t *testing.T) {
	d := steelDoc(t, nil, nil)
	d.To = d.From
	if err := BalanceXLSX(&bytes.Buffer{}, d); err == nil || !strings.Contains(err.Error(), "period") {
		t.Errorf("empty period: %v", err)
	}
	d = steelDoc(t, nil, nil)
	d.Enterprise.ID = ""
	if err := BalancePDF(&bytes.Buffer{}, d); err == nil || !strings.Contains(err.Error(), "enterprise") {
		t.Errorf("no enterprise: %v", err)
	}
}

func parseFloat(s string) (float64, error) { return strconv.ParseFloat(s, 64) }

// formattedRow is rowOf with the cells as Excel shows them.
func formattedRow(t *testing.T, x *excelize.File, sheet, prefix string) []string {
	t.Helper()
	rows, err := x.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if len(r) > 0 && strings.HasPrefix(r[0], prefix) {
			return r
		}
	}
	t.Fatalf("sheet %s: no row starting with %q", sheet, prefix)
	return nil
}
