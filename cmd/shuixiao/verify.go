package main

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/certificate"
	"github.com/shuixiao/shuixiao/internal/localca"
	"github.com/shuixiao/shuixiao/verify"
)

func init() {
	register("verify", "check receipts, checkpoint consistency and whole ledgers with public keys only / 独立验证", runVerify)
}

const verifyUsage = `用法 usage:
  shuixiao verify proof FILE --log-key KEY [--witness-policy FILE] [--meter-key KEY]
  shuixiao verify consistency [OLD_CHECKPOINT] NEW_CHECKPOINT|DIR|URL --log-key KEY
        [--witness-policy FILE] [--tiles DIR|URL] [--state FILE]
  shuixiao verify log DIR|URL --log-key KEY [--witness-policy FILE] [--strict] [--workers N]
        [--skip-tiles] [--checkpoint FILE] [--json] [--token T] [--save FILE]
  shuixiao verify fork FILE --log-key KEY
  shuixiao verify balance DIR|URL --log-key KEY --enterprise E --from YYYY-MM-DD --to YYYY-MM-DD
        [--served FILE | --url URL] [--token T] [--tolerance X] [--checkpoint FILE] [--audited FILE] [--json]
  shuixiao verify savings DIR|URL --log-key KEY --statement ID [--served FILE | --url URL] [--token T] [--tolerance X] [--json]

独立验证器：只用公钥检查收据、检查点一致性和整个账本，不信任平台。
The independent verifier checks receipts, checkpoint consistency and whole
ledgers with public keys only. KEY is a note verifier key or a file holding
one (e.g. the ledger's log.vkey).

Exit status / 退出码: 0 verified; 1 verification failed (tampering, fork,
bad signature, missing quorum; for "log", also chain gaps with --strict;
for "balance", a ledger that fails its audit or a figure that differs from
the served balance); 2 usage error.

"balance" recomputes an enterprise's water balance over [from, to) from the
ledger alone (points and meter keys from their ledger entries, volumes from
the signed readings) and compares every figure with the platform's
GET /api/v1/enterprises/{id}/balance. Production and value added are
declared data, not on the ledger: they are taken from the served balance.
With --audited FILE (a checkpoint "verify log --save FILE" stored after a
passing audit) the signatures of the readings below that checkpoint are
not checked again: every entry is still hashed, and the first ones must
hash to that checkpoint's root.

"savings" recomputes an M&V statement (contract water saving) from the
ledger alone: the boundary's metered intake per model period among the
entries below the checkpoint the statement names (whose root it checks),
the baseline model refitted with the served drivers and adjustments
(declared data), and every figure compared with GET /api/v1/mv/statements/{id};
exit 1 names each difference.`

func runVerify(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return verifyMain(ctx, args, os.Stdout, os.Stderr)
}

func verifyMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, verifyUsage)
		return 2
	}
	switch args[0] {
	case "proof":
		return verifyProof(args[1:], stdout, stderr)
	case "consistency":
		return verifyConsistency(ctx, args[1:], stdout, stderr)
	case "log":
		return verifyLog(ctx, args[1:], stdout, stderr)
	case "fork":
		return verifyFork(args[1:], stdout, stderr)
	case "balance":
		return verifyBalance(ctx, args[1:], stdout, stderr)
	case "savings": // M&V statements (helper mv)
		return verifySavings(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, verifyUsage)
		return 0
	}
	fmt.Fprintf(stderr, "未知子命令 / unknown subcommand %q\n\n%s\n", args[0], verifyUsage)
	return 2
}

// verifyFlags are the flags every verify subcommand shares.
type verifyFlags struct {
	fs     *flag.FlagSet
	logKey *string
	policy *string
	ca     *string
	hc     *http.Client // for https logs signed by --ca; nil: the default client
}

