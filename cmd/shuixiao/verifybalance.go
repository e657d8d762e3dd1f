package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/verify"
)

// verifyBalanceUsage is the synopsis of verify balance.
const verifyBalanceUsage = "balance DIR|URL --log-key KEY --enterprise E --from YYYY-MM-DD --to YYYY-MM-DD " +
	"[--served FILE | --url URL] [--token T] [--tolerance X] [--workers N] [--checkpoint FILE] [--audited FILE] [--json]"

// servedBalanceTimeout bounds the request for the served balance.
const servedBalanceTimeout = 2 * time.Minute

func verifyBalance(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	v := newVerifyFlags("balance", verifyBalanceUsage, stderr)
	enterprise := v.fs.String("enterprise", "", "the enterprise's ID (required)")
	fromS := v.fs.String("from", "", "first day of the period, YYYY-MM-DD (UTC+8) (required)")
	toS := v.fs.String("to", "", "last day of the period, YYYY-MM-DD, included, as the balance route reads it (required)")
	servedFile := v.fs.String("served", "", "the served balance, saved from GET /api/v1/enterprises/{id}/balance?from&to")
	apiURL := v.fs.String("url", "", "the platform's URL to fetch the served balance from (default: the ledger URL's host)")
	tol := v.fs.Float64("tolerance", 1e-6, "relative difference beyond which two figures disagree")
	workers := v.fs.Int("workers", 0, "signature-checking goroutines (default: one per CPU)")
	cpFile := v.fs.String("checkpoint", "", "recompute at this signed checkpoint instead of the log's latest")
	auditedFile := v.fs.String("audited", "", "checkpoint of an earlier passing audit (verify log --save): readings below it are not signature-checked again")
	asJSON := v.fs.Bool("json", false, "print the comparison as JSON")
	token := v.fs.String("token", "", "admin or auditor token for the entry bundles and the served balance (default $SHUIXIAO_TOKEN)")
	pos, logKey, pol, code := v.parse(args, 1, 1, stderr)
	if code != 0 {
		return code
	}
	from, to, err := production.ParsePeriod(*fromS, *toS)
	if *enterprise == "" || err != nil || !to.After(from) || !(*tol >= 0) {
		fmt.Fprintf(stderr, "参数错误 / flag error: --enterprise, and --from ≤ --to as YYYY-MM-DD, are required; --tolerance ≥ 0 (%v)\n", err)
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
			fmt.Fprintln(stderr, "需要 --served 或 --url / give the served balance with --served FILE or --url URL")
			return 2
		}
		*apiURL = u.Scheme + "://" + u.Host
	}

	// The served balance first: the ledger read after it holds at least
	// every reading it was computed from.
	served, err := servedBalance(ctx, *servedFile, *apiURL, *token, *enterprise, *fromS, *toS, v.hc)
	if err != nil {
		fmt.Fprintf(stderr, "读取平台结果失败 / cannot read the served balance: %v\n", err)
		return 1
	}
	declared, err := verify.ServedDeclared(served)
	if err != nil {
		fmt.Fprintf(stderr, "平台结果无效 / served balance: %v\n", err)
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
	opts := verify.BalanceOptions{Audit: verify.AuditOptions{LogKey: logKey, Policy: pol, Workers: *workers},
		Enterprise: *enterprise, From: from, To: to, ValueAdded: declared.ValueAdded, Production: declared.Production,
		OutputCoverage: declared.OutputCoverage}
	if *cpFile != "" {
		if opts.Audit.Checkpoint, err = readLimitedFile(*cpFile, verify.MaxCheckpointSize); err != nil {
			fmt.Fprintf(stderr, "读取检查点失败 / cannot read checkpoint: %v\n", err)
			return 1
		}
	}
	// The served balance says which ledger prefix it was read from: when
	// nothing was committed during its read, recompute over exactly that
	// prefix, so that readings arriving since cannot make them differ.
	size, after, sized := verify.ServedLedgerSize(served)
	if sized && size == after {
		opts.Below = size
	}
	if *auditedFile != "" {
		if opts.Audit.Audited, err = readLimitedFile(*auditedFile, verify.MaxCheckpointSize); err != nil {
			fmt.Fprintf(stderr, "读取已审计检查点失败 / cannot read the audited checkpoint: %v\n", err)
			return 1
		}
	}
	start := time.Now()
	res, err := verify.Balance(ctx, f, opts)
	if err != nil {
		fmt.Fprintf(stderr, "重算失败 RECOMPUTATION FAILED: %v\n", err)
		return 1
	}
	rows, err := verify.CompareBalance(res.Report, served, *tol)
	if err == nil {
		var pointRows []verify.FigureRow
		pointRows, err = verify.ComparePoints(res.Volumes, res.Coverage, served, *tol)
		rows = append(rows, pointRows...)
	}
	if err != nil {
		fmt.Fprintf(stderr, "比较失败 / comparison: %v\n", err)
		return 1
	}
	elapsed := time.Since(start)
	var differ []string
	for _, r := range rows {
		if !r.Agree {
			differ = append(differ, r.Figure)
		}
	}
	logFailed := res.Audit.Failed(false)
	prefix := "recomputed over every entry of the checkpoint"
	switch {
	case opts.Below > 0 && opts.Below <= res.Audit.Checkpoint.Size:
		prefix = fmt.Sprintf("recomputed over the first %d entries, the ledger the served balance was read from", opts.Below)
	case opts.Below > 0:
		prefix = fmt.Sprintf("the served balance was read from %d entries, more than the checkpoint's %d: recomputed over the checkpoint's", opts.Below, res.Audit.Checkpoint.Size)
	case sized:
		prefix = fmt.Sprintf("the served balance was read while entries %d to %d were committed: %s", size, after, prefix)
	}
	if *asJSON {
		writeBalanceJSON(stdout, res, rows, declared, prefix, differ, logFailed, elapsed)
	} else {
		printBalance(stdout, *enterprise, *fromS, *toS, res, rows, declared, prefix, *tol, elapsed)
	}
	if logFailed {
		printAuditFailure(stderr, res.Audit)
	}
	if len(differ) > 0 {
		fmt.Fprintf(stderr, "结果不一致 BALANCE DIFFERS from the served balance in %d figures: %s\n", len(differ), strings.Join(differ, ", "))
	}
	if logFailed || len(differ) > 0 {
		return 1
	}
	return 0
}

