package report

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// The report is built once as sections of paragraphs and tables whose
// cells keep their numbers; the XLSX and PDF writers only lay them out, so
// both files always say the same thing.

// cellKind says how a cell's number is shown.
type cellKind int

const (
	textCell   cellKind = iota
	volumeCell          // m³, two decimals, thousands separated
	rateCell            // fraction shown as a percentage
	numberCell          // a plain number (quantities, limits, intake per unit)
	countCell           // a whole number
)

// cell is one table cell: a text, or a number and how to show it.
type cell struct {
	kind cellKind
	text string
	v    float64
}

func txt(s string) cell                { return cell{text: s} }
func volume(v float64) cell            { return cell{kind: volumeCell, v: v} }
func fraction(v float64) cell          { return cell{kind: rateCell, v: v} }
func number(v float64) cell            { return cell{kind: numberCell, v: v} }
func count[T ~int | ~uint64](n T) cell { return cell{kind: countCell, v: float64(n)} }

// absentMark is shown where a figure cannot be given.
const absentMark = "—"

// figureCell is a figure as a cell of kind k, or the absent mark.
func figureCell(f balance.Figure, k cellKind) cell {
	if !f.OK || math.IsNaN(f.Value) || math.IsInf(f.Value, 0) {
		return txt(absentMark)
	}
	return cell{kind: k, v: f.Value}
}

// String is the cell as printed.
func (c cell) String() string {
	switch c.kind {
	case volumeCell:
		return thousands(strconv.FormatFloat(c.v, 'f', 2, 64))
	case rateCell:
		return strconv.FormatFloat(c.v*100, 'f', 2, 64) + "%"
	case numberCell:
		return shortNumber(c.v)
	case countCell:
		return strconv.FormatFloat(c.v, 'f', 0, 64)
	}
	return c.text
}