func newVerifyFlags(name, usage string, stderr io.Writer) *verifyFlags {
	fs := flag.NewFlagSet("verify "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	v := &verifyFlags{fs: fs}
	v.logKey = fs.String("log-key", "", "the log's note verifier key, or a file holding it (required)")
	v.policy = fs.String("witness-policy", "", "witness policy file (k-of-n); cosignatures are required only if given")
	v.ca = fs.String("ca", "", "CA certificate (PEM) to trust for an https:// log, e.g. DATA/tls/ca.pem of demo --tls")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "用法 usage: shuixiao verify "+usage)
		fs.PrintDefaults()
	}
	return v
}

// parse parses args, checks the number of positional arguments and loads
// the log key and the optional witness policy. A non-zero code means exit.
func (v *verifyFlags) parse(args []string, minPos, maxPos int, stderr io.Writer) (pos []string, logKey note.Verifier, pol *verify.Policy, code int) {
	pos, err := parseInterleaved(v.fs, args)
	if err != nil {
		return nil, nil, nil, 2
	}
	if len(pos) < minPos || len(pos) > maxPos || *v.logKey == "" {
		v.fs.Usage()
		return nil, nil, nil, 2
	}
	vkey, err := readVerifierKey(*v.logKey)
	if err != nil {
		fmt.Fprintf(stderr, "日志公钥错误 / log key error: %v\n", err)
		return nil, nil, nil, 2
	}
	logKey, _ = note.NewVerifier(vkey)
	if *v.ca != "" {
		pool, err := localca.Pool(*v.ca)
		if err != nil {
			fmt.Fprintf(stderr, "CA证书错误 / CA certificate error: %v\n", err)
			return nil, nil, nil, 2
		}
		v.hc = &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	}
	if *v.policy == "" {
		return pos, logKey, nil, 0
	}
	text, err := os.ReadFile(*v.policy)
	if err == nil {
		pol, err = verify.ParsePolicy(text)
	}
	if err != nil {
		fmt.Fprintf(stderr, "见证策略错误 / witness policy error: %v\n", err)
		return nil, nil, nil, 2
	}
	return pos, logKey, pol, 0
}