// servedBalance reads the served balance from a file, or fetches it from
// the platform's API.
func servedBalance(ctx context.Context, file, base, token, enterprise, from, to string, hc *http.Client) ([]byte, error) {
	if file != "" {
		return readLimitedFile(file, verify.MaxServedBalanceSize)
	}
	u := strings.TrimSuffix(base, "/") + "/api/v1/enterprises/" + url.PathEscape(enterprise) + "/balance?" +
		url.Values{"from": {from}, "to": {to}}.Encode()
	return fetchServed(ctx, u, token, verify.MaxServedBalanceSize, hc)
}

// fetchServed GETs a served document (a balance, a statement) with the
// token, at most limit bytes.
func fetchServed(ctx context.Context, u, token string, limit int64, hc *http.Client) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, servedBalanceTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("GET %s: larger than %d bytes", u, limit)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %.200s", u, resp.Status, body)
	}
	return body, nil
}

func printBalance(w io.Writer, enterprise, from, to string, res *verify.BalanceResult, rows []verify.FigureRow,
	declared verify.Declared, prefix string, tol float64, elapsed time.Duration) {
	cp := res.Audit.Checkpoint
	fmt.Fprintf(w, "企业水平衡重算 balance recomputed from the ledger: enterprise %s, %s … %s (both days included, UTC+8)\n", enterprise, from, to)
	fmt.Fprintf(w, "  检查点 checkpoint:   size %d, root %s\n", cp.Size, base64.StdEncoding.EncodeToString(cp.Root[:]))
	fmt.Fprintf(w, "  账本审计 log audit:  %d entries, %d readings, %d key entries, %d point entries, %d problems\n",
		res.Audit.Entries, res.Audit.Readings, res.Audit.KeyEntries, res.Audit.PointEntries, res.Audit.ProblemCount)
	if res.Audit.AuditedSize > 0 {
		fmt.Fprintf(w, "  已审计 audited:      signatures of %d readings below size %d checked by an earlier audit (prefix root checked)\n",
			res.Audit.SignaturesTrusted, res.Audit.AuditedSize)
	}
	fmt.Fprintf(w, "  计量点 points:       %d registered on the ledger; %d meters; %d readings in the period; %.2f s\n",
		len(res.Points), len(res.Meters), res.Readings, elapsed.Seconds())
	fmt.Fprintf(w, "  账本范围 ledger read: %s\n", prefix)
	fmt.Fprintf(w, "  申报数据 declared:   %s\n", declared.Note)
	fmt.Fprintln(w, "\n  计量点 point                      水量 m3 (ledger)   覆盖 coverage")
	for _, p := range res.Points {
		cov, hasCov := res.Coverage[p.ID]
		vol, ok := res.Volumes[p.ID]
		switch {
		case ok:
			fmt.Fprintf(w, "  %-32s %16.6f   %.4f\n", p.ID, vol, cov)
		case hasCov:
			fmt.Fprintf(w, "  %-32s %16s   %.4f\n", p.ID, "no data / 无数据", cov)
		default:
			fmt.Fprintf(w, "  %-32s %16s\n", p.ID, "no volume channel / 无水量通道")
		}
	}
	fmt.Fprintf(w, "\n  %-44s %20s %20s\n", "指标 figure", "账本 ledger", "平台 served")
	for _, r := range rows {
		mark := "✓"
		if !r.Agree {
			mark = fmt.Sprintf("✗ differs (tolerance %g)", tol)
		}
		fmt.Fprintf(w, "  %-44s %20s %20s  %s\n", r.Figure, figureText(r.Ledger), figureText(r.Served), mark)
	}
}

