package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/shuixiao/shuixiao/leak"
	"github.com/shuixiao/shuixiao/network"
)

func init() {
	register("leak", "漏损检测与评分 leak detection and BattLeDIM scoring (detect, score)", runLeak)
}

func runLeak(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "用法 usage: shuixiao leak <detect|score> [flags]")
		return 2
	}
	switch args[0] {
	case "score":
		return runLeakScore(args[1:], os.Stdout, os.Stderr)
	case "detect":
		return runLeakDetect(args[1:], os.Stdout, os.Stderr)
	}
	fmt.Fprintf(os.Stderr, "未知子命令 unknown subcommand %q (want detect or score)\n", args[0])
	return 2
}

// parseInterleaved parses flags that may come before or after the
// positional arguments and returns the positionals.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func runLeakScore(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("leak score", flag.ContinueOnError)
	fs.SetOutput(stderr)
	inp := fs.String("inp", "", "EPANET .inp file of the network (L-TOWN.inp)")
	info := fs.String("info", "", "ground truth: CSV with pipe,start,end columns")
	outflow := fs.String("outflow", "", "per-leak outflow series, CSV or CSV.gz (timestamp, one m³/h column per leak pipe)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "用法 usage: shuixiao leak score --inp L-TOWN.inp --info INFO.csv --outflow OUTFLOW.csv.gz SUBMISSION.txt")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 || *inp == "" || *info == "" || *outflow == "" {
		fs.Usage()
		return 2
	}
	if err := leakScore(*inp, *info, *outflow, pos[0], stdout); err != nil {
		fmt.Fprintf(stderr, "评分失败 scoring failed: %v\n", err)
		return 1
	}
	return 0
}

func leakScore(inpPath, infoPath, outflowPath, submissionPath string, w io.Writer) error {
	graph, err := loadPipeGraph(inpPath)
	if err != nil {
		return err
	}
	rules, err := leak.BattLeDIMRules()
	if err != nil {
		return err
	}
	leaks, err := readWith(infoPath, leak.ReadLeakInfo)
	if err != nil {
		return err
	}
	f, err := os.Open(outflowPath)
	if err != nil {
		return err
	}
	periodStart, series, err := leak.ReadLeakOutflow(f, rules.Step)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", outflowPath, err)
	}
	for i := range leaks {
		leaks[i].Outflow = series[leaks[i].Pipe]
		if leaks[i].Outflow == nil {
			return fmt.Errorf("%s: no outflow column for leak pipe %s", outflowPath, leaks[i].Pipe)
		}
	}
	reports, err := readWith(submissionPath, leak.ParseReports)
	if err != nil {
		return err
	}
	res, err := leak.Score(graph, leaks, periodStart, reports, rules)
	if err != nil {
		return fmt.Errorf("%s: %w", submissionPath, err)
	}
	for _, r := range res.Reports {
		t := r.Time.Format("2006-01-02 15:04")
		switch r.Outcome {
		case leak.BeforePeriod:
			fmt.Fprintf(w, "%s %s ignored 早于评分期 before the scoring period\n", r.Link, t)
		case leak.FalsePositive:
			fmt.Fprintf(w, "%s %s FP 误报 no leak hit score %.4f\n", r.Link, t, r.Value)
		case leak.Repeated:
			fmt.Fprintf(w, "%s %s repeat 重复 leak %s already detected (%.1f m) score %.4f\n", r.Link, t, r.Leak, r.Distance, r.Value)
		default:
			fmt.Fprintf(w, "%s %s TP 命中 leak %s (start %s, %.1f m) score %.4f\n", r.Link, t, r.Leak,
				r.LeakStart.Format("2006-01-02 15:04"), r.Distance, r.Value)
		}
	}
	fmt.Fprintf(w, "TOTAL %.2f TP %d FP %d FN %d\n", res.Total, res.TP, res.FP, res.FN)
	return nil
}