func verifyProof(args []string, stdout, stderr io.Writer) int {
	v := newVerifyFlags("proof", "proof FILE --log-key KEY [--witness-policy FILE] [--meter-key KEY]", stderr)
	meterKey := v.fs.String("meter-key", "", "the meter's note verifier key, or a file holding it (needed for a reading)")
	pos, logKey, pol, code := v.parse(args, 1, 1, stderr)
	if code != 0 {
		return code
	}
	keys := verify.ReceiptKeys{Log: logKey, Policy: pol}
	if *meterKey != "" {
		mk, err := readVerifierKey(*meterKey)
		if err != nil {
			fmt.Fprintf(stderr, "计量器公钥错误 / meter key error: %v\n", err)
			return 2
		}
		keys.Meter, _ = note.NewVerifier(mk)
	}
	data, err := readLimitedFile(pos[0], verify.MaxReceiptSize)
	if err != nil {
		fmt.Fprintf(stderr, "读取收据失败 / cannot read receipt: %v\n", err)
		return 1
	}
	r, err := verify.VerifyReceipt(data, keys)
	if err != nil {
		fmt.Fprintf(stderr, "收据无效 RECEIPT INVALID: %s: %v\n", pos[0], err)
		if errors.Is(err, verify.ErrMeterKeyNeeded) {
			fmt.Fprintln(stderr, "请用 --meter-key 提供计量器公钥 / pass the meter's key with --meter-key")
		}
		return 1
	}
	fmt.Fprintf(stdout, "收据有效 receipt valid: %s\n", pos[0])
	fmt.Fprintf(stdout, "  日志 log:            %s\n", logKey.Name())
	fmt.Fprintf(stdout, "  序号 index:          %d (inclusion proof of %d hashes)\n", r.Index, r.ProofHashes)
	printCheckpoint(stdout, r.Checkpoint, pol)
	switch {
	case r.Reading != nil:
		rd := r.Reading
		fmt.Fprintf(stdout, "  计量器 meter:        %s\n", rd.Meter)
		fmt.Fprintf(stdout, "  序列号 seq:          %d\n", rd.Seq)
		fmt.Fprintf(stdout, "  时间 time:           %s\n", rd.Time.UTC().Format(time.RFC3339Nano))
		fmt.Fprintf(stdout, "  计量点 point:        %s\n", rd.Point)
		prev := "- (first reading / 首个读数)"
		if !rd.Prev.IsZero() {
			prev = rd.Prev.String()
		}
		fmt.Fprintf(stdout, "  前一读数 prev:       %s\n", prev)
		for _, val := range rd.Values {
			fmt.Fprintf(stdout, "  读数 value:          %s = %s\n", val.Channel, val.Text)
		}
		fmt.Fprintf(stdout, "  签名 signed by:      %s ✓\n", r.EntrySigner)
	case r.KeyEntry != nil:
		k := r.KeyEntry
		if k.IsGateway() {
			fmt.Fprintf(stdout, "  密钥登记 key entry:  %s gateway %s\n", k.Action, k.Gateway)
		} else {
			fmt.Fprintf(stdout, "  密钥登记 key entry:  %s meter %s\n", k.Action, k.Meter)
		}
		switch {
		case k.Key != "" && k.IsGateway():
			fmt.Fprintf(stdout, "  网关公钥 key:        %s\n", k.Key)
		case k.Key != "":
			fmt.Fprintf(stdout, "  计量器公钥 key:      %s (signed at the %s)\n", k.Key, k.Signed)
		}
		if k.Gateway != "" && !k.IsGateway() {
			fmt.Fprintf(stdout, "  签名网关 gateway:    %s (signs the meter's readings)\n", k.Gateway)
		}
		if k.Collector != "" {
			fmt.Fprintf(stdout, "  采集器 collector:    %s (forwards the meter's own signed readings)\n", k.Collector)
		}
		if k.Enterprise != "" || k.Point != "" {
			fmt.Fprintf(stdout, "  企业/计量点:         %s / %s\n", k.Enterprise, k.Point)
		}
		if k.Reason != "" {
			fmt.Fprintf(stdout, "  原因 reason:         %s\n", k.Reason)
		}
		fmt.Fprintf(stdout, "  时间 time:           %s\n", k.Time.UTC().Format(time.RFC3339Nano))
		fmt.Fprintf(stdout, "  签名 signed by:      %s (the log key) ✓\n", r.EntrySigner)
	case r.Command != nil:
		printCommandEntry(stdout, r.Command)
		fmt.Fprintf(stdout, "  签名 signed by:      %s (the log key) ✓\n", r.EntrySigner)
	case r.Point != nil:
		pe := r.Point
		fmt.Fprintf(stdout, "  计量点登记 point:    %s of enterprise %s, level %d, stage %s, %d channels\n", pe.Point, pe.Enterprise, pe.Level, pe.Stage, len(pe.Channels))
		fmt.Fprintf(stdout, "  时间 time:           %s\n", pe.Time.UTC().Format(time.RFC3339Nano))
		fmt.Fprintf(stdout, "  签名 signed by:      %s (the log key) ✓\n", r.EntrySigner)
	case r.Certificate != nil: // water-rights certificates (helper certs)
		e := r.Certificate
		fmt.Fprintf(stdout, "  水权证书 certificate: %s %s (operation %s), %d m³\n", e.Op, e.Certificate, e.ID, e.Volume)
		switch e.Op {
		case certificate.OpIssue:
			fmt.Fprintf(stdout, "  结算单 statement:    %s digest %s at checkpoint size %d, allowance %d m³, to %s\n", e.Statement, e.Digest, e.Checkpoint, e.Allowance, e.Holder)
		case certificate.OpTransfer:
			fmt.Fprintf(stdout, "  转让 transfer:       %s → %s\n", e.From, e.To)
		case certificate.OpRetire:
			fmt.Fprintf(stdout, "  注销 retired by:     %s for %q\n", e.Holder, e.Purpose)
		}
		fmt.Fprintf(stdout, "  时间 time:           %s by %q\n", e.Time.UTC().Format(time.RFC3339Nano), e.Actor)
		fmt.Fprintf(stdout, "  签名 signed by:      %s (the log key) ✓\n", r.EntrySigner)
	}
	return 0
}

