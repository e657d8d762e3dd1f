package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/shuixiao/shuixiao/report"
)

func TestBalanceCommandReports(t *testing.T) {
	dir := t.TempDir()
	xlsx, pdf := filepath.Join(dir, "r.xlsx"), filepath.Join(dir, "r.pdf")
	cp := filepath.Join(dir, "checkpoint")
	if err := os.WriteFile(cp, []byte("shuixiao.example/ledger\n777\nq83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=\n\n— shuixiao.example/ledger AAAAAQ==\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--points", balanceData + "points.json", "--volumes", balanceData + "volumes.csv",
		"--production", balanceData + "production.csv", "--value-added", "20000", "--quotas", balanceData + "quotas.csv",
		"--out", filepath.Join(dir, "result.json"), "--xlsx", xlsx, "--from", "2026-10-01", "--to", "2026-10-31",
		"--enterprise-name", "湘潭示例钢铁", "--checkpoint", cp}
	font, fontErr := report.FindFont()
	if fontErr == nil {
		args = append(args, "--pdf", pdf, "--font", font)
	}
	if code, stderr := runBalanceCaptured(t, args...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	x, err := excelize.OpenFile(xlsx)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, err := x.GetRows("5 水平衡表", excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rows {
		if len(r) > 2 && strings.HasPrefix(r[0], "取水量 Intake") {
			found = r[2] == "340000"
		}
	}
	if !found {
		t.Errorf("intake 340000 not in the XLSX balance sheet: %q", rows)
	}
	trust, err := x.GetRows("9 数据可信声明", excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	size := ""
	for _, r := range trust {
		if len(r) > 1 && strings.HasPrefix(r[0], "树大小") {
			size = r[1]
		}
	}
	if size != "777" {
		t.Errorf("tree size %q, want 777", size)
	}
	if fontErr != nil {
		t.Logf("no Chinese font (%v): --pdf not exercised", fontErr)
		return
	}
	b, err := os.ReadFile(pdf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("%PDF-")) || !bytes.Contains(b, []byte("/FontFile2")) {
		t.Fatalf("%s is not a PDF with an embedded TrueType font", pdf)
	}
	if bin, err := exec.LookPath("pdftotext"); err == nil {
		out, err := exec.Command(bin, "-enc", "UTF-8", pdf, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"湘潭示例钢铁", "340,000.00", "96.71%", "777", "2026-10-01 至 / to 2026-10-31"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("PDF text lacks %q", want)
			}
		}
	}
}

func TestBalanceCommandReportErrors(t *testing.T) {
	dir := t.TempDir()
	base := []string{"--points", balanceData + "points.json", "--volumes", balanceData + "volumes.csv", "--out", filepath.Join(dir, "result.json")}
	pdf := filepath.Join(dir, "r.pdf")
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--pdf", pdf}, 2, "--from YYYY-MM-DD --to YYYY-MM-DD"},
		{[]string{"--pdf", pdf, "--from", "2026-10-02", "--to", "2026-10-01"}, 2, "is before --from"},
		{[]string{"--xlsx", pdf, "--from", "2026-13-01", "--to", "2026-10-01"}, 2, `from`},
		{[]string{"--from", "2026-10-01"}, 2, "give --xlsx or --pdf"},
		{[]string{"--pdf", pdf, "--from", "2026-10-01", "--to", "2026-10-31", "--font", filepath.Join(dir, "missing.ttf")}, 1, "missing.ttf"},
		{[]string{"--pdf", pdf, "--from", "2026-10-01", "--to", "2026-10-31", "--checkpoint", balanceData + "volumes.csv"}, 1, "checkpoint"},
	} {
		code, stderr := runBalanceCaptured(t, append(append([]string(nil), base...), c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.msg)
		}
		if _, err := os.Stat(pdf); err == nil {
			t.Errorf("%v: a report was written although the command failed", c.args)
		}
	}
}
