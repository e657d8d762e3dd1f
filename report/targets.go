package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/target"
)

// TargetsDoc is what the province target progress report is written from:
// a unit's progress for a year (target.Progress), and the ledger
// checkpoint its metered figures were read at.
type TargetsDoc struct {
	Progress   target.Report
	Checkpoint *Checkpoint // nil when no figure was read from the ledger
	Source     string
	Generated  time.Time
}

var levelNames = map[target.Level]string{
	target.LevelProvince: "省 province", target.LevelCity: "市 city", target.LevelPark: "园区 park",
	target.LevelIndustry: "行业 industry", target.LevelEnterprise: "企业 enterprise",
}

// TargetsXLSX writes the progress of a unit (the province, a city, a park
// or an industry) against the plan's 2025 targets as an XLSX workbook:
// its indicators against the straight 2020→2025 trajectory, its children's,
// the enterprises and parks that pull each figure down most, the
// trajectory year by year, and the data-trust statement.
func TargetsXLSX(w io.Writer, d TargetsDoc) error {
	p := d.Progress
	if p.Year == 0 || p.Level == "" {
		return fmt.Errorf("目标报告 / targets report: no unit or year")
	}
	title := fmt.Sprintf("%s %d 年工业节水目标进展", orDash(p.Name), p.Year)
	return writeWorkbook(w, targetSections(d, title), title, d.Generated, nil)
}

func targetSections(d TargetsDoc, title string) []section {
	p := d.Progress
	cover := section{sheet: "封面 Cover", title: title, paras: []string{
		fmt.Sprintf("Progress against the Hunan plan's 2025 targets, %d", p.Year),
		"单元 / Unit: " + levelNames[p.Level] + " " + withName(p.Code, p.Name),
		"编制时间 / Generated: " + d.Generated.Format(time.RFC3339),
		"数据检查点 / Ledger checkpoint: " + checkpointLine(d.Checkpoint),
		"进度按 2020→2025 直线轨迹判断；申报数据与计量数据分别标明。On track is judged against the straight trajectory from 2020 to 2025; declared and metered figures are marked.",
	}}
	names := map[string]string{}
	ind := table{title: "1.1 指标 Indicators", widths: []float64{1.4, 2, 0.8, 1, 1, 1, 1, 0.7, 0.8, 0.8, 0.8, 0.7, 1.6},
		head: []string{"键 Key", "指标 Indicator", "单位 Unit", "2020 基准 Baseline", "本年 Value", "轨迹预期 Expected", "2025 目标 Target",
			"达标进度 On track", "数据性质 Basis", "企业数 Enterprises", "有数据 With data", "已核实 Verified", "依据 Source"}}
	for _, i := range p.Indicators {
		names[i.Key] = i.NameZH + " " + i.NameEN
		ind.rows = append(ind.rows, []cell{txt(i.Key), txt(i.NameZH + " " + i.NameEN), txt(i.Unit), optNumber(i.Baseline2020), optNumber(i.Value),
			optNumber(i.Expected), optNumber(i.Target2025), txt(onTrackText(i.OnTrack)), txt(orDash(string(i.Basis))),
			count(i.Coverage.Enterprises), count(i.Coverage.WithData), txt(yesNo(i.Verified)), txt(i.Source)})
	}
	children := table{title: "2.1 下级单元 Children", widths: []float64{0.8, 1, 1.4, 2, 1, 1, 1, 0.8},
		head: []string{"级别 Level", "代码 Code", "名称 Name", "指标 Indicator", "本年 Value", "轨迹预期 Expected", "2025 目标 Target", "达标进度 On track"}}
	for _, c := range p.Children {
		for _, i := range c.Indicators {
			children.rows = append(children.rows, []cell{txt(levelNames[c.Level]), txt(c.Code), txt(c.Name), txt(i.NameZH),
				optNumber(i.Value), optNumber(i.Expected), optNumber(i.Target2025), txt(onTrackText(i.OnTrack))})
		}
	}
	worst := table{title: "3.1 拖累最大的企业与园区 Who pulls each figure down most", widths: []float64{0.8, 1, 1.6, 2, 1, 1},
		head: []string{"类别 Kind", "编号 ID", "名称 Name", "指标 Indicator", "自身数值 Value", "贡献 Contribution"}}
	for _, c := range p.Worst {
		worst.rows = append(worst.rows, []cell{txt(levelNames[c.Kind]), txt(c.ID), txt(c.Name), txt(orDash(names[c.Key])), number(c.Value), number(c.Contribution)})
	}
	traj := table{title: "4.1 逐年轨迹 Trajectory", widths: []float64{0.6, 2, 1, 1, 1.2},
		head: []string{"年份 Year", "指标 Indicator", "数值 Value", "轨迹预期 Expected", "键 Key"}}
	// By indicator, then year, so that each indicator's years are one range
	// a chart can plot; a year without a figure is an empty cell (a gap).
	points := append([]target.Point(nil), p.Trajectory...)
	sort.SliceStable(points, func(i, j int) bool {
		if points[i].Key != points[j].Key {
			return keyOrder(p, points[i].Key) < keyOrder(p, points[j].Key)
		}
		return points[i].Year < points[j].Year
	})
	for _, t := range points {
		traj.rows = append(traj.rows, []cell{count(t.Year), txt(orDash(names[t.Key])), gapNumber(t.Value), gapNumber(t.Expected), txt(t.Key)})
	}
	var charts []lineChart
	for _, i := range p.Indicators {
		if !strings.HasPrefix(i.Key, target.ProductKey("")) {
			charts = append(charts, lineChart{title: i.NameZH + " " + i.NameEN + " (" + i.Unit + ")", keyCol: 4, key: i.Key, catCol: 0, valCols: []int{2, 3}})
		}
	}
	return []section{
		cover,
		{sheet: "1 指标", title: "1 目标指标 Indicators", tables: []table{ind}},
		{sheet: "2 下级单元", title: "2 下级单元 Children", tables: []table{children}},
		{sheet: "3 拖累", title: "3 拖累 Worst contributors", tables: []table{worst}},
		{sheet: "4 轨迹", title: "4 轨迹 Trajectory 2020→", tables: []table{traj}, charts: charts},
		trustStatement("5 数据可信声明", "5 数据可信声明 Data-trust statement", d.Checkpoint, 0, d.Source),
	}
}

// optNumber is a number cell, or the absent mark for nil.
func optNumber(v *float64) cell {
	if v == nil {
		return txt(absentMark)
	}
	return number(*v)
}

// gapNumber is a number cell, or an empty one for nil (a gap in a chart).
func gapNumber(v *float64) cell {
	if v == nil {
		return txt("")
	}
	return number(*v)
}

// keyOrder is the place of an indicator key in the report's indicators.
func keyOrder(p target.Report, key string) int {
	for i, ind := range p.Indicators {
		if ind.Key == key {
			return i
		}
	}
	return len(p.Indicators)
}

func onTrackText(b *bool) string { return withinText(b) }

func yesNo(b bool) string {
	if b {
		return "是 yes"
	}
	return "否 no"
}