func printCheckpoint(w io.Writer, c *verify.Checkpoint, pol *verify.Policy) {
	fmt.Fprintf(w, "  检查点 checkpoint:   size %d, root %s ✓ log signature\n", c.Size, base64.StdEncoding.EncodeToString(c.Root[:]))
	if pol == nil {
		fmt.Fprintf(w, "  见证 witnesses:      not checked (no --witness-policy) / 未检查\n")
		return
	}
	fmt.Fprintf(w, "  见证 witnesses:      policy %s ✓\n", pol)
	for _, cs := range c.Cosignatures {
		fmt.Fprintf(w, "                       %s cosigned at %s\n", cs.Witness, cs.Time.UTC().Format(time.RFC3339))
	}
}

func verifyConsistency(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	v := newVerifyFlags("consistency", "consistency [OLD_CHECKPOINT] NEW_CHECKPOINT|DIR|URL --log-key KEY [--witness-policy FILE] [--tiles DIR|URL] [--state FILE]", stderr)
	tilesAt := v.fs.String("tiles", "", "where to read the log's hash tiles (default: NEW, when it is a directory or URL)")
	state := v.fs.String("state", "", "file with the last verified checkpoint: used as OLD when OLD is omitted, updated when NEW is verified newer")
	pos, logKey, pol, code := v.parse(args, 1, 2, stderr)
	if code != 0 {
		return code
	}
	now := time.Now()
	newArg := pos[len(pos)-1]
	var oldRaw []byte
	var err error
	switch {
	case len(pos) == 2:
		oldRaw, err = readLimitedFile(pos[0], verify.MaxCheckpointSize)
	case *state != "":
		oldRaw, err = verify.ReadState(*state)
	default:
		fmt.Fprintln(stderr, "需要旧检查点或 --state / give OLD_CHECKPOINT or --state")
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "读取旧检查点失败 / cannot read old checkpoint: %v\n", err)
		return 1
	}
	if *tilesAt == "" && verify.IsLogLocation(newArg) {
		*tilesAt = newArg
	}
	var newRaw []byte
	if verify.IsLogLocation(newArg) {
		f, err := verify.NewFetcher(newArg, v.hc)
		if err == nil {
			newRaw, err = f.ReadCheckpoint(ctx)
		}
		if err != nil {
			fmt.Fprintf(stderr, "读取新检查点失败 / cannot fetch new checkpoint: %v\n", err)
			return 1
		}
	} else if newRaw, err = readLimitedFile(newArg, verify.MaxCheckpointSize); err != nil {
		fmt.Fprintf(stderr, "读取新检查点失败 / cannot read new checkpoint: %v\n", err)
		return 1
	}
	newC, err := verify.OpenCheckpoint(newRaw, logKey, pol, now)
	if err != nil {
		fmt.Fprintf(stderr, "新检查点无效 NEW CHECKPOINT INVALID: %v\n", err)
		return 1
	}
	if oldRaw == nil { // empty state: trust on first use, as the sumdb client does
		if err := verify.WriteState(*state, newRaw); err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "首次使用，信任并记录 trust on first use: size %d recorded in %s\n", newC.Size, *state)
		return 0
	}
	// The old checkpoint was believed before; its witnesses are not
	// re-checked (cosignatures are evidence for the time they were made).
	oldC, err := verify.OpenCheckpoint(oldRaw, logKey, nil, now)
	if err != nil {
		fmt.Fprintf(stderr, "旧检查点无效 OLD CHECKPOINT INVALID: %v\n", err)
		return 1
	}
	var tiles verify.Fetcher
	if *tilesAt != "" {
		if tiles, err = verify.NewFetcher(*tilesAt, v.hc); err != nil {
			fmt.Fprintf(stderr, "瓦片位置错误 / tiles: %v\n", err)
			return 2
		}
	} else if oldC.Size != newC.Size && oldC.Size != 0 && newC.Size != 0 {
		fmt.Fprintln(stderr, "需要 --tiles 以构造一致性证明 / --tiles DIR|URL is needed to build the consistency proof")
		return 2
	}
	var readTile func(ctx context.Context, level, index uint64, p uint8) ([]byte, error)
	if tiles != nil {
		readTile = tiles.ReadTile
	}
	res, err := verify.CheckConsistency(ctx, oldC, newC, readTile)
	var fe *verify.ForkError
	switch {
	case errors.As(err, &fe):
		fmt.Fprint(stdout, fe.Proof.SecurityReport())
		fmt.Fprintf(stderr, "账本分叉 LOG FORK DETECTED: %v\n", err)
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "一致性检查失败 CONSISTENCY CHECK FAILED: %v\n", err)
		return 1
	case res.Rollback && *state != "" && len(pos) == 1:
		// The log served an older tree than one it showed before: a
		// rollback (entries may have vanished from view), even if consistent.
		fmt.Fprintf(stderr, "日志回退 LOG ROLLED BACK: it serves size %d, size %d was verified before (consistent prefix)\n", newC.Size, oldC.Size)
		return 1
	}
	fmt.Fprintf(stdout, "一致 consistent: size %d → %d (consistency proof of %d hashes)\n", oldC.Size, newC.Size, len(res.Proof))
	if *state != "" && newC.Size > oldC.Size {
		if err := verify.WriteState(*state, newRaw); err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "已更新状态 state updated: %s\n", *state)
	}
	return 0
}

