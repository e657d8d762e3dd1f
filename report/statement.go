package report

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/contract"
	"github.com/shuixiao/shuixiao/production"
)

// StatementDoc is what an M&V statement (节水量测量与验证报告) of a
// contract-water-saving project is written from: the contract and the
// statement record (package contract), where it was served from and when.
type StatementDoc struct {
	Contract  contract.Contract
	Record    contract.Record
	Source    string
	Generated time.Time
}

func (d StatementDoc) validate() error {
	if d.Record.Statement.ID == "" || d.Contract.ID != d.Record.Statement.Contract {
		return errors.New("节水量报告 / statement report: no statement, or a statement of another contract")
	}
	return nil
}

func (d StatementDoc) title() string {
	return fmt.Sprintf("%s 节水量测量与验证报告 %s", d.Contract.Name, d.period())
}

func (d StatementDoc) period() string {
	s := d.Record.Statement
	return s.From.In(production.Zone).Format(time.DateOnly) + " — " + s.To.Add(-time.Nanosecond).In(production.Zone).Format(time.DateOnly)
}

// StatementXLSX writes the statement as an XLSX workbook: the statement
// and the parties' shares, the fit with Guideline 14's limits, the model
// periods (metered against modelled intake, charted), the non-routine
// adjustments, and the ledger checkpoint it was read at.
func StatementXLSX(w io.Writer, d StatementDoc, opts ...Option) error {
	if err := d.validate(); err != nil {
		return err
	}
	o := applyOptions(opts)
	var fnt *ttfFont
	if f, err := loadFont(o.fontPath); err == nil {
		fnt = &f
	} else if o.fontPath != "" {
		return err
	}
	return writeWorkbook(w, statementSections(d), d.title(), d.Generated, fnt)
}

// StatementPDF writes the statement as PDF with a Chinese font embedded
// (the same sections as StatementXLSX; the fit is given as its table).
func StatementPDF(w io.Writer, d StatementDoc, opts ...Option) error {
	if err := d.validate(); err != nil {
		return err
	}
	o := applyOptions(opts)
	fnt, err := loadFont(o.fontPath)
	if err != nil {
		return err
	}
	pdf, err := newPDF(fnt, d.title(), d.Generated, fmt.Sprintf("%s · %s", d.Record.Statement.ID, d.period()))
	if err != nil {
		return err
	}
	return writePDF(w, pdf, statementSections(d))
}

var optionNames = map[contract.Option]string{
	contract.RetrofitIsolation: "IPMVP 选项 B 改造隔离 / Option B, retrofit isolation",
	contract.WholeFacility:     "IPMVP 选项 C 全厂 / Option C, whole facility",
}

