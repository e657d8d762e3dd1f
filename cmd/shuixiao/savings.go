package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/shuixiao/shuixiao/savings"
)

func init() {
	register("savings", "measured water savings against a baseline model (IPMVP, ASHRAE Guideline 14) / 节水量测量与验证", runSavings)
}

func runSavings(args []string) int {
	fs := flag.NewFlagSet("savings", flag.ContinueOnError)
	basePath := fs.String("baseline", "", "baseline periods, CSV with header period,intake_m3[,driver…]")
	repPath := fs.String("reporting", "", "reporting periods, CSV with the same columns")
	adjPath := fs.String("adjustments", "", "non-routine adjustments, CSV with header period,m3,reason (optional)")
	out := fs.String("out", "", "RESULT.json ('-' for standard output)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: shuixiao savings --baseline BASE.csv --reporting REP.csv [--adjustments ADJ.csv] --out RESULT.json")
		fmt.Fprintln(fs.Output(), "节水量测量与验证：基准模型（最小二乘）、CV(RMSE)、NMBE、调整后基准、节水量及其 90% 不确定度 (docs/savings.md)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *basePath == "" || *repPath == "" || *out == "" {
		fs.Usage()
		return 2
	}
	r, err := savingsResult(*basePath, *repPath, *adjPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "输入错误 / input error: %v\n", err)
		return 1
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err == nil {
		err = writeOutput(*out, append(b, '\n'))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "输出错误 / output error: %v\n", err)
		return 1
	}
	for _, w := range r.Warnings {
		fmt.Fprintln(os.Stderr, "注意 / note:", w)
	}
	return 0
}

func savingsResult(basePath, repPath, adjPath string) (savings.Result, error) {
	base, err := readTable(basePath)
	if err != nil {
		return savings.Result{}, err
	}
	rep, err := readTable(repPath)
	if err != nil {
		return savings.Result{}, err
	}
	var adj []savings.Adjustment
	if adjPath != "" {
		f, err := os.Open(adjPath)
		if err != nil {
			return savings.Result{}, err
		}
		defer f.Close()
		if adj, err = savings.ReadAdjustments(f, adjPath); err != nil {
			return savings.Result{}, err
		}
	}
	return savings.Compute(base, rep, adj)
}

func readTable(path string) (savings.Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return savings.Table{}, err
	}
	defer f.Close()
	return savings.ReadCSV(f, path)
}