func verifyLog(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	v := newVerifyFlags("log", "log DIR|URL --log-key KEY [--witness-policy FILE] [--strict] [--workers N] [--skip-tiles] [--checkpoint FILE] [--frames DIR[,DIR…]] [--json] [--token T] [--save FILE]", stderr)
	framesDirs := v.fs.String("frames", "", "gateways' raw-frame archives (comma-separated directories): re-check every gateway-signed reading against the frame it quotes")
	strict := v.fs.Bool("strict", false, "treat gaps in meters' prev chains as failures (exit 1)")
	workers := v.fs.Int("workers", 0, "signature-checking goroutines (default: one per CPU)")
	skipTiles := v.fs.Bool("skip-tiles", false, "do not re-derive and compare the hash tiles")
	asJSON := v.fs.Bool("json", false, "print the report as JSON")
	cpFile := v.fs.String("checkpoint", "", "audit against this signed checkpoint (e.g. a --state file) instead of the log's latest")
	token := v.fs.String("token", "", "admin or auditor token sent to a log served over HTTP, whose entry bundles are not public (default $SHUIXIAO_TOKEN)")
	save := v.fs.String("save", "", "after a passing audit, store the audited checkpoint in this file (for verify balance --audited)")
	pos, logKey, pol, code := v.parse(args, 1, 1, stderr)
	if code != 0 {
		return code
	}
	if *token == "" {
		*token = strings.TrimSpace(os.Getenv("SHUIXIAO_TOKEN"))
	}
	hc, err := bearerClient(pos[0], *token, v.hc)
	if err != nil {
		fmt.Fprintf(stderr, "日志位置错误 / log location: %v\n", err)
		return 2
	}
	f, err := verify.NewFetcher(pos[0], hc)
	if err != nil {
		fmt.Fprintf(stderr, "日志位置错误 / log location: %v\n", err)
		return 2
	}
	last := time.Now()
	progress := func(done, total uint64) {
		if time.Since(last) >= 5*time.Second {
			last = time.Now()
			fmt.Fprintf(stderr, "审计中 auditing: %d / %d entries\n", done, total)
		}
	}
	opts := verify.AuditOptions{LogKey: logKey, Policy: pol, Workers: *workers, SkipTiles: *skipTiles, Progress: progress, CollectFrames: *framesDirs != ""}
	if *cpFile != "" {
		if opts.Checkpoint, err = readLimitedFile(*cpFile, verify.MaxCheckpointSize); err != nil {
			fmt.Fprintf(stderr, "读取检查点失败 / cannot read checkpoint: %v\n", err)
			return 1
		}
	}
	rep, err := verify.Audit(ctx, f, opts)
	if err != nil {
		fmt.Fprintf(stderr, "审计失败 AUDIT FAILED: %v\n", err)
		if msg := err.Error(); strings.Contains(msg, "401 Unauthorized") || strings.Contains(msg, "403 Forbidden") {
			fmt.Fprintln(stderr, "条目需要管理员或审计令牌 / entry bundles need an admin or auditor token: --token T or SHUIXIAO_TOKEN")
		}
		return 1
	}
	var frames *verify.FrameReport
	if *framesDirs != "" {
		if frames, err = checkFrameArchives(rep.Framed, strings.Split(*framesDirs, ",")); err != nil {
			fmt.Fprintf(stderr, "原始帧存档无法读取 / cannot read the frame archive: %v\n", err)
			return 1
		}
	}
	failed := rep.Failed(*strict) || (frames != nil && frames.Missing+frames.Mismatch > 0)
	if *asJSON {
		writeAuditJSON(stdout, pos[0], rep, frames, *strict, failed)
	} else {
		printAudit(stdout, pos[0], rep, pol, *strict)
		printFrames(stdout, frames)
	}
	if failed {
		return 1
	}
	if *save != "" {
		if err := verify.WriteState(*save, rep.Checkpoint.Raw); err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			return 1
		}
	}
	return 0
}

