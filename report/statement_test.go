package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/shuixiao/shuixiao/contract"
	"github.com/shuixiao/shuixiao/production"
)

func statementDoc(t *testing.T) StatementDoc {
	t.Helper()
	m := func(y, mo int) time.Time { return time.Date(y, time.Month(mo), 1, 0, 0, 0, 0, production.Zone) }
	c := contract.Contract{ID: "C-1", Name: "印染节水改造", Enterprise: "E", ServiceCompany: "湘江节水服务公司", Option: contract.WholeFacility,
		Granularity: contract.Monthly, Baseline: contract.Span{From: m(2024, 1), To: m(2024, 4)},
		Reporting: []contract.Span{{From: m(2024, 4), To: m(2024, 6)}}, ServiceCompanyShare: 0.7,
		Drivers: []contract.Driver{{Name: "production", Kind: contract.OutputDriver, Product: "p"}}, Status: contract.Active}
	pf := func(label string, from time.Time, in, model, p float64) contract.PeriodFigures {
		return contract.PeriodFigures{Label: label, From: from, To: from.AddDate(0, 1, 0), IntakeM3: in, ModelM3: model, Coverage: 1,
			Drivers: map[string]float64{"production": p}}
	}
	r := contract.Record{Statement: contract.Statement{Contract: "C-1", Enterprise: "E", From: m(2024, 4), To: m(2024, 6),
		AdjustedBaselineM3: 4620, ReportingM3: 4158, SavingsM3: 462, UncertaintyM3: 31.5, MeetsGuideline14: true,
		CheckpointSize: 98765, CheckpointRoot: strings.Repeat("ab", 32)},
		Option: contract.WholeFacility, Points: []string{"IN"}, Granularity: contract.Monthly, Drivers: c.Drivers,
		Model: map[string]float64{"intercept": 2000, "production": 3}, CVRMSE: 0.0123, NMBE: 0, R2: 0.98, LimitCVRMSE: 0.15, LimitNMBE: 0.05,
		T: 1.8, RoutineM3: 4600, NonRoutineM3: 20, ServiceCompanyM3: 323.4, EnterpriseM3: 138.6,
		Baseline:    []contract.PeriodFigures{pf("2024-01", m(2024, 1), 2310, 2300, 100), pf("2024-02", m(2024, 2), 2350, 2360, 120), pf("2024-03", m(2024, 3), 2420, 2420, 140)},
		Reporting:   []contract.PeriodFigures{pf("2024-04", m(2024, 4), 2079, 2300, 100), pf("2024-05", m(2024, 5), 2079, 2300, 100)},
		Adjustments: []contract.Adjustment{{Period: "2024-05", M3: 20, Reason: "新增染色线", By: "auditor-1", At: m(2024, 6)}}}
	if err := r.Statement.Seal(); err != nil {
		t.Fatal(err)
	}
	return StatementDoc{Contract: c, Record: r, Source: "test", Generated: m(2024, 7)}
}

func TestStatementXLSX(t *testing.T) {
	d := statementDoc(t)
	var buf bytes.Buffer
	if err := StatementXLSX(&buf, d); err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, err := x.GetRows("节水量 Savings")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, r := range rows {
		if len(r) >= 2 {
			found[r[0]] = r[1]
		}
	}
	if found["节水量 Savings (m³)"] != "462.00" || found["不确定度 (90 %) Uncertainty at 90 % (m³)"] != "31.50" {
		t.Errorf("savings sheet: %v", found)
	}
	fit, err := x.GetRows("拟合 Fit")
	if err != nil {
		t.Fatal(err)
	}
	all := ""
	for _, r := range fit {
		all += strings.Join(r, "|") + "\n"
	}
	if !strings.Contains(all, "2024-02|2,350.00|2,360.00|-10.00") || !strings.Contains(all, "报告 reporting|2024-05") {
		t.Errorf("fit sheet:\n%s", all)
	}
	trust, _ := x.GetRows("数据可信 Trust")
	if s := strings.Join(flatten(trust), " "); !strings.Contains(s, strings.Repeat("ab", 32)) || !strings.Contains(s, "verify savings") {
		t.Errorf("trust sheet lacks the checkpoint or the verify command: %s", s)
	}
	d.Record.Statement.Contract = "C-2"
	if err := StatementXLSX(&bytes.Buffer{}, d); err == nil {
		t.Error("a statement of another contract was written")
	}
}

func flatten(rows [][]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

func TestStatementPDF(t *testing.T) {
	font := fontOrSkip(t)
	d := statementDoc(t)
	var buf bytes.Buffer
	if err := StatementPDF(&buf, d, WithFont(font)); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if !bytes.HasPrefix(b, []byte("%PDF-")) || !bytes.Contains(b, []byte("/FontFile2")) {
		t.Fatal("not a PDF with an embedded TrueType font")
	}
	text := pdfText(t, b)
	for _, want := range []string{"节水量测量与验证报告", "湘江节水服务公司", "462.00", "31.50", "98765", strings.Repeat("ab", 32),
		d.Record.Statement.ID, "新增染色线", "2,310.00", "shuixiao verify savings"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
}
