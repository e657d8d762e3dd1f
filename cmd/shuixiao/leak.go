package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/shuixiao/shuixiao/leak"
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
	links, err := readWith(inpPath, leak.ReadGraphLinks)
	if err != nil {
		return nil, err
	}
	return leak.NewPipeGraph(links)
}