// writeAuditJSON prints the audit report as one JSON object.
func writeAuditJSON(w io.Writer, location string, rep *verify.AuditReport, frames *verify.FrameReport, strict, failed bool) {
	type cosig struct {
		Witness string    `json:"witness"`
		Time    time.Time `json:"time"`
	}
	out := struct {
		Location     string               `json:"location"`
		Origin       string               `json:"origin"`
		Size         uint64               `json:"size"`
		Root         string               `json:"root"`
		Cosignatures []cosig              `json:"cosignatures"`
		Entries      uint64               `json:"entries"`
		Readings     uint64               `json:"readings"`
		KeyEntries   uint64               `json:"key_entries"`
		PointEntries uint64               `json:"point_entries"`
		Meters       int                  `json:"meters"`
		Registered   int                  `json:"registered"`
		Revoked      int                  `json:"revoked"`
		TilesChecked uint64               `json:"tiles_checked"`
		ProblemCount uint64               `json:"problem_count"`
		Problems     []verify.Problem     `json:"problems"`
		GapCount     uint64               `json:"gap_count"`
		Gaps         []verify.Gap         `json:"gaps"`
		Commands     uint64               `json:"command_entries"`
		CommandStats []verify.CommandStat `json:"command_stats"`
		CommandList  []verify.Command     `json:"commands"`
		MeterSigned  uint64               `json:"meter_signed"`
		GwSigned     uint64               `json:"gateway_signed"`
		Gateways     []verify.GatewayStat `json:"gateways"`
		Frames       *verify.FrameReport  `json:"frames,omitempty"`
		ElapsedS     float64              `json:"elapsed_s"`
		EntriesPerS  float64              `json:"entries_per_s"`
		Strict       bool                 `json:"strict"`
		Failed       bool                 `json:"failed"`

		// water-rights certificates (helper certs)
		CertificateEntries uint64                    `json:"certificate_entries"`
		Certificates       verify.CertificateSummary `json:"certificates"`
	}{
		Location: location, Origin: rep.Checkpoint.Origin, Size: rep.Checkpoint.Size,
		Root:    base64.StdEncoding.EncodeToString(rep.Checkpoint.Root[:]),
		Entries: rep.Entries, Readings: rep.Readings, KeyEntries: rep.KeyEntries, PointEntries: rep.PointEntries,
		Meters: rep.Meters, Registered: rep.Registered, Revoked: rep.Revoked, TilesChecked: rep.TilesChecked,
		ProblemCount: rep.ProblemCount, Problems: rep.Problems, GapCount: rep.GapCount, Gaps: rep.Gaps,
		Commands: rep.CommandEntries, CommandStats: rep.CommandStats, CommandList: rep.Commands,
		MeterSigned: rep.MeterSigned, GwSigned: rep.GatewaySigned, Gateways: rep.Gateways, Frames: frames,
		CertificateEntries: rep.CertificateEntries, Certificates: rep.Certificates,
		ElapsedS: rep.Elapsed.Seconds(), EntriesPerS: float64(rep.Entries) / rep.Elapsed.Seconds(),
		Strict: strict, Failed: failed,
	}
	for _, c := range rep.Checkpoint.Cosignatures {
		out.Cosignatures = append(out.Cosignatures, cosig{c.Witness, c.Time.UTC()})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(out)
}

func printAudit(w io.Writer, location string, rep *verify.AuditReport, pol *verify.Policy, strict bool) {
	c := rep.Checkpoint
	fmt.Fprintf(w, "审计账本 audit of %s\n", location)
	fmt.Fprintf(w, "  日志 log:            %s\n", c.Origin)
	printCheckpoint(w, c, pol)
	rate := float64(rep.Entries) / rep.Elapsed.Seconds()
	fmt.Fprintf(w, "  条目 entries:        %d (%d readings 读数, %d key entries 密钥登记, %d point entries 计量点登记) in %.1f s, %.0f entries/s\n",
		rep.Entries, rep.Readings, rep.KeyEntries, rep.PointEntries, rep.Elapsed.Seconds(), rate)
	fmt.Fprintf(w, "  计量器 meters:       %d with readings; key directory: %d registered 已登记, %d revoked 已吊销\n", rep.Meters, rep.Registered, rep.Revoked)
	fmt.Fprintf(w, "  信任 trust:          %d meter-signed 表内签名, %d gateway-signed 网关代签\n", rep.MeterSigned, rep.GatewaySigned)
	if rep.CertificateEntries > 0 { // water-rights certificates (helper certs)
		fmt.Fprintf(w, "  水权 water rights:   %d certificate entries 水权证书条目, %d certificates, %d m³ issued 已发放, %d m³ retired 已注销\n",
			rep.CertificateEntries, rep.Certificates.Certificates, rep.Certificates.IssuedM3, rep.Certificates.RetiredM3)
	}
	for _, g := range rep.Gateways {
		state := ""
		if g.Revoked {
			state = " (now revoked 已吊销)"
		}
		fmt.Fprintf(w, "    网关 gateway %s: %d readings of %d meters%s\n", g.Gateway, g.Readings, g.Meters, state)
	}
	printCommandStats(w, rep)
	fmt.Fprintf(w, "  瓦片 tiles:          %d re-derived and compared\n", rep.TilesChecked)
	fmt.Fprintf(w, "  问题 problems:       %d\n", rep.ProblemCount)
	for _, p := range rep.Problems {
		who := ""
		if p.Meter != "" {
			who = fmt.Sprintf(" meter %s seq %d", p.Meter, p.Seq)
		}
		fmt.Fprintf(w, "    [%s] index %d%s: %s\n", p.Kind, p.Index, who, p.Detail)
	}
	if uint64(len(rep.Problems)) < rep.ProblemCount {
		fmt.Fprintf(w, "    … %d more\n", rep.ProblemCount-uint64(len(rep.Problems)))
	}
	fmt.Fprintf(w, "  缺口 gaps (warnings): %d\n", rep.GapCount)
	for _, g := range rep.Gaps {
		prev := "no earlier reading"
		if g.HasPrev {
			prev = fmt.Sprintf("previous: seq %d at index %d", g.PrevSeq, g.PrevIndex)
		}
		fmt.Fprintf(w, "    meter %s seq %d (index %d): %s (%s)\n", g.Meter, g.Seq, g.Index, g.Reason, prev)
	}
	if uint64(len(rep.Gaps)) < rep.GapCount {
		fmt.Fprintf(w, "    … %d more\n", rep.GapCount-uint64(len(rep.Gaps)))
	}
	switch {
	case rep.ProblemCount > 0:
		fmt.Fprintln(w, "结论 verdict: 失败 FAIL (tampering or platform fault / 篡改或平台故障)")
	case strict && rep.GapCount > 0:
		fmt.Fprintln(w, "结论 verdict: 失败 FAIL (--strict: gaps in meter chains / 计量器链存在缺口)")
	case rep.GapCount > 0:
		fmt.Fprintln(w, "结论 verdict: 通过 PASS, with gaps listed above (readings the meters lost; --strict fails on them)")
	default:
		fmt.Fprintln(w, "结论 verdict: 通过 PASS")
	}
}

// checkFrameArchives re-checks gateway-signed readings against the frame
// archives in dirs (one per gateway, or shared).
func checkFrameArchives(framed []verify.FramedReading, dirs []string) (*verify.FrameReport, error) {
	var archives []fs.FS
	for _, d := range dirs {
		if d = strings.TrimSpace(d); d == "" {
			continue
		}
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("%s is not a directory", d)
		}
		archives = append(archives, os.DirFS(d))
	}
	return verify.CheckFrames(framed, archives, nil, 0)
}