// figureText formats a figure for the table.
func figureText(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case float64:
		return fmt.Sprintf("%.10g", x)
	case string:
		if x == "" {
			return `""`
		}
		return x
	}
	return fmt.Sprint(v)
}

func writeBalanceJSON(w io.Writer, res *verify.BalanceResult, rows []verify.FigureRow, declared verify.Declared, prefix string,
	differ []string, logFailed bool, elapsed time.Duration) {
	ids := make([]string, 0, len(res.Points))
	for _, p := range res.Points {
		ids = append(ids, p.ID)
	}
	sort.Strings(ids)
	if differ == nil {
		differ = []string{}
	}
	out := map[string]any{
		"checkpoint_size": res.Audit.Checkpoint.Size,
		"checkpoint_root": base64.StdEncoding.EncodeToString(res.Audit.Checkpoint.Root[:]),
		"audit_problems":  res.Audit.ProblemCount,
		"audit_failed":    logFailed,
		"points":          ids,
		"meters":          res.Meters,
		"readings":        res.Readings,
		"volumes_m3":      res.Volumes,
		"coverage":        res.Coverage,
		"declared_note":   declared.Note,
		"ledger_read":     prefix,
		"figures":         rows,
		"differ":          differ,
		"elapsed_s":       elapsed.Seconds(),
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	fmt.Fprintf(w, "%s\n", b)
}

// printAuditFailure names the first problems of a failed audit (verify
// balance and verify savings audit the log before they recompute).
func printAuditFailure(stderr io.Writer, a *verify.AuditReport) {
	fmt.Fprintf(stderr, "账本审计失败 LEDGER AUDIT FAILED: %d problems", a.ProblemCount)
	for i, p := range a.Problems {
		if i == 10 {
			fmt.Fprint(stderr, "; …")
			break
		}
		fmt.Fprintf(stderr, "; [%s] index %d: %s", p.Kind, p.Index, p.Detail)
	}
	fmt.Fprintln(stderr)
}
