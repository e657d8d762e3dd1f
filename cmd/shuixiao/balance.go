package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/meter"
)

func init() {
	register("balance", "water balance and water-efficiency indicators of one enterprise over a period (GB/T 12452) / 水平衡与水效指标", runBalance)
}

func runBalance(args []string) int {
	fs := flag.NewFlagSet("balance", flag.ContinueOnError)
	pointsPath := fs.String("points", "", "metering points, JSON array as GET /api/v1/points returns them")
	volumesPath := fs.String("volumes", "", "volume through each point over the period, CSV with header point,m3")
	productionPath := fs.String("production", "", "output per product, CSV with header product,quantity,unit (optional)")
	valueAdded := fs.Float64("value-added", 0, "industrial value added over the period, 10⁴ CNY (万元) (optional)")
	quotasPath := fs.String("quotas", "", "quota table, CSV with header product,unit,grade,limit (default: the built-in tables)")
	out := fs.String("out", "", "RESULT.json ('-' for standard output)")
	allowMissing := fs.Bool("allow-missing", false, "exit 0 when points have no volume (the figures that need them are null)")
	var rf reportFlags
	rf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: shuixiao balance --points POINTS.json --volumes VOLUMES.csv [--production PRODUCTION.csv]")
		fmt.Fprintln(fs.Output(), "       [--value-added X] [--quotas QUOTAS.csv] [--allow-missing] --out RESULT.json")
		fmt.Fprintln(fs.Output(), "       [--xlsx REPORT.xlsx] [--pdf REPORT.pdf --font FONT.ttf] --from YYYY-MM-DD --to YYYY-MM-DD")
		fmt.Fprintln(fs.Output(), "       [--enterprise-name NAME] [--checkpoint CHECKPOINT]")
		fmt.Fprintln(fs.Output(), "水平衡测试：取水、重复利用、排水、漏失、各项水效指标、单位产品取水量与定额等级 (docs/balance.md)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if fs.NArg() > 0 || *pointsPath == "" || *volumesPath == "" || *out == "" {
		fs.Usage()
		return 2
	}
	if given["value-added"] && !(*valueAdded > 0 && *valueAdded <= balance.MaxValueAdded) {
		fmt.Fprintf(os.Stderr, "参数错误 / flag error: --value-added %v must be in (0, %g] 万元\n", *valueAdded, balance.MaxValueAdded)
		return 2
	}
	if err := rf.check(); err != nil {
		fmt.Fprintf(os.Stderr, "参数错误 / flag error: %v\n", err)
		return 2
	}
	points, volumes, report, err := balanceReport(*pointsPath, *volumesPath, *productionPath, *quotasPath, *valueAdded)
	if err != nil {
		fmt.Fprintf(os.Stderr, "输入错误 / input error: %v\n", err)
		return 1
	}
	b, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		fmt.Fprintf(os.Stderr, "输出错误 / output error: %v\n", err)
		return 1
	}
	if err := writeOutput(*out, append(b, '\n')); err != nil {
		fmt.Fprintf(os.Stderr, "输出错误 / output error: %v\n", err)
		return 1
	}
	if err := rf.write(points, volumes, report, *valueAdded, *volumesPath); err != nil {
		fmt.Fprintf(os.Stderr, "报告错误 / report error: %v\n", err)
		return 1
	}
	for name, p := range report.Products {
		if !p.IntakePerUnit.OK {
			fmt.Fprintf(os.Stderr, "注意 / note: %s: no intake per unit: %s\n", name, p.IntakePerUnit.Note)
		}
	}
	if len(report.Missing) > 0 {
		fmt.Fprintf(os.Stderr, "缺少水量 / no volume in %s for points %s: the figures that need them are null in %s\n",
			*volumesPath, strings.Join(report.Missing, ", "), *out)
		if !*allowMissing {
			return 1
		}
	}
	return 0
}

// balanceReport reads the command's input files and evaluates the balance.
func balanceReport(pointsPath, volumesPath, productionPath, quotasPath string, valueAdded float64) ([]meter.Point, balance.Volumes, balance.Report, error) {
	fail := func(err error) ([]meter.Point, balance.Volumes, balance.Report, error) {
		return nil, nil, balance.Report{}, err
	}
	points, err := readInput(pointsPath, balance.ReadPoints)
	if err != nil {
		return fail(err)
	}
	vt, err := readInput(volumesPath, balance.ReadVolumes)
	if err != nil {
		return fail(err)
	}
	if err := vt.Check(points); err != nil {
		return fail(err)
	}
	opts := balance.Options{Settings: balance.DefaultSettings(), ValueAdded: valueAdded}
	if productionPath != "" {
		if opts.Production, err = readInput(productionPath, balance.ReadProduction); err != nil {
			return fail(err)
		}
	}
	if quotasPath != "" {
		if opts.Quotas, err = readInput(quotasPath, balance.ReadQuotas); err != nil {
			return fail(err)
		}
	}
	return points, vt.Volumes, balance.Evaluate(points, vt.Volumes, opts), nil
}

// readInput opens path and reads it with read, which names it in messages.
func readInput[T any](path string, read func(io.Reader, string) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	return read(f, path)
}

// writeOutput writes b to path, or to standard output for "-".
func writeOutput(path string, b []byte) error {
	if path == "-" {
		_, err := os.Stdout.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