func printFrames(w io.Writer, fr *verify.FrameReport) {
	if fr == nil {
		return
	}
	fmt.Fprintf(w, "  原始帧 raw frames:    %d archived; %d gateway-signed readings matched, %d missing 缺失, %d mismatched 不符\n",
		fr.Records, fr.Checked, fr.Missing, fr.Mismatch)
	for _, p := range fr.Problems {
		fmt.Fprintf(w, "    [%s] index %d meter %s seq %d: %s\n", p.Kind, p.Index, p.Meter, p.Seq, p.Detail)
	}
	if fr.Missing+fr.Mismatch > 0 {
		fmt.Fprintln(w, "结论 verdict (frames 原始帧): 失败 FAIL")
	}
}

func verifyFork(args []string, stdout, stderr io.Writer) int {
	v := newVerifyFlags("fork", "fork FILE --log-key KEY", stderr)
	pos, logKey, _, code := v.parse(args, 1, 1, stderr)
	if code != 0 {
		return code
	}
	data, err := readLimitedFile(pos[0], 4*verify.MaxCheckpointSize)
	if err != nil {
		fmt.Fprintf(stderr, "读取失败 / cannot read: %v\n", err)
		return 1
	}
	fp, err := verify.ParseForkProof(data)
	if err == nil {
		err = fp.Verify(logKey)
	}
	if err != nil {
		fmt.Fprintf(stderr, "分叉证明不成立 FORK PROOF NOT VALID: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "分叉已证实 fork proven: the log %s signed inconsistent checkpoints of size %d and %d\n",
		logKey.Name(), fp.Smaller().Size, fp.Larger().Size)
	return 0
}

// readLimitedFile reads a file ("-" for standard input) of at most limit bytes.
func readLimitedFile(path string, limit int64) ([]byte, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

// bearerClient returns the HTTP client that fetches a log at location: base
// (nil: the default) which, with a token, sends "Authorization: Bearer" to
// the log's own host only, so that a redirect elsewhere does not carry it.
func bearerClient(location, token string, base *http.Client) (*http.Client, error) {
	if token == "" || !strings.HasPrefix(location, "http://") && !strings.HasPrefix(location, "https://") {
		return base, nil
	}
	u, err := url.Parse(location)
	if err != nil {
		return nil, err
	}
	next := http.DefaultTransport
	if base != nil && base.Transport != nil {
		next = base.Transport // e.g. trusting --ca
	}
	return &http.Client{Timeout: time.Minute, Transport: bearerTransport{host: u.Host, token: token, next: next}}, nil
}

// bearerTransport adds a bearer token to the requests for one host.
type bearerTransport struct {
	host, token string
	next        http.RoundTripper
}

func (t bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == t.host {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+t.token)
	}
	return t.next.RoundTrip(r)
}
