package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/shuixiao/shuixiao/production"
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

// TestReportOnServedBalance runs a whole server (ledger, store, MQTT): a
// meter's signed readings go through ingest onto the ledger; the report
// downloaded for the day carries the balance the platform served and names
// the signed checkpoint the balance was read after.
func TestReportOnServedBalance(t *testing.T) {
	s := startTestServer(t, t.TempDir())
	admin := s.client(s.token)
	m1, _ := province(t, admin)
	c := mqtt5(t, s.broker.Addr(), m1)
	day := time.Now().In(production.Zone).Format(time.DateOnly)
	for i := 0; i <= 6; i++ {
		if pr := publish(t, c, m1, m1.next(t, float64(100+10*i))); pr.ReasonCode != 0 {
			t.Fatalf("reading %d refused: %#x", i, pr.ReasonCode)
		}
	}
	// Wait until a signed checkpoint covers every entry written.
	var st struct {
		Size           uint64 `json:"size"`
		CheckpointSize uint64 `json:"checkpoint_size"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		must(t, admin.get("/api/v1/ledger/status", &st))
		if st.CheckpointSize >= st.Size && st.Size > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint covers the ledger: %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if time.Now().In(production.Zone).Format(time.DateOnly) != day {
		t.Skip("跳过 / skipped: the readings straddle midnight (UTC+8); run again")
	}
	q := "?from=" + day + "&to=" + day
	var served struct {
		Intake *float64 `json:"intake_m3"`
		Ledger struct {
			Size       uint64 `json:"size"`
			Checkpoint struct {
				Size     uint64 `json:"size"`
				RootHash string `json:"root_hash"`
			} `json:"checkpoint"`
		} `json:"ledger"`
	}
	must(t, admin.get("/api/v1/enterprises/E1/balance"+q, &served))
	if served.Ledger.Checkpoint.Size == 0 || served.Ledger.Size < served.Ledger.Checkpoint.Size {
		t.Fatalf("balance read at %+v", served.Ledger)
	}
	req, _ := http.NewRequest("GET", s.URL()+"/api/v1/enterprises/E1/report.xlsx"+q, nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("report: HTTP %d %s", resp.StatusCode, b)
	}
	x, err := excelize.OpenReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	cell := func(sheet, prefix string, col int) string {
		rows, err := x.GetRows(sheet, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if len(r) > col && strings.HasPrefix(r[0], prefix) {
				return r[col]
			}
		}
		t.Fatalf("sheet %s has no row %q", sheet, prefix)
		return ""
	}
	root, err := base64.StdEncoding.DecodeString(served.Ledger.Checkpoint.RootHash)
	if err != nil {
		t.Fatal(err)
	}
	const trust = "9 数据可信声明"
	if got := cell(trust, "树大小", 1); got != strconv.FormatUint(served.Ledger.Checkpoint.Size, 10) {
		t.Errorf("report tree size %s, served checkpoint %d", got, served.Ledger.Checkpoint.Size)
	}
	if got := cell(trust, "根哈希 Root hash (hex)", 1); got != hex.EncodeToString(root) {
		t.Errorf("report root %s, served %x", got, root)
	}
	if got := cell(trust, "日志 Log origin", 1); !strings.Contains(got, "shuixiao") {
		t.Errorf("origin %q", got)
	}
	intake := cell("5 水平衡表", "取水量 Intake", 2)
	// The totaliser went from 100 to 160 m³ today.
	if served.Intake == nil || *served.Intake != 60 {
		t.Fatalf("served intake %v, want 60", served.Intake)
	}
	if v, err := strconv.ParseFloat(intake, 64); err != nil || math.Abs(v-*served.Intake) > 1e-9 {
		t.Errorf("intake %q in the report, %v served", intake, *served.Intake)
	}
}