// shortNumber prints a quantity, limit or intake per unit readably: four
// decimals at most from 1 up, four significant digits below 1; the XLSX
// cell keeps the full value.
func shortNumber(v float64) string {
	if a := math.Abs(v); a != 0 && a < 1 {
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	s := strconv.FormatFloat(v, 'f', 4, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// thousands inserts a comma every three digits of the integer part of a
// decimal number.
func thousands(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if hasFrac {
		return sign + b.String() + "." + frac
	}
	return sign + b.String()
}

// table is a titled table; widths are relative column widths.
type table struct {
	title  string
	head   []string
	widths []float64
	rows   [][]cell
}

// section is one chapter of the report; sankey marks where the diagram goes.
type section struct {
	sheet  string // XLSX sheet name (≤ 31 characters)
	title  string
	paras  []string
	tables []table
	// diagram, when set, is drawn after the paragraphs.
	diagram *balance.Sankey
	// charts are drawn beside the tables in the XLSX (the PDF shows the
	// tables only).
	charts []lineChart
}

// lineChart plots columns of one of the section's tables against a
// category column, over the table's rows whose key column holds key (the
// table keeps those rows together).
type lineChart struct {
	title          string
	table          int
	keyCol, catCol int
	key            string
	valCols        []int
}

// outline builds the report's sections in the order of GB/T 12452-2022
// Appendix A.
func outline(d Doc) []section {
	return []section{
		cover(d), enterpriseSection(d), periodSection(d), meteringSection(d), unitSection(d),
		balanceSection(d), indicatorSection(d), diagramSection(d), findingSection(d), trustSection(d),
	}
}

func cover(d Doc) section {
	s := section{sheet: "封面 Cover", title: d.title()}
	s.paras = []string{
		"Water-balance test report (GB/T 12452-2022, Appendix A outline)",
		"企业 / Enterprise: " + orDash(d.Enterprise.Name) + "（" + d.Enterprise.ID + "）",
		"测试期 / Test period: " + d.periodText(),
		"编制时间 / Generated: " + d.Generated.Format(time.RFC3339),
		"数据检查点 / Ledger checkpoint: " + checkpointLine(d.Checkpoint),
	}
	return s
}

func checkpointLine(c *Checkpoint) string {
	if c == nil {
		return "无（离线测试数据，未从账本读取）/ none (offline test data, not read from the ledger)"
	}
	return fmt.Sprintf("%s, 树大小 tree size %d, 根哈希 root hash %s", c.Origin, c.Size, hex.EncodeToString(c.RootHash))
}

func orDash(s string) string {
	if s == "" {
		return absentMark
	}
	return s
}

// withName writes a code with its name when known.
func withName(code, name string) string {
	switch {
	case code == "":
		return absentMark
	case name == "":
		return code
	}
	return code + " " + name
}

func enterpriseSection(d Doc) section {
	e := d.Enterprise
	s := section{sheet: "1 企业概况", title: "1 企业基本情况 Enterprise"}
	s.tables = append(s.tables, table{
		title: "1.1 基本信息 Basic information", head: []string{"项目 Item", "内容 Value"}, widths: []float64{1, 2},
		rows: [][]cell{
			{txt("企业名称 Name"), txt(orDash(e.Name))},
			{txt("英文名称 English name"), txt(orDash(e.NameEN))},
			{txt("企业编号 ID"), txt(e.ID)},
			{txt("行业 Industry (GB/T 4754-2017)"), txt(withName(e.Industry, d.IndustryName))},
			{txt("所在地区 Region (GB/T 2260)"), txt(withName(e.Region, d.RegionName))},
			{txt("所在园区 Park"), txt(withName(e.Park, d.ParkName))},
			{txt("主要产品 Products"), txt(orDash(strings.Join(e.Products, "、")))},
		},
	})
	prod := table{title: "1.2 产品产量与工业增加值 Production and value added",
		head:   []string{"项目 Item", "数量 Quantity", "单位 Unit"},
		widths: []float64{2, 1, 1}}
	for _, name := range sortedProducts(d.Report.Products) {
		p := d.Report.Products[name]
		prod.rows = append(prod.rows, []cell{txt(name), number(p.Quantity), txt(p.OutputUnit)})
	}
	if d.ValueAdded > 0 {
		prod.rows = append(prod.rows, []cell{txt("工业增加值（可比价）Value added (comparable prices)"), number(d.ValueAdded), txt("万元 (10⁴ CNY)")})
	}
	if len(prod.rows) == 0 {
		s.paras = append(s.paras, "测试期内未报送产品产量和工业增加值，单位产品取水量与万元工业增加值取水量不能计算。No output or value added was given for the period: intake per unit of product and per 10⁴ CNY cannot be computed.")
	} else {
		s.tables = append(s.tables, prod)
	}
	return s
}

func sortedProducts(m map[string]balance.ProductResult) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func periodSection(d Doc) section {
	basis := d.Basis
	switch basis {
	case "metered":
		basis = "计量 metered（签名读数 signed readings）"
	case "declared":
		basis = "申报 declared（企业报送统计 statistics reported by the enterprise）"
	}
	return section{sheet: "2 测试概况", title: "2 水平衡测试概况 Test", tables: []table{{
		title: "2.1 测试期与依据 Period and basis", head: []string{"项目 Item", "内容 Value"}, widths: []float64{1, 2},
		rows: [][]cell{
			{txt("测试期 Test period"), txt(d.periodText())},
			{txt("天数 Days"), number(math.Round(d.days()*1000) / 1000)},
			{txt("数据来源 Data source"), txt(orDash(d.Source))},
			{txt("数据性质 Basis"), txt(orDash(basis))},
			{txt("计量点数 Metering points"), count(len(d.Points))},
			{txt("依据标准 Standards"), txt("GB/T 12452-2022 水平衡测试通则; GB/T 24789-2022 用水单位水计量器具配备和管理通则; GB/T 7119-2018 节水型企业评价导则; GB/T 18916 取水定额")},
		},
	}}}
}

var stageNames = map[meter.Stage]string{
	meter.StageIntake: "取水 intake", meter.StageTreatment: "水处理 treatment", meter.StageSupply: "供水 supply",
	meter.StageUse: "用水 use", meter.StageRecirculation: "循环水 recirculation", meter.StageCascade: "串联回用 cascade",
	meter.StageDischarge: "排水 discharge",
}

var purposeNames = map[meter.Purpose]string{
	meter.PurposeIndirectCooling: "间接冷却水 indirect cooling", meter.PurposeDirectCooling: "直接冷却水 direct cooling",
	meter.PurposeProcess: "工艺水 process", meter.PurposeBoiler: "锅炉用水 boiler", meter.PurposeDomestic: "生活用水 domestic",
}

var sourceNames = map[meter.Source]string{
	meter.SourceSurface: "地表水 surface", meter.SourceGround: "地下水 ground", meter.SourceMunicipal: "自来水 municipal",
	meter.SourceReclaimed: "再生水 reclaimed", meter.SourceRain: "雨水 rain", meter.SourceMine: "矿井水 mine",
	meter.SourceSteam: "外购蒸汽 purchased steam",
}

// role is what a point measures beyond its stage: its source, purpose,
// kind of reuse or outflow.
func role(p meter.Point) string {
	var parts []string
	if p.Source != "" {
		parts = append(parts, sourceNames[p.Source])
	}
	if p.Purpose != "" {
		parts = append(parts, purposeNames[p.Purpose])
	}
	if p.Reuse != "" {
		parts = append(parts, "回用 "+string(p.Reuse))
	}
	if p.From != "" {
		parts = append(parts, "来自 from "+p.From)
	}
	if p.Outflow != "" {
		parts = append(parts, "去向 "+string(p.Outflow))
	}
	return strings.Join(parts, "; ")
}

func meteringSection(d Doc) section {
	s := section{sheet: "3 计量器具", title: "3 水计量器具配备与计量率 Metering"}
	missing := map[string]bool{}
	for _, id := range d.Report.Missing {
		missing[id] = true
	}
	summary := table{title: "3.1 各级计量点 Points by level (GB/T 24789-2022)",
		head: []string{"级别 Level", "计量点 Points", "有水量 With volume", "无水量 Without"}, widths: []float64{1, 1, 1, 1}}
	for _, lv := range []meter.Level{meter.Level1, meter.Level2, meter.Level3} {
		var n, with int
		for _, p := range d.Points {
			if p.Level != lv || !measuresVolume(p) {
				continue
			}
			n++
			if _, ok := d.Volumes[p.ID]; ok && !missing[p.ID] {
				with++
			}
		}
		summary.rows = append(summary.rows, []cell{txt(lv.Chinese()), count(n), count(with), count(n - with)})
	}
	s.tables = append(s.tables, summary)
	r := d.Report
	s.tables = append(s.tables, table{title: "3.2 二级计量率 Level-2 metering ratio", head: []string{"项目 Item", "数值 Value", "说明 Note"}, widths: []float64{1.5, 1, 2},
		rows: [][]cell{
			{txt("一级取水量 Level-1 intake Vi (m³)"), figureCell(r.Intake, volumeCell), txt(r.Intake.Note)},
			{txt("二级新水量合计 Σ level 2 (m³)"), figureCell(r.Level2, volumeCell), txt(r.Level2.Note)},
			{txt("二级计量率 Metering ratio Σ L2 / L1"), figureCell(r.MeteringRatio, rateCell), txt(r.MeteringRatio.Note)},
			{txt("最低要求 Minimum"), fraction(r.MeteringRatioMin), txt("GB/T 24789 二级水计量率 (balance/data/settings.csv)")},
		}})
	pts := table{title: "3.3 计量点一览 Metering points",
		head:   []string{"编号 ID", "名称 Name", "级别 Level", "环节 Stage", "水源/用途/回用 Role", "上级 Parent", "期间水量 Volume m³"},
		widths: []float64{1.1, 1.4, 0.7, 1, 1.6, 0.9, 1.1}}
	for _, p := range d.Points {
		vc := txt("无数据 no data")
		if !measuresVolume(p) {
			vc = txt("不计水量 no volume channel")
		} else if v, ok := d.Volumes[p.ID]; ok && !missing[p.ID] {
			vc = volume(v)
		}
		pts.rows = append(pts.rows, []cell{txt(p.ID), txt(p.Name), count(int(p.Level)), txt(stageNames[p.Stage]), txt(role(p)), txt(orDash(p.Parent)), vc})
	}
	s.tables = append(s.tables, pts)
	return s
}

// measuresVolume reports whether the point has a volume channel, i.e.
// takes part in the balance.
func measuresVolume(p meter.Point) bool {
	_, ok := balance.VolumeChannel(p)
	return ok
}

func unitSection(d Doc) section {
	s := section{sheet: "4 用水单元", title: "4 用水单元水量 Water use by unit (level 2)"}
	names := map[string]meter.Point{}
	for _, p := range d.Points {
		names[p.ID] = p
	}
	t := table{title: "4.1 二级用水单元水平衡 Balance of each level-2 unit",
		head:   []string{"单元 Unit", "名称 Name", "用途 Purpose", "新水量 Fresh m³", "进水 In m³", "出水 Out m³", "相对误差 Error", "允许 Tolerance", "合格 Within"},
		widths: []float64{1, 1.3, 1.1, 1, 1, 1, 0.8, 0.8, 0.7}}
	for _, u := range d.Report.Units {
		p := names[u.Unit]
		fresh := txt("无数据 no data")
		if v, ok := d.Volumes[u.Unit]; ok {
			fresh = volume(v)
		}
		t.rows = append(t.rows, []cell{txt(u.Unit), txt(p.Name), txt(orDash(purposeNames[p.Purpose])), fresh,
			figureCell(u.In, volumeCell), figureCell(u.Out, volumeCell), figureCell(u.Error, rateCell), fraction(u.Tolerance), txt(withinText(u.Within))})
	}
	if len(t.rows) == 0 {
		s.paras = append(s.paras, "没有二级用水单元 No level-2 unit is registered.")
	} else {
		s.tables = append(s.tables, t)
	}
	bp := table{title: "4.2 按用途新水量 Fresh water by purpose", head: []string{"用途 Purpose", "新水量 Fresh m³", "说明 Note"}, widths: []float64{1.5, 1, 2}}
	for _, u := range meter.Purposes {
		if f, ok := d.Report.ByPurpose[u]; ok {
			bp.rows = append(bp.rows, []cell{txt(purposeNames[u]), figureCell(f, volumeCell), txt(f.Note)})
		}
	}
	if len(bp.rows) > 0 {
		s.tables = append(s.tables, bp)
	}
	return s
}

func withinText(w *bool) string {
	switch {
	case w == nil:
		return absentMark
	case *w:
		return "是 yes"
	}
	return "否 no"
}

// figureRow is a table row of a figure: its name, symbol, value and how it
// was obtained or why it is absent.
func figureRow(name, symbol string, f balance.Figure, k cellKind) []cell {
	note := f.Note
	if f.OK && note == "" {
		note = fmt.Sprintf("%d 个计量点 points", len(f.Points))
	}
	return []cell{txt(name), txt(symbol), figureCell(f, k), txt(note)}
}

func balanceSection(d Doc) section {
	r := d.Report
	t := table{title: "5.1 企业水平衡表 Enterprise water balance",
		head: []string{"项目 Item", "符号 Symbol", "水量 m³", "来源与覆盖 Coverage"}, widths: []float64{1.6, 0.6, 1, 2.4}}
	t.rows = append(t.rows, figureRow("取水量 Intake", "Vi", r.Intake, volumeCell))
	for _, src := range meter.Sources {
		if f, ok := r.IntakeBySource[src]; ok {
			t.rows = append(t.rows, figureRow("  其中 of which "+sourceNames[src], "", f, volumeCell))
		}
	}
	t.rows = append(t.rows,
		figureRow("非常规水 Non-conventional", "Vn", r.NonConventional, volumeCell),
		figureRow("循环水量 Recirculated", "Vcr", r.Recirculated, volumeCell),
		figureRow("串联回用水量 Cascaded", "Vs", r.Cascaded, volumeCell),
		figureRow("  其中废水回用 of which wastewater reuse", "Vw", r.WastewaterReuse, volumeCell),
		figureRow("  其中冷凝水回用 of which condensate", "Vbr", r.CondensateReuse, volumeCell),
		figureRow("重复利用水量 Reuse", "Vr", r.Reuse, volumeCell),
		figureRow("总用水量 Total use", "Vt", r.TotalUse, volumeCell),
		figureRow("排水量 Discharge", "Vd", r.Discharge, volumeCell),
		figureRow("耗水量 Consumption", "Vco", r.Consumption, volumeCell),
		figureRow("漏失水量 Leakage / unaccounted", "Vl", r.Leakage, volumeCell),
		figureRow("耗水与漏失 Consumption and loss", "Vco+Vl", r.ConsumptionAndLoss, volumeCell),
		figureRow("二级新水量合计 Σ level 2", "ΣV2", r.Level2, volumeCell),
	)
	e := table{title: "5.2 平衡校核 Balance check  e = (Vi − Vd − Vco − Vl) / Vi",
		head: []string{"项目 Item", "数值 Value", "说明 Note"}, widths: []float64{1.5, 1, 2.5},
		rows: [][]cell{
			{txt("相对平衡误差 Balance error e"), figureCell(r.BalanceError, rateCell), txt(r.BalanceError.Note)},
			{txt("允许误差 Tolerance |e|"), fraction(r.Tolerance), txt("balance/data/settings.csv")},
			{txt("是否合格 Within tolerance"), txt(withinText(r.Within)), txt("")},
		}}
	return section{sheet: "5 水平衡表", title: "5 水平衡分析 Water balance", tables: []table{t, e}}
}

// indicators are the rows of the indicator table: the figure, its symbol
// and its formula (reference/standards.md §1.4).
func indicators(r balance.Report) [][]cell {
	row := func(name, symbol, formula string, f balance.Figure, k cellKind) []cell {
		return []cell{txt(name), txt(symbol), txt(formula), figureCell(f, k), txt(f.Note)}
	}
	rows := [][]cell{
		row("水重复利用率 Reuse rate", "R", "Vr / (Vr + Vi)", r.ReuseRate, rateCell),
		row("间接冷却水循环率 Indirect cooling recirculation", "Rc", "Vcr / (Vcr + Vcf)", r.IndirectCoolingRate, rateCell),
		row("直接冷却水循环率 Direct cooling recirculation", "Rd", "Vdr / (Vdr + Vdf)", r.DirectCoolingRate, rateCell),
		row("工艺水回用率 Process water reuse", "Rg", "Vgr / (Vgr + Vgf)", r.ProcessReuseRate, rateCell),
		row("蒸汽冷凝水回用率 Condensate reuse", "Rb", "Vbr / 产汽量 steam raised", r.CondensateReuseRate, rateCell),
		row("废水回用率 Wastewater reuse", "Kw", "Vw / (Vd + Vw)", r.WastewaterReuseRate, rateCell),
		row("用水综合漏失率 Leakage rate", "Kl", "Vl / Vi", r.LeakageRate, rateCell),
		row("排水率 Discharge rate", "Kd", "Vd / Vi", r.DischargeRate, rateCell),
		row("耗水率 Consumption rate", "Kc", "Vco / Vi", r.ConsumptionRate, rateCell),
		row("非常规水源替代率 Non-conventional rate", "Kn", "Vn / Vi", r.NonConventionalRate, rateCell),
		row("二级计量率 Level-2 metering ratio", "", "Σ V2 / Vi", r.MeteringRatio, rateCell),
		row("相对平衡误差 Balance error", "e", "(Vi − Vd − Vco − Vl) / Vi", r.BalanceError, rateCell),
	}
	if r.ValueAddedGiven {
		rows = append(rows, row("万元工业增加值取水量 Intake per 10⁴ CNY value added", "", "Vi / 工业增加值 (万元)", r.IntakePer10kCNY, numberCell))
	}
	return rows
}

func indicatorSection(d Doc) section {
	s := section{sheet: "6 用水指标", title: "6 用水指标与定额 Indicators and quotas"}
	s.tables = append(s.tables, table{title: "6.1 用水指标 Indicators (GB/T 12452 / GB/T 7119 / GB/T 21534)",
		head: []string{"指标 Indicator", "符号 Symbol", "公式 Formula", "数值 Value", "说明 Note"}, widths: []float64{2, 0.5, 1.3, 0.8, 2},
		rows: indicators(d.Report)})
	pt := table{title: "6.2 单位产品取水量与定额等级 Intake per unit of product and quota grade",
		head:   []string{"产品 Product", "产量 Output", "单位 Unit", "单位产品取水量 Intake per unit", "定额等级 Grade", "定额 Quota limits", "定额已核实 Verified", "2020 基准 Baseline", "2025 目标 Target"},
		widths: []float64{1.2, 0.9, 0.7, 1, 0.7, 1.6, 0.7, 0.8, 0.8}}
	for _, name := range sortedProducts(d.Report.Products) {
		p := d.Report.Products[name]
		base, target := txt(absentMark), txt(absentMark)
		if p.Plan.HasBaseline {
			base = number(p.Plan.Baseline)
		}
		if t, ok := p.Plan.Target2025(); ok {
			target = number(t)
		}
		pt.rows = append(pt.rows, []cell{txt(name), number(p.Quantity), txt("m3/" + p.OutputUnit), figureCell(p.IntakePerUnit, numberCell),
			txt(gradeText(p.Grade)), txt(quotaText(p.Quotas)), txt(verifiedText(p.Quotas)), base, target})
	}
	if len(pt.rows) > 0 {
		s.tables = append(s.tables, pt)
	}
	return s
}

func gradeText(g string) string {
	switch g {
	case "":
		return absentMark
	case "over":
		return "超定额 over quota"
	}
	return g + " 级 grade " + g
}

func quotaText(qs []balance.Quota) string {
	if len(qs) == 0 {
		return "无定额 no quota"
	}
	var parts []string
	for _, q := range qs {
		parts = append(parts, fmt.Sprintf("%d级 ≤ %s (%s)", q.Grade, strconv.FormatFloat(q.Limit, 'f', -1, 64), quotaSource(q)))
	}
	return strings.Join(parts, "; ")
}

// quotaSource is a quota's standard and edition, e.g. GB/T 18916.5-2022.
func quotaSource(q balance.Quota) string {
	if q.Edition == "" {
		return q.Standard
	}
	return q.Standard + "-" + q.Edition
}

func verifiedText(qs []balance.Quota) string {
	if len(qs) == 0 {
		return absentMark
	}
	for _, q := range qs {
		if !q.Verified {
			return "否 unverified"
		}
	}
	return "是 yes"
}

func diagramSection(d Doc) section {
	sk := balance.Diagram(d.Points, d.Volumes)
	labels := map[string]string{}
	for _, n := range sk.Nodes {
		labels[n.Name] = n.Label
	}
	t := table{title: "7.1 水量流向 Flows of the diagram", head: []string{"起点 From", "终点 To", "水量 m³"}, widths: []float64{1.5, 1.5, 1}}
	for _, l := range sk.Links {
		t.rows = append(t.rows, []cell{txt(labels[l.Source]), txt(labels[l.Target]), volume(l.Value)})
	}
	return section{sheet: "7 水平衡图", title: "7 水平衡图 Water-balance diagram", diagram: &sk, tables: []table{t},
		paras: []string{"循环水与串联回用水画作用水单元左侧的供给与右侧的回流；未计量水量单独成节点。Reused water is drawn as a supply on the left of the unit that uses it and a return on its right; water no level-2 meter saw is a node of its own."}}
}

func findingSection(d Doc) section {
	s := section{sheet: "8 问题与建议", title: "8 存在问题与节水建议 Problems and recommendations"}
	fs := findings(d)
	if len(fs) == 0 {
		s.paras = append(s.paras, "按本期数据未发现超定额、计量率不足、平衡超差或缺数问题。The figures of the period show no over-quota product, no metering ratio below the minimum, no balance outside tolerance and no missing data.")
		return s
	}
	t := table{title: "8.1 问题与建议 Findings", head: []string{"序号 No.", "问题 Problem", "依据 Evidence", "建议 Recommendation"}, widths: []float64{0.4, 1.6, 1.8, 2}}
	for i, f := range fs {
		t.rows = append(t.rows, []cell{count(i + 1), txt(f.problem), txt(f.evidence), txt(f.advice)})
	}
	s.tables = append(s.tables, t)
	return s
}

func trustSection(d Doc) section {
	s := trustStatement("9 数据可信声明", "9 数据可信声明 Data-trust statement", d.Checkpoint, d.LedgerSize, d.Source)
	if d.Trust != nil {
		s.tables = append(s.tables, trustLevelTable(d))
	}
	return s
}

// trustLabel is a trust level (reading.TrustMeter, reading.TrustGateway or
// meter.TrustMixed) as the report and the console print it, Chinese first.
func trustLabel(level string) string {
	switch level {
	case reading.TrustMeter:
		return "表计签名 meter-signed"
	case reading.TrustGateway:
		return "网关签名 gateway-signed"
	case meter.TrustMixed:
		return "混合 mixed"
	case "":
		return "无计量表 no meters"
	}
	return level
}

// trustLevelTable states where the readings behind the figures were
// signed: the level of the whole and the metered points of each level.
func trustLevelTable(d Doc) table {
	names := map[string]string{}
	for _, p := range d.Points {
		names[p.ID] = p.Name
	}
	t := table{title: "9.2 数据可信等级 Data trust level", head: []string{"项目 Item", "内容 Value"}, widths: []float64{1, 3},
		rows: [][]cell{{txt("总体 Overall"), txt(trustLabel(d.Trust.Level))}}}
	byLevel := d.Trust.PointsByLevel()
	for _, lvl := range []string{reading.TrustMeter, reading.TrustGateway, meter.TrustMixed} {
		pts := byLevel[lvl]
		if len(pts) == 0 {
			continue
		}
		named := make([]string, len(pts))
		for i, id := range pts {
			named[i] = id
			if n := names[id]; n != "" {
				named[i] += " " + n
			}
		}
		t.rows = append(t.rows, []cell{txt(trustLabel(lvl) + " 计量点 points"), txt(fmt.Sprintf("%d: %s", len(pts), strings.Join(named, "; ")))})
	}
	return t
}

// trustStatement names the ledger checkpoint a report's data were read at
// and how anyone can verify them against it.
func trustStatement(sheet, title string, c *Checkpoint, read uint64, source string) section {
	s := section{sheet: sheet, title: title}
	if c == nil && read > 0 {
		s.paras = []string{
			fmt.Sprintf("本报告的全部计量数据读自平台账本的前 %d 条记录；出具报告时尚无签名检查点，任何更晚的检查点都覆盖这些记录。All metered data of this report were read from the first %d entries of the platform's ledger; no signed checkpoint was available when the report was made, and any later checkpoint covers them: verify against one with shuixiao verify consistency / verify log / verify balance.", read, read),
			"数据来源 Source: " + orDash(source),
		}
		return s
	}
	if c == nil {
		s.paras = []string{
			"本报告的数据未从平台账本读取（离线测试，水量由测试单位提供），因此没有账本检查点可供核验。The data of this report were not read from the platform's ledger (an offline test with volumes supplied by the tester), so there is no ledger checkpoint to verify them against.",
			"数据来源 Source: " + orDash(source),
		}
		return s
	}
	s.tables = append(s.tables, table{title: "9.1 账本检查点 Ledger checkpoint", head: []string{"项目 Item", "内容 Value"}, widths: []float64{1, 3},
		rows: [][]cell{
			{txt("日志 Log origin"), txt(c.Origin)},
			{txt("树大小 Tree size"), count(c.Size)},
			{txt("根哈希 Root hash (hex)"), txt(hex.EncodeToString(c.RootHash))},
			{txt("根哈希 Root hash (base64)"), txt(base64.StdEncoding.EncodeToString(c.RootHash))},
		}})
	if read == 0 {
		read = c.Size
	}
	s.paras = []string{
		fmt.Sprintf("本报告的全部计量数据读自平台账本的前 %d 条记录。每条读数由计量表自身密钥签名（老旧设备的读数由协议网关密钥签名），账本为 RFC 6962 默克尔树；任何第三方可只用公钥复核，无需信任平台。All metered data of this report were read from the first %d entries of the platform's ledger. Every reading is signed by its meter's own key (a legacy device's by a protocol gateway's key) and the ledger is an RFC 6962 Merkle tree, so anyone can re-check the figures with public keys only, without trusting the platform. 数据来源 Source: %s", read, read, orDash(source)),
	}
	if read > c.Size {
		s.paras = append(s.paras, fmt.Sprintf("读数时最新的签名检查点（见下）覆盖前 %d 条；第 %d–%d 条当时尚未进入签名检查点，任何更晚的检查点都覆盖它们，可用其做下述核验。The latest signed checkpoint at the time (below) covers the first %d entries; entries %d–%d were not yet under a signed checkpoint, and any later checkpoint covers them: use one for the checks below.",
			c.Size, c.Size, read-1, c.Size, c.Size, read-1))
	}
	s.paras = append(s.paras,
		"核验方法 How to verify: (1) 将下面的签名检查点存为 checkpoint.txt，运行 shuixiao verify consistency checkpoint.txt URL --log-key log.vkey，证明平台当前账本包含此检查点且未被改写 — proves the platform's current ledger extends this checkpoint; (2) shuixiao verify log URL --log-key log.vkey --checkpoint checkpoint.txt 审计至此大小的每条记录及其签名 — audits every entry up to this size and its signatures; (3) shuixiao verify balance 由账本独立重算本期水平衡并与本报告数字比对 — recomputes the period's balance from the ledger alone and compares it with the figures of this report.")
	if c.Signed != "" {
		s.paras = append(s.paras, "签名检查点 Signed checkpoint:\n"+strings.TrimRight(c.Signed, "\n"))
	}
	return s
}