func statementSections(d StatementDoc) []section {
	c, r := d.Contract, d.Record
	s := r.Statement
	cover := section{sheet: "封面 Cover", title: d.title(), paras: []string{
		"Measurement and verification statement of a contract-water-saving project (合同节水管理), IPMVP with the statistics of ASHRAE Guideline 14-2014",
		"合同 / Contract: " + c.ID + " " + c.Name,
		"用水企业 / Enterprise: " + c.Enterprise,
		"节水服务公司 / Service company: " + c.ServiceCompany,
		"测量边界 / Boundary: " + optionNames[c.Option] + "; 计量点 points: " + strings.Join(r.Points, ", "),
		"基准期 / Baseline: " + spanText(c.Baseline) + "; 报告期 / Reporting period: " + d.period(),
		"报告编号 / Statement: " + s.ID,
		"摘要 / Digest (SHA-256 of the canonical statement): " + s.Digest,
		"编制时间 / Generated: " + d.Generated.Format(time.RFC3339),
	}}
	verifiable := "否 no"
	if s.Verifiable() {
		verifiable = fmt.Sprintf("是 yes: 可签发 %g m³ (floor(savings − uncertainty))", s.Issuable())
	}
	figs := table{title: "1.1 节水量 Savings", head: []string{"项目 Item", "数值 Value"}, widths: []float64{2, 1.2}, rows: [][]cell{
		{txt("调整后基准用水量 Adjusted baseline (m³)"), volume(s.AdjustedBaselineM3)},
		{txt("其中常规基准 of which routine baseline (m³)"), volume(r.RoutineM3)},
		{txt("非常规调整 Non-routine adjustments (m³)"), volume(r.NonRoutineM3)},
		{txt("报告期计量取水量 Reporting-period metered intake (m³)"), volume(s.ReportingM3)},
		{txt("节水量 Savings (m³)"), volume(s.SavingsM3)},
		{txt("不确定度 (90 %) Uncertainty at 90 % (m³)"), volume(s.UncertaintyM3)},
		{txt(fmt.Sprintf("节水服务公司分享 Service company's share (%g)", c.ServiceCompanyShare)), volume(r.ServiceCompanyM3)},
		{txt("企业分享 Enterprise's share"), volume(r.EnterpriseM3)},
		{txt("满足 Guideline 14 Meets Guideline 14"), txt(yesNo(s.MeetsGuideline14))},
		{txt("可核证 Verifiable (meets Guideline 14, savings > uncertainty)"), txt(verifiable)},
	}}
	fit := table{title: "1.2 基准模型 Baseline model", head: []string{"项目 Item", "数值 Value", "限值 Limit"}, widths: []float64{2, 1, 1}, rows: [][]cell{
		{txt("CV(RMSE)"), number(r.CVRMSE), txt(fmt.Sprintf("≤ %g", r.LimitCVRMSE))},
		{txt("NMBE"), number(r.NMBE), txt(fmt.Sprintf("±%g", r.LimitNMBE))},
		{txt("R²"), number(r.R2), txt("—")},
		{txt("t(0.95, n−p)"), number(r.T), txt("—")},
		{txt("残差一阶自相关 Residual lag-1 autocorrelation ρ"), number(r.Autocorrelation), txt("—")},
		{txt("基准期数 n / 报告期数 m"), txt(fmt.Sprintf("%d / %d", len(r.Baseline), len(r.Reporting))), txt("—")},
	}}
	keys := make([]string, 0, len(r.Model))
	for k := range r.Model {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fit.rows = append(fit.rows, []cell{txt("系数 Coefficient " + k), number(r.Model[k]), txt("—")})
	}
	summary := section{sheet: "节水量 Savings", title: "1 节水量与基准模型 Savings and baseline model", tables: []table{figs, fit},
		paras: []string{"不确定度按 ASHRAE Guideline 14-2014 附录 B 式 B-14（n' = n）。Uncertainty by ASHRAE Guideline 14-2014 Annex B eq. B-14 with n' = n: t · 1.26 · CV · √((1 + 2/n)/m) · routine baseline."}}
	for _, w := range r.Warnings {
		summary.paras = append(summary.paras, "注意 Note: "+w)
	}

	head := []string{"时段 Part", "期间 Period", "计量取水 Metered (m³)", "模型 Modelled (m³)", "差值 Residual (m³)", "数据覆盖 Coverage"}
	widths := []float64{0.9, 1, 1.2, 1.2, 1.1, 0.9}
	var driverNames []string
	for _, dr := range r.Drivers {
		driverNames = append(driverNames, dr.Name)
		head = append(head, "驱动 "+dr.Name)
		widths = append(widths, 1)
	}
	periods := table{title: "2.1 基准期与报告期 Baseline and reporting periods", head: head, widths: widths}
	add := func(part string, fs []contract.PeriodFigures) {
		for _, f := range fs {
			row := []cell{txt(part), txt(f.Label), volume(f.IntakeM3), volume(f.ModelM3), volume(f.IntakeM3 - f.ModelM3), fraction(f.Coverage)}
			for _, n := range driverNames {
				row = append(row, number(f.Drivers[n]))
			}
			periods.rows = append(periods.rows, row)
		}
	}
	add("基准 baseline", r.Baseline)
	add("报告 reporting", r.Reporting)
	fitSec := section{sheet: "拟合 Fit", title: "2 基准拟合 Baseline fit: metered against modelled intake", tables: []table{periods},
		charts: []lineChart{
			{title: "基准期 计量 vs 模型 Baseline: metered vs modelled (m³)", table: 0, keyCol: 0, catCol: 1, key: "基准 baseline", valCols: []int{2, 3}},
			{title: "报告期 计量 vs 调整后基准 Reporting: metered vs modelled (m³)", table: 0, keyCol: 0, catCol: 1, key: "报告 reporting", valCols: []int{2, 3}},
		}}
	adj := table{title: "3.1 非常规调整 Non-routine adjustments", head: []string{"期间 Period", "调整量 m³", "原因 Reason", "记录人 By", "时间 At"}, widths: []float64{1, 1, 3, 1, 1.4}}
	for _, a := range r.Adjustments {
		adj.rows = append(adj.rows, []cell{txt(a.Period), volume(a.M3), txt(a.Reason), txt(orDash(a.By)), txt(a.At.Format(time.RFC3339))})
	}
	adjSec := section{sheet: "调整 Adjustments", title: "3 非常规调整 Non-routine adjustments", tables: []table{adj}}
	if len(r.Adjustments) == 0 {
		adjSec.paras = []string{"无 / none"}
		adjSec.tables = nil
	}
	trust := section{sheet: "数据可信 Trust", title: "4 数据可信声明 Data-trust statement", tables: []table{{title: "4.1 账本检查点 Ledger checkpoint",
		head: []string{"项目 Item", "内容 Value"}, widths: []float64{1, 3}, rows: [][]cell{
			{txt("树大小 Tree size"), count(s.CheckpointSize)},
			{txt("根哈希 Root hash (hex)"), txt(s.CheckpointRoot)},
			{txt("读数时账本大小 Ledger size at the read"), txt(fmt.Sprintf("%d … %d", r.LedgerSize, r.LedgerSizeAfter))},
		}}}, paras: []string{
		fmt.Sprintf("计量取水量读自平台账本（检查点大小 %d）；驱动量（产量等）与非常规调整为申报数据。The metered intake was read from the platform's ledger at the checkpoint of size %d; the drivers (output and other declared series) and the non-routine adjustments are declared data. 数据来源 Source: %s", s.CheckpointSize, s.CheckpointSize, orDash(d.Source)),
		"核验方法 How to verify: shuixiao verify savings URL --log-key log.vkey --statement " + s.ID + " 由账本独立重算各期计量取水量、重新拟合并逐项比对 — recomputes each period's metered intake from the ledger alone, refits the model and compares every figure.",
	}}
	return []section{cover, summary, fitSec, adjSec, trust}
}

func spanText(s contract.Span) string {
	return s.From.In(production.Zone).Format(time.DateOnly) + " — " + s.To.Add(-time.Nanosecond).In(production.Zone).Format(time.DateOnly)
}
