package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/verify"
)

// verifySavingsUsage is the synopsis of verify savings.
const verifySavingsUsage = "savings DIR|URL --log-key KEY --statement ID [--served FILE | --url URL] [--token T] [--tolerance X] [--workers N] [--json]"

func verifySavings(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	v := newVerifyFlags("savings", verifySavingsUsage, stderr)
	id := v.fs.String("statement", "", "the M&V statement's ID, mvs-… (required)")
	servedFile := v.fs.String("served", "", "the served statement, saved from GET /api/v1/mv/statements/{id}")
	apiURL := v.fs.String("url", "", "the platform's URL to fetch the served statement from (default: the ledger URL's host)")
	tol := v.fs.Float64("tolerance", 1e-6, "relative difference beyond which two figures disagree")
	workers := v.fs.Int("workers", 0, "signature-checking goroutines (default: one per CPU)")
	asJSON := v.fs.Bool("json", false, "print the comparison as JSON")
	token := v.fs.String("token", "", "a token that may read the statement and the entry bundles (default $SHUIXIAO_TOKEN)")
	pos, logKey, pol, code := v.parse(args, 1, 1, stderr)
	if code != 0 {
		return code
	}
	if *id == "" && *servedFile == "" || !(*tol >= 0) {
		fmt.Fprintln(stderr, "参数错误 / flag error: --statement ID (or --served FILE) is required; --tolerance ≥ 0")
		v.fs.Usage()
		return 2
	}
	if *token == "" {
		*token = strings.TrimSpace(os.Getenv("SHUIXIAO_TOKEN"))
	}
	location := pos[0]
	if *servedFile == "" && *apiURL == "" {
		u, err := url.Parse(location)
		if err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" {
			fmt.Fprintln(stderr, "需要 --served 或 --url / give the served statement with --served FILE or --url URL")
			return 2
		}
		*apiURL = u.Scheme + "://" + u.Host
	}
	raw, err := servedStatement(ctx, *servedFile, *apiURL, *token, *id, v.hc)
	if err != nil {
		fmt.Fprintf(stderr, "读取平台结果失败 / cannot read the served statement: %v\n", err)
		return 1
	}
	served, err := verify.ParseServedStatement(raw)
	if err != nil {
		fmt.Fprintf(stderr, "平台结果无效 / %v\n", err)
		return 1
	}
	if *id != "" && served.Statement.ID != *id {
		fmt.Fprintf(stderr, "平台结果无效 / the served statement is %s, not %s\n", served.Statement.ID, *id)
		return 1
	}
	hc, err := bearerClient(location, *token, v.hc)
	if err != nil {
		fmt.Fprintf(stderr, "日志位置错误 / log location: %v\n", err)
		return 2
	}
	f, err := verify.NewFetcher(location, hc)
	if err != nil {
		fmt.Fprintf(stderr, "日志位置错误 / log location: %v\n", err)
		return 2
	}
	start := time.Now()
	res, err := verify.Savings(ctx, f, verify.SavingsOptions{Audit: verify.AuditOptions{LogKey: logKey, Policy: pol, Workers: *workers},
		Served: served}, *tol)
	if err != nil {
		fmt.Fprintf(stderr, "重算失败 RECOMPUTATION FAILED: %v\n", err)
		return 1
	}
	elapsed := time.Since(start)
	differ := res.Differ()
	logFailed := res.Audit.Failed(false)
	st := served.Statement
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(map[string]any{"statement": st.ID, "checkpoint_size": st.CheckpointSize, "checkpoint_root": st.CheckpointRoot,
			"root_at_checkpoint": res.RootAtCheckpoint, "log_checkpoint_size": res.Audit.Checkpoint.Size,
			"log_ok": !logFailed, "problems": res.Problems, "figures": res.Rows, "differ": differ,
			"declared_note": "drivers and non-routine adjustments are declared data, not on the ledger: taken from the served statement",
			"elapsed_ms":    elapsed.Milliseconds()})
	} else {
		fmt.Fprintf(stdout, "节水量核验 / savings statement %s (contract %s, enterprise %s, %s … %s)\n", st.ID, st.Contract, st.Enterprise,
			st.From.In(production.Zone).Format(time.DateOnly), st.To.Add(-time.Nanosecond).In(production.Zone).Format(time.DateOnly))
		fmt.Fprintf(stdout, "账本 / ledger: checkpoint %d entries audited; recomputed over the first %d entries, root %s (statement: %s)\n",
			res.Audit.Checkpoint.Size, st.CheckpointSize, res.RootAtCheckpoint, st.CheckpointRoot)
		fmt.Fprintln(stdout, "驱动量与非常规调整为申报数据，取自平台结果 / drivers and non-routine adjustments are declared, taken from the served statement")
		fmt.Fprintf(stdout, "%-34s %18s %18s  %s\n", "figure", "ledger", "served", "")
		for _, r := range res.Rows {
			mark := "ok"
			if !r.Agree {
				mark = "DIFFERS"
			}
			fmt.Fprintf(stdout, "%-34s %18v %18v  %s\n", r.Figure, r.Ledger, r.Served, mark)
		}
		fmt.Fprintf(stdout, "%d figures in %.1f s\n", len(res.Rows), elapsed.Seconds())
	}
	if logFailed {
		printAuditFailure(stderr, res.Audit)
	}
	if len(differ) > 0 {
		fmt.Fprintf(stderr, "结果不一致 STATEMENT DIFFERS from the ledger in %d places: %s\n", len(differ), strings.Join(differ, "; "))
	}
	if logFailed || len(differ) > 0 {
		return 1
	}
	return 0
}

// servedStatement reads the served statement record from a file, or
// fetches it from the platform's API.
func servedStatement(ctx context.Context, file, base, token, id string, hc *http.Client) ([]byte, error) {
	if file != "" {
		return readLimitedFile(file, verify.MaxServedStatementSize)
	}
	u := strings.TrimSuffix(base, "/") + "/api/v1/mv/statements/" + url.PathEscape(id)
	return fetchServed(ctx, u, token, verify.MaxServedStatementSize, hc)
}
