package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/shuixiao/shuixiao/internal/api"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/report"
)

// download fetches path as the client and returns status, headers and body.
func download(t *testing.T, c client, path string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// sheetRow is the first row of a sheet whose first cell starts with prefix
// (raw values: numbers as stored).
func sheetRow(t *testing.T, x *excelize.File, sheet, prefix string) []string {
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
	t.Fatalf("sheet %s has no row %q", sheet, prefix)
	return nil
}

// TestReportRoutes: the water-balance test report of the worked example
// (standards.md §1.4) downloaded as XLSX carries the figures the balance
// route serves, with a file name, and follows the balance route's scope.
func TestReportRoutes(t *testing.T) {
	_, st, cl := efficiencyServer(t)
	if _, err := st.AddProduction(context.Background(), []production.Record{{Enterprise: "E", Kind: production.Output, Product: "机织印染布",
		Quantity: 500, Unit: "100m", From: balanceDay, To: balanceDay.AddDate(0, 0, 1), ReportedBy: "ent-e", ReportedAt: balanceDay}}); err != nil {
		t.Fatal(err)
	}
	const q = "?from=2026-11-05&to=2026-11-05"
	code, h, body := download(t, cl["ent-e"], "/enterprises/E/report.xlsx"+q)
	if code != http.StatusOK {
		t.Fatalf("HTTP %d: %s", code, body)
	}
	if ct := h.Get("Content-Type"); !strings.Contains(ct, "spreadsheetml") {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := h.Get("Content-Disposition"); cd != "attachment; filename=water-balance-E-20261105-20261105.xlsx" {
		t.Errorf("Content-Disposition %q", cd)
	}
	x, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	var served map[string]any
	cl["ent-e"].expect(200, "GET", "/enterprises/E/balance"+q, nil, &served)
	for _, c := range []struct {
		sheet, row, key string
		col             int
	}{
		{"5 水平衡表", "取水量 Intake", "intake_m3", 2}, {"5 水平衡表", "重复利用水量", "reuse_m3", 2},
		{"5 水平衡表", "排水量", "discharge_m3", 2}, {"5 水平衡表", "耗水量", "consumption_m3", 2},
		{"6 用水指标", "水重复利用率", "reuse_rate", 3}, {"6 用水指标", "废水回用率", "wastewater_reuse_rate", 3},
	} {
		v, err := strconv.ParseFloat(sheetRow(t, x, c.sheet, c.row)[c.col], 64)
		if err != nil || !approx(v, num(t, served, c.key)) {
			t.Errorf("%s in the report: %v (%v), served %v", c.key, v, err, served[c.key])
		}
	}
	// The trust of the data, as the balance route answers it (one computation).
	trust, _ := served["trust"].(map[string]any)
	lvl, _ := trust["level"].(string)
	if lvl == "" {
		t.Fatalf("balance route trust %v", served["trust"])
	}
	if r := sheetRow(t, x, "9 数据可信声明", "总体 Overall"); !strings.HasSuffix(r[1], " "+lvl) {
		t.Errorf("report trust %q, balance route %q", r[1], lvl)
	}
	pts, _ := trust["points"].(map[string]any)
	if r := sheetRow(t, x, "9 数据可信声明", "表计签名 meter-signed"); len(pts) == 0 || !strings.HasPrefix(r[1], fmt.Sprintf("%d: ", len(pts))) {
		t.Errorf("meter-signed points in the report %q, balance route %v", r[1], pts)
	}
	// The worked example: 1000 m³ intake, R = 95 %; 2 m³/100 m of cloth is over quota.
	if v, _ := strconv.ParseFloat(sheetRow(t, x, "5 水平衡表", "取水量 Intake")[2], 64); !approx(v, 1000) {
		t.Errorf("intake %v, want 1000", v)
	}
	if r := sheetRow(t, x, "6 用水指标", "机织印染布"); !strings.HasPrefix(r[3], "2.0000") || !strings.Contains(r[4], "超定额") {
		t.Errorf("product row %q", r)
	}
	if r := sheetRow(t, x, "8 问题与建议", "1"); !strings.Contains(r[1], "超定额") {
		t.Errorf("first finding %q", r)
	}
	if r := sheetRow(t, x, "1 企业概况", "所在园区"); !strings.Contains(r[1], "PK") {
		t.Errorf("park %q", r)
	}

	// Scope and parameters as for the balance route.
	for _, c := range []struct {
		who, path string
		want      int
	}{
		{"ent-e", "/enterprises/S/report.xlsx", 403}, {"park", "/enterprises/S/report.pdf", 403},
		{"reg-cs", "/enterprises/E/report.xlsx", 403}, {"admin", "/enterprises/NOPE/report.xlsx", 404},
		{"admin", "/enterprises/E/report.xlsx?from=2026-11-06&to=2026-11-05", 400},
		{"admin", "/enterprises/E/report.pdf?from=2025-01-01&to=2026-11-05", 400},
		{"reg-cs", "/enterprises/S/report.xlsx", 200},
	} {
		if code, _, body := download(t, cl[c.who], c.path); code != c.want {
			t.Errorf("%s %s: HTTP %d (%.200s), want %d", c.who, c.path, code, body, c.want)
		}
	}

	// A server whose font is missing says so, as 503.
	missing := filepath.Join(t.TempDir(), "no-font.ttf")
	noFont := httptest.NewServer(api.New(api.Options{Store: st, Logger: quiet, ReportFont: missing}))
	defer noFont.Close()
	nf := cl["admin"]
	nf.base = noFont.URL + "/api/v1"
	if code, _, body := download(t, nf, "/enterprises/E/report.pdf"+q); code != http.StatusServiceUnavailable || !strings.Contains(string(body), missing) {
		t.Errorf("missing font: HTTP %d %s, want 503 naming %s", code, body, missing)
	}

	code, h, body = download(t, cl["admin"], "/enterprises/E/report.pdf"+q)
	if _, err := report.FindFont(); err != nil {
		if code != http.StatusServiceUnavailable || !strings.Contains(string(body), "fonts-wqy-microhei") {
			t.Errorf("PDF without a font: HTTP %d %s, want 503 naming the font package", code, body)
		}
		return
	}
	if code != http.StatusOK || !bytes.HasPrefix(body, []byte("%PDF-")) || h.Get("Content-Type") != "application/pdf" ||
		h.Get("Content-Disposition") != "attachment; filename=water-balance-E-20261105-20261105.pdf" {
		t.Errorf("PDF: HTTP %d, %q, %q, %.8q", code, h.Get("Content-Type"), h.Get("Content-Disposition"), body)
	}
}

// checkTargetsReport downloads the province's progress report from the
// server of TestTargetsRoutesScope: 2020 intensity 100 m³/万元, 2025 85,
// target 84 (declared statistics), and checks its scope.
func checkTargetsReport(t *testing.T, as func(who string) client) {
	t.Helper()
	code, h, body := download(t, as("province"), "/targets/report.xlsx?year=2025")
	if code != http.StatusOK {
		t.Fatalf("targets report: HTTP %d %s", code, body)
	}
	if cd := h.Get("Content-Disposition"); cd != "attachment; filename=targets-province-430000-2025.xlsx" {
		t.Errorf("Content-Disposition %q", cd)
	}
	x, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	r := sheetRow(t, x, "1 指标", "intake_per_10k_cny")
	for col, want := range map[int]float64{3: 100, 4: 85, 5: 84, 6: 84, 9: 3, 10: 3} {
		if v, err := strconv.ParseFloat(r[col], 64); err != nil || !approx(v, want) {
			t.Errorf("targets report column %d: %q, want %v", col, r[col], want)
		}
	}
	if r[7] != "否 no" || r[8] != "declared" {
		t.Errorf("on track, basis: %q %q", r[7], r[8])
	}
	if code, _, _ := download(t, as("city"), "/targets/report.xlsx"); code != http.StatusForbidden {
		t.Errorf("city regulator, province report: HTTP %d, want 403", code)
	}
	if code, _, _ := download(t, as("admin"), "/targets/report.xlsx?year=2019"); code != http.StatusBadRequest {
		t.Errorf("year 2019: HTTP %d, want 400", code)
	}
	if code, _, _ := download(t, as("city"), "/targets/report.xlsx?level=city&code=430100&year=2025"); code != http.StatusOK {
		t.Errorf("city regulator, own city: HTTP %d", code)
	}
}