// readWith opens path and decodes it, naming the file in errors.
func readWith[T any](path string, decode func(io.Reader) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	v, err := decode(f)
	if err != nil {
		return v, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

func loadPipeGraph(inpPath string) (*leak.PipeGraph, error) {
	net, err := network.ReadFile(inpPath)
	if err != nil {
		return nil, err
	}
	return leak.NetworkGraph(net)
}

func runLeakDetect(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("leak detect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	inp := fs.String("inp", "", "EPANET .inp file of the network (the public model)")
	scada := fs.String("scada", "", "SCADA CSV or CSV.gz: t_s, P_<node> (m), Q_<link> (m³/h), L_<tank> (m)")
	calibrate := fs.String("calibrate", "", "leak-free SCADA file to calibrate on (default: the first days of --scada)")
	out := fs.String("out", "", "alarms CSV to write: alarm_t_s,rank,link,node,est_flow_m3h")
	falseAlarms := fs.Float64("false-alarms-per-year", 0, "designed false alarm rate (default from the detector's configuration)")
	candidates := fs.Int("candidates", 0, "candidate pipes per alarm (default 10)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "用法 usage: shuixiao leak detect --inp NET.inp --scada FILE.csv [--calibrate FILE.csv] --out ALARMS.csv")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 0 || *inp == "" || *scada == "" || *out == "" {
		fs.Usage()
		return 2
	}
	alarms, err := leakDetect(*inp, *scada, *calibrate, func(c *leak.Config) {
		if *falseAlarms > 0 {
			c.FalseAlarmsPerYear = *falseAlarms
		}
		if *candidates > 0 {
			c.Candidates = *candidates
		}
	})
	if err != nil {
		fmt.Fprintf(stderr, "检测失败 detection failed: %v\n", err)
		return 1
	}
	if err := writeAlarms(*out, alarms); err != nil {
		fmt.Fprintf(stderr, "写入失败 cannot write alarms: %v\n", err)
		return 1
	}
	for _, a := range alarms {
		best := "-"
		if len(a.Candidates) > 0 {
			best = a.Candidates[0].Link
		}
		fmt.Fprintf(stdout, "漏损报警 leak alarm t=%d s (onset ≈ %d s) 估计流量 est. flow %.1f m³/h 首选管段 best pipe %s\n", a.Time, a.Start, a.Flow, best)
	}
	fmt.Fprintf(stdout, "报警 alarms: %d\n", len(alarms))
	return 0
}

// leakDetect runs the streaming detector over a SCADA file.
func leakDetect(inpPath, scadaPath, calibratePath string, configure func(*leak.Config)) ([]leak.Alarm, error) {
	net, err := network.ReadFile(inpPath)
	if err != nil {
		return nil, err
	}
	graph, err := leak.NetworkGraph(net)
	if err != nil {
		return nil, err
	}
	model, err := leak.NewHydraulicModel(net)
	if err != nil {
		return nil, err
	}
	readSCADA := func(r io.Reader) (*leak.SCADA, error) { return leak.ReadSCADA(r, graph) }
	data, err := readWith(scadaPath, readSCADA)
	if err != nil {
		return nil, err
	}
	cfg := leak.DefaultConfig(data.Step)
	configure(&cfg)
	det, err := leak.NewDetector(data.Sensors, data.Step, cfg, graph, model)
	if err != nil {
		return nil, err
	}
	if calibratePath != "" {
		cal, err := readWith(calibratePath, readSCADA)
		if err != nil {
			return nil, err
		}
		rows, err := alignColumns(cal, data.Sensors)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", calibratePath, err)
		}
		if err := det.Calibrate(cal.Times, rows); err != nil {
			return nil, fmt.Errorf("%s: %w", calibratePath, err)
		}
	}
	var alarms []leak.Alarm
	for i, t := range data.Times {
		a, err := det.Step(t, data.Values[i])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", scadaPath, err)
		}
		alarms = append(alarms, a...)
	}
	if !det.Calibrated() {
		return nil, fmt.Errorf("%s: %d steps are fewer than the %d calibration steps; give --calibrate", scadaPath, len(data.Times), cfg.CalibrationSteps)
	}
	return alarms, nil
}

// alignColumns returns the rows of s with its columns in the order of
// sensors.
func alignColumns(s *leak.SCADA, sensors []leak.Sensor) ([][]float64, error) {
	idx := make([]int, len(sensors))
	for k, sen := range sensors {
		idx[k] = s.Column(sen.Column())
		if idx[k] < 0 {
			return nil, fmt.Errorf("no column %s", sen.Column())
		}
	}
	rows := make([][]float64, len(s.Values))
	for i, v := range s.Values {
		rows[i] = make([]float64, len(sensors))
		for k, j := range idx {
			rows[i][k] = v[j]
		}
	}
	return rows, nil
}

func writeAlarms(path string, alarms []leak.Alarm) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"alarm_t_s", "rank", "link", "node", "est_flow_m3h"})
	for _, a := range alarms {
		for r, c := range a.Candidates {
			w.Write([]string{strconv.FormatInt(a.Time, 10), strconv.Itoa(r + 1), c.Link, c.Node, strconv.FormatFloat(c.Flow, 'f', 2, 64)})
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
