package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/broker"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

func init() {
	register("bench", "measure the platform: bench ingest, bench hj212", runBench)
}

func runBench(args []string) int {
	if len(args) > 0 && args[0] == "hj212" {
		return runBenchHJ212(args[1:])
	}
	if len(args) > 0 && args[0] == hj212LoadMode {
		return runHJ212Load(args[1:])
	}
	if len(args) > 0 && args[0] == "province" { // benchprovince.go
		return runBenchProvince(args[1:])
	}
	if len(args) == 0 || args[0] != "ingest" {
		fmt.Fprintln(os.Stderr, "usage: shuixiao bench ingest [--meters N] [--collectors C] [--duration D] [--inflight W] [--store URL] [--nats URL|embedded [--edges N]] [--profile DIR]")
		fmt.Fprintln(os.Stderr, "       shuixiao bench hj212 [--conns N] [--rate R] [--duration D]")
		fmt.Fprintln(os.Stderr, "       shuixiao bench province [--enterprises N] [--points P] [--rate R] [--duration D] [--store URL] [--nats URL|embedded]")
		return 2
	}
	fs := flag.NewFlagSet("bench ingest", flag.ContinueOnError)
	meters := fs.Int("meters", 1000, "simulated meters, each its own MQTT client (unless --collectors)")
	collectors := fs.Int("collectors", 0, "put the meters behind this many data collectors (registered gateways, one MQTT session each, forwarding their meters' signed readings) instead of each meter being its own client; it must divide --meters")
	duration := fs.Duration("duration", 60*time.Second, "measured load duration")
	inflight := fs.Int("inflight", 16, "unacknowledged publishes per meter")
	rate := fs.Float64("rate", 20000, "offered load in readings/s over all meters, paced (0: as fast as acknowledgements allow)")
	keep := fs.Bool("keep", false, "keep the server's data directory and, on PostgreSQL, the run's schema")
	split := benchSplitFlags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	layout, err := ingestLayout(*meters, *collectors)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench ingest: %v\n", err)
		return 2
	}
	res, err := benchIngest(*meters, *duration, *inflight, *rate, *keep, split, layout)
	return printBenchResult("bench ingest", res, err)
}

// ingestLayout is the layout of bench ingest: every meter its own MQTT
// client, or with collectors > 0 the meters split evenly behind that many
// data collectors, each in an enterprise of its own (as bench province
// lays out a province).
func ingestLayout(meters, collectors int) (benchLayout, error) {
	switch {
	case meters < 1:
		return benchLayout{}, fmt.Errorf("--meters %d: at least 1", meters)
	case collectors == 0:
		return benchLayout{}, nil
	case collectors < 0 || collectors > meters || meters%collectors != 0:
		return benchLayout{}, fmt.Errorf("--collectors %d must be between 1 and --meters (%d) and divide it", collectors, meters)
	}
	return benchLayout{Enterprises: collectors, Points: meters / collectors, Collectors: true}, nil
}

// printBenchResult prints a bench's result as one JSON line, or its error; it returns the exit code.
func printBenchResult(name string, res any, err error) int {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	return 0
}

// percentile returns the p-quantile (0..1) of sorted values, 0 for none.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

type ingestResult struct {
	Meters        int     `json:"meters"`
	Sessions      int     `json:"mqtt_sessions"` // MQTT connections the load went over: one per meter, or one per data collector
	OfferedPerS   float64 `json:"offered_per_s"`
	DurationS     float64 `json:"duration_s"`
	Acked         int64   `json:"acked"`
	Failed        int64   `json:"failed"`
	ReadingsPerS  float64 `json:"readings_per_s"`
	P50AckMs      float64 `json:"p50_ack_ms"`
	P99AckMs      float64 `json:"p99_ack_ms"`
	MaxAckMs      float64 `json:"max_ack_ms"`
	HeldBack      int64   `json:"held_back"` // readings due when the period ended but not sent: their meter's window was full
	VerifyPerS    float64 `json:"verify_per_s"`
	VerifyPerCore float64 `json:"verify_per_core_s"`
	Ratio         float64 `json:"readings_per_verify"`
	RSSMB         float64 `json:"rss_mb"`
	ServerCores   float64 `json:"server_cpu_cores"`           // CPU the server used while publishing, in cores
	ClientCores   float64 `json:"client_cpu_cores"`           // CPU this load generator used meanwhile
	AppendUs      float64 `json:"ledger_append_us_per_entry"` // the server's time to append its batches durably, per entry
	LedgerBatchMs float64 `json:"ledger_batch_ms"`            // mean time to append one batch durably; every reading waits for up to two
	LedgerBusy    float64 `json:"ledger_busy"`                // share of the period spent appending; near 1, each batch waits for the one before and batches grow with the rate
	LedgerSize    uint64  `json:"ledger_size"`
	// Consistent: the ledger holds every acknowledged reading (in bus mode
	// once the sequencer caught up, waited for while it made progress:
	// waitCaughtUp). LedgerCatchupS is the time from the last
	// acknowledgement to that (near 0 without bus mode: the ledger holds a
	// reading before it is acknowledged), or to giving up, and
	// LedgerMissing how many the ledger then still lacked.
	Consistent     bool    `json:"ledger_holds_every_ack"`
	LedgerCatchupS float64 `json:"ledger_catchup_s"`
	LedgerMissing  int64   `json:"ledger_missing"`
	// Schema is the PostgreSQL schema of the run (--store postgres://…):
	// a fresh one, dropped at the end unless --keep.
	Schema string `json:"pg_schema,omitempty"`
	Cores  int    `json:"cores"`
	// Bus mode (--nats): edge processes, the p99 time from the stream's
	// PubAck to ledger and store, and the sequencer's CPU per reading.
	Edges          int     `json:"edges,omitempty"`
	GoMaxProcs     int     `json:"gomaxprocs,omitempty"` // --gomaxprocs of every process (0: Go's default)
	P99LedgerMs    float64 `json:"p99_ledger_ms,omitempty"`
	SequencerUsPer float64 `json:"sequencer_us_per_reading,omitempty"`
	// SequencerCeiling is what one core of the sequencer's process would
	// take at SequencerUsPer: the projected ceiling of one log, if the
	// ledger's disk keeps up (LedgerBusy says how near it is).
	SequencerCeiling float64 `json:"sequencer_ceiling_per_core_s,omitempty"`
	EdgeCores        float64 `json:"edge_cpu_cores,omitempty"`
	// CPU per acknowledged reading of the edge processes and of this load
	// generator (the devices' share: it pre-signs, so it only sends).
	EdgeUsPer    float64 `json:"edge_us_per_reading,omitempty"`
	ClientUsPer  float64 `json:"client_us_per_reading,omitempty"`
	LoadAvgStart string  `json:"loadavg_start,omitempty"` // /proc/loadavg when the load started
	LoadAvg1     string  `json:"loadavg,omitempty"`       // /proc/loadavg at the end: the machine is shared

	loadEnd time.Time // when the last acknowledgement came
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// verifyRate measures raw Ed25519 verification in this process on all cores.
func verifyRate(d time.Duration) (total, perCore float64) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	msg := bytes.Repeat([]byte("x"), 220)
	sig := ed25519.Sign(priv, msg)
	var n atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < d {
				for i := 0; i < 100; i++ {
					ed25519.Verify(pub, msg, sig)
				}
				n.Add(100)
			}
		}()
	}
	wg.Wait()
	total = float64(n.Load()) / time.Since(start).Seconds()
	return total, total / float64(runtime.GOMAXPROCS(0))
}

// benchLayout is how bench meters are registered, and what runs after the
// load (bench province).
type benchLayout struct {
	// Enterprises share the meters, Points each (0: one enterprise with
	// them all).
	Enterprises, Points int
	// Collectors: each enterprise's meters are read by one data collector
	// (a registered gateway the meters are registered behind) that
	// forwards their signed readings on one MQTT session, instead of each
	// meter being its own client.
	Collectors bool
	// RegisterS, when set, receives the time registration took.
	RegisterS *float64
	// SchemaPrefix names the run's PostgreSQL schema (openBenchPG;
	// default bench_ingest_).
	SchemaPrefix string
	// After runs once the load ended (in bus mode, once the sequencer has
	// caught up), with the server still up; pg is the run's PostgreSQL
	// schema (nil on SQLite).
	After func(c *apiClient, res *ingestResult, pg *benchPG) error
}

func benchIngest(nMeters int, duration time.Duration, inflight int, rate float64, keep bool, split *benchSplit, layout benchLayout) (*ingestResult, error) {
	if err := split.applyProcs(); err != nil {
		return nil, err
	}
	// On PostgreSQL the run writes into a fresh schema of its own: the
	// database's others (the store's default, shuixiao, among them) are
	// left as they were, and a second run does not meet the first's park.
	var pg *benchPG
	if isPostgres(split.Store) {
		prefix := layout.SchemaPrefix
		if prefix == "" {
			prefix = "bench_ingest_"
		}
		p, drop, err := openBenchPG(split, prefix, keep)
		if err != nil {
			return nil, err
		}
		defer drop() // after the server and the edges stopped
		pg = p
	}
	dir, err := os.MkdirTemp("", "shuixiao-bench-")
	if err != nil {
		return nil, err
	}
	if !keep {
		defer os.RemoveAll(dir)
	} else {
		fmt.Fprintf(os.Stderr, "data directory: %s\n", dir)
	}
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	mqttAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	token := "bench-admin-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	// Bench meters publish as fast as they are acknowledged: no per-device cap.
	extra, err := split.sequencerArgs(dir)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, append([]string{"serve", "--data", filepath.Join(dir, "data"), "--http", httpAddr, "--mqtt", mqttAddr, "--mqtt-publish-rate", "0"}, extra...)...)
	cmd.Env = append(os.Environ(), "SHUIXIAO_ADMIN_TOKEN="+token)
	var serverPprof string
	if split.Profile != "" {
		if err := os.MkdirAll(split.Profile, 0o750); err != nil {
			return nil, err
		}
		if serverPprof, err = freeAddr(); err != nil {
			return nil, err
		}
		cmd.Env = append(cmd.Env, "SHUIXIAO_PPROF="+serverPprof)
	}
	logf, _ := os.Create(filepath.Join(dir, "server.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
		}
	}()
	base := "http://" + httpAddr
	c := &apiClient{base: base, token: token, hc: &http.Client{Timeout: 30 * time.Second}}
	if err := c.waitHealthy(30 * time.Second); err != nil {
		return nil, fmt.Errorf("server did not start (log in %s): %w", filepath.Join(dir, "server.log"), err)
	}
	fmt.Fprintf(os.Stderr, "server pid %d up at %s; registering %d meters…\n", cmd.Process.Pid, base, nMeters)
	t0 := time.Now()
	ms, clients, err := benchRegister(c, nMeters, layout)
	if err != nil {
		return nil, err
	}
	// The ledger before the load: the registry's entries.
	registered, err := c.health()
	if err != nil {
		return nil, err
	}
	regS := time.Since(t0).Seconds()
	if layout.RegisterS != nil {
		*layout.RegisterS = regS
	}
	fmt.Fprintf(os.Stderr, "registered in %.1f s (%.0f meters/s); the ledger holds %d entries\n", regS, float64(nMeters)/regS, registered)
	if split.bus() {
		defer split.stop()
		if err := split.startEdges(self, dir, token); err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "bus mode: %d edge processes, sequencer pid %d, NATS %s\n", split.Edges, cmd.Process.Pid, split.natsURL)
	}
	target := rate
	if target <= 0 {
		target = 40000 // saturation: pre-sign for the most this machine could take
	}
	// Pre-sign what the run can send: each meter's share of the offered
	// readings and, when it is its own client, its window besides.
	perMeter := int(math.Ceil(target * 1.05 * duration.Seconds() / float64(nMeters)))
	if !layout.Collectors {
		perMeter += 2 * inflight
	}
	fmt.Fprintf(os.Stderr, "pre-signing %d readings (%d per meter) so the load generator does not compete with the server for CPU…\n", perMeter*nMeters, perMeter)
	// Each meter reads at its share of the offered rate; the readings carry
	// that cadence in their times, ending now (well inside the skew window).
	presign(ms, perMeter, time.Duration(float64(time.Second)*float64(nMeters)/target))
	for _, cl := range clients {
		cl.interleave()
	}
	fmt.Fprintln(os.Stderr, "measuring raw Ed25519 verification…")
	vTotal, vCore := verifyRate(3 * time.Second)

	fmt.Fprintf(os.Stderr, "connecting %d MQTT clients…\n", len(clients))
	conns := make([]*loadConn, len(clients))
	for i, cl := range clients {
		c, err := dialLoad(split.mqttAddr(i, mqttAddr), "bench-"+cl.user, cl.user, cl.password)
		if err != nil {
			return nil, fmt.Errorf("connect %s: %w", cl.user, err)
		}
		conns[i] = c
	}
	defer func() {
		for _, c := range conns {
			c.close()
		}
	}()

	fmt.Fprintf(os.Stderr, "publishing for %s…\n", duration)
	loadStart := loadAvg()
	srvCPU0, cliCPU0, edgeCPU0 := processCPU(cmd.Process.Pid), processCPU(os.Getpid()), split.edgeCPU()
	m0 := c.metrics()
	profiled := split.profile(serverPprof, duration)
	defer profiled()
	stopClientProfile, err := split.profileClient()
	if err != nil {
		return nil, err
	}
	defer stopClientProfile()
	var acked, failed atomic.Int64
	lat := make([][]float64, len(clients))
	loads := make([]*meterLoad, len(clients))
	for i, cl := range clients {
		loads[i] = &meterLoad{c: conns[i], signed: cl.signed, topic: broker.ReadingsPrefix + cl.user, window: min(inflight*len(cl.meters), len(meterLoad{}.sentAt))}
	}
	start := time.Now()
	stop := start.Add(duration)
	var wg sync.WaitGroup
	for i, ml := range loads {
		wg.Add(1)
		go func() { // PUBACK reader; it also sends what the window held back
			defer wg.Done()
			for {
				id, err := ml.c.readAck()
				if err != nil {
					if !ml.closing.Load() && !errors.Is(err, io.EOF) {
						failed.Add(1)
					}
					return
				}
				now := time.Now()
				ml.mu.Lock()
				lat[i] = append(lat[i], float64(now.UnixNano()-ml.sentAt[(id-1)%uint16(len(ml.sentAt))])/1e6)
				acked.Add(1)
				ml.inflight--
				if now.After(stop) {
					ml.due = ml.sent // sending ends with the measured period
				}
				ml.pump()
				ml.mu.Unlock()
			}
		}()
	}
	if rate > 0 {
		// One pacer makes readings due: slot s (meter s mod N, its reading
		// s / N) is due at start + s/rate. Latency counts from that intended
		// time, so a server that falls behind is not flattered (no
		// coordinated omission). The pacer wakes at most once a millisecond
		// and sends everything due by then.
		slot := 0
		total := len(ms) * len(ms[0].signed)
		for slot < total {
			now := time.Now()
			if now.After(stop) {
				break
			}
			for ; slot < total; slot++ {
				at := start.Add(time.Duration(float64(slot) / rate * float64(time.Second)))
				if at.After(now) {
					break
				}
				ml := loads[slot%len(loads)]
				ml.mu.Lock()
				ml.due++
				ml.dueAt = append(ml.dueAt, at.UnixNano())
				ml.pump()
				ml.mu.Unlock()
			}
			time.Sleep(time.Millisecond)
		}
	} else {
		for _, ml := range loads {
			ml.mu.Lock()
			ml.due = len(ml.signed)
			ml.pump()
			ml.mu.Unlock()
		}
		time.Sleep(time.Until(stop))
		for _, ml := range loads {
			ml.mu.Lock()
			ml.due = ml.sent
			ml.mu.Unlock()
		}
	}
	// Wait for the outstanding acknowledgements.
	deadline := time.Now().Add(30 * time.Second)
	var heldBack int64
	for _, ml := range loads {
		for {
			ml.mu.Lock()
			n := ml.inflight
			ml.mu.Unlock()
			if n == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		ml.mu.Lock()
		failed.Add(int64(ml.inflight))
		heldBack += int64(len(ml.dueAt) - ml.sent)
		ml.mu.Unlock()
		ml.closing.Store(true)
		ml.c.conn.SetReadDeadline(time.Now())
	}
	wg.Wait()
	elapsed := time.Since(start)
	loadEnd := start.Add(elapsed)
	stopClientProfile()
	// In bus mode acknowledged means in the stream: wait while the
	// sequencer makes progress until the ledger holds every reading, so
	// that its CPU and the time to ledger cover them all. Without bus mode
	// the ledger holds them already.
	ledger := waitCaughtUp(func() (int64, error) {
		h, err := c.health()
		return int64(h), err
	}, int64(registered)+acked.Load(), loadEnd, catchUpStall, catchUpLimit)
	ledger.report("the ledger")
	m1 := c.metrics()
	srvCPU, cliCPU := processCPU(cmd.Process.Pid)-srvCPU0, processCPU(os.Getpid())-cliCPU0
	edgeCPU := split.edgeCPU() - edgeCPU0
	var all []float64
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Float64s(all)
	pct := func(p float64) float64 { return percentile(all, p) }
	res := &ingestResult{Meters: nMeters, GoMaxProcs: split.GoMaxProcs, Sessions: len(clients), OfferedPerS: rate, DurationS: elapsed.Seconds(), Acked: acked.Load(), Failed: failed.Load(),
		ReadingsPerS: float64(acked.Load()) / elapsed.Seconds(), P50AckMs: pct(0.50), P99AckMs: pct(0.99), MaxAckMs: pct(1),
		VerifyPerS: vTotal, VerifyPerCore: vCore, Cores: runtime.NumCPU()}
	res.Ratio = res.ReadingsPerS / res.VerifyPerS
	if rate > 0 {
		res.HeldBack = max(heldBack, 0)
	}
	res.RSSMB = peakRSS(cmd.Process.Pid)
	res.ServerCores = (srvCPU + edgeCPU).Seconds() / elapsed.Seconds()
	if split.bus() {
		res.Edges, res.EdgeCores = split.Edges, edgeCPU.Seconds()/elapsed.Seconds()
		if res.Acked > 0 {
			res.EdgeUsPer = edgeCPU.Seconds() / float64(res.Acked) * 1e6
		}
		res.P99LedgerMs = c.histogramQuantile("shuixiao_bus_to_ledger_seconds", 0.99) * 1e3
		if a := m1["shuixiao_ingest_admitted_total"] - m0["shuixiao_ingest_admitted_total"]; a > 0 {
			res.SequencerUsPer = srvCPU.Seconds() / a * 1e6
			res.SequencerCeiling = 1e6 / res.SequencerUsPer
		}
	}
	res.LoadAvgStart, res.LoadAvg1 = loadStart, loadAvg()
	res.ClientCores = cliCPU.Seconds() / elapsed.Seconds()
	if res.Acked > 0 {
		res.ClientUsPer = cliCPU.Seconds() / float64(res.Acked) * 1e6
	}
	if entries := m1["shuixiao_ingest_batch_readings_sum"] - m0["shuixiao_ingest_batch_readings_sum"]; entries > 0 {
		busy := m1["shuixiao_ingest_ledger_append_seconds_sum"] - m0["shuixiao_ingest_ledger_append_seconds_sum"]
		res.AppendUs = busy / entries * 1e6
		res.LedgerBusy = busy / elapsed.Seconds()
		if n := m1["shuixiao_ingest_ledger_append_seconds_count"] - m0["shuixiao_ingest_ledger_append_seconds_count"]; n > 0 {
			res.LedgerBatchMs = busy / n * 1e3
		}
	}
	res.LedgerSize, res.Consistent = uint64(ledger.Got), ledger.Reached()
	res.LedgerCatchupS, res.LedgerMissing = ledger.Took.Seconds(), ledger.Missing()
	res.loadEnd = loadEnd
	if pg != nil {
		res.Schema = pg.schema
	}
	if layout.After != nil {
		if err := layout.After(c, res, pg); err != nil {
			return res, err
		}
	}
	return res, nil
}

// loadAvg is /proc/loadavg, or "" where there is none.
func loadAvg() string {
	la, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(la))
}

// processCPU reads a process's user+system CPU time from /proc.
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start at ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // clock ticks (USER_HZ = 100 on Linux)
}

// peakRSS reads a process's peak resident set (VmHWM) in MB.
func peakRSS(pid int) float64 { return procStatusMB(pid, "VmHWM:") }

// procStatusMB reads a field in kB of /proc/PID/status, in MB.
func procStatusMB(pid int, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// meterLoad is one simulated meter's sending state. A reading is sent once
// it is due and the meter has fewer than window readings unacknowledged.
type meterLoad struct {
	mu       sync.Mutex
	c        *loadConn
	signed   [][]byte
	topic    string
	window   int
	due      int     // readings due (all of them when unpaced)
	dueAt    []int64 // when each due reading was due (paced)
	sent     int
	inflight int
	sentAt   [4096]int64 // intended send time by packet ID (IDs cycle through 1..4096)
	closing  atomic.Bool
}

// pump sends what is due and fits in the window; ml.mu is held.
func (ml *meterLoad) pump() {
	n := 0
	for ml.sent < ml.due && ml.sent < len(ml.signed) && ml.inflight < ml.window {
		k := ml.sent
		id := uint16(k%len(ml.sentAt) + 1)
		at := time.Now().UnixNano()
		if k < len(ml.dueAt) {
			at = ml.dueAt[k]
		}
		ml.sentAt[id-1] = at
		if ml.c.publish(ml.topic, id, ml.signed[k]) != nil {
			ml.due = ml.sent // a broken connection: its acks count as failed
			return
		}
		ml.sent++
		ml.inflight++
		n++
	}
	if n > 0 {
		ml.c.flush()
	}
}

type benchMeter struct {
	id, password string
	signer       note.Signer
	point        string
	signed       [][]byte
}

func presign(ms []*benchMeter, n int, every time.Duration) {
	var wg sync.WaitGroup
	work := make(chan *benchMeter)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range work {
				var prev reading.Hash
				t0 := time.Now().Add(-time.Duration(n) * every)
				m.signed = make([][]byte, 0, n)
				for seq := 1; seq <= n; seq++ {
					t := t0.Add(time.Duration(seq) * every)
					r := &reading.Reading{Meter: m.id, Seq: uint64(seq), Time: t, Prev: prev, Point: m.point, Values: []reading.Value{
						{Channel: "total_m3", Value: float64(seq) * 0.125},
						{Channel: "flow_m3h", Value: 12.5},
						{Channel: "pressure_mpa", Value: 0.42},
						{Channel: "temp_c", Value: 21.5},
					}}
					msg, err := reading.Sign(r, m.signer)
					if err != nil {
						panic(err)
					}
					prev = reading.HashOf(msg)
					m.signed = append(m.signed, msg)
				}
			}
		}()
	}
	for _, m := range ms {
		work <- m
	}
	close(work)
	wg.Wait()
}

// benchClient is one MQTT session of the load: a meter of its own, or a
// data collector forwarding its meters' readings.
type benchClient struct {
	user, password string
	meters         []*benchMeter
	signed         [][]byte // what it sends, in order
}

// interleave lays the client's meters' pre-signed readings out round by
// round: every meter's first reading, then every meter's second, …
func (cl *benchClient) interleave() {
	if len(cl.meters) == 1 {
		cl.signed = cl.meters[0].signed
		return
	}
	cl.signed = make([][]byte, 0, len(cl.meters)*len(cl.meters[0].signed))
	for k := range cl.meters[0].signed {
		for _, m := range cl.meters {
			cl.signed = append(cl.signed, m.signed[k])
		}
	}
}

// benchChunk is how many points or meters one bulk registration carries.
const benchChunk = 5000

// benchRegister registers the bench park, its enterprises and n meters
// (each on a point of its own) in bulk, and returns the meters with the
// MQTT clients that will send their readings.
func benchRegister(c *apiClient, n int, layout benchLayout) ([]*benchMeter, []*benchClient, error) {
	if err := c.post("/api/v1/parks", meter.Park{ID: "BENCH-PARK", Name: "基准测试园区", Region: "430100"}, nil); err != nil {
		return nil, nil, err
	}
	enterprise := func(int) string { return "BENCH-ENT" }
	if layout.Enterprises > 0 && layout.Points > 0 {
		if err := benchEnterprises(c, layout.Enterprises); err != nil {
			return nil, nil, err
		}
		enterprise = func(i int) string { return benchEnterpriseID(i / layout.Points) }
	} else if err := c.post("/api/v1/enterprises", meter.Enterprise{ID: "BENCH-ENT", Name: "基准测试企业", Park: "BENCH-PARK", Region: "430100", Industry: "3120"}, nil); err != nil {
		return nil, nil, err
	}
	var chans []meter.Channel
	for _, name := range []string{"total_m3", "flow_m3h", "pressure_mpa", "temp_c"} {
		ch, _ := meter.StandardChannel(name)
		chans = append(chans, ch)
	}
	ms, vkeys, err := benchKeys(n, reading.KeyName, func(i int) string { return fmt.Sprintf("BM%06d", i) })
	if err != nil {
		return nil, nil, err
	}
	var clients []*benchClient
	collector := func(int) string { return "" }
	if layout.Collectors {
		gws, gkeys, err := benchKeys(layout.Enterprises, reading.GatewayKeyName, func(i int) string { return fmt.Sprintf("BC%05d", i) })
		if err != nil {
			return nil, nil, err
		}
		err = benchParallel(len(gws), 16, func(i int) error {
			return c.postPaced("/api/v1/gateways", map[string]any{"id": gws[i].id, "key": gkeys[i], "enterprise": benchEnterpriseID(i), "mqtt_password": gws[i].password})
		})
		if err != nil {
			return nil, nil, err
		}
		for i, g := range gws {
			clients = append(clients, &benchClient{user: g.id, password: g.password, meters: ms[i*layout.Points : (i+1)*layout.Points]})
		}
		collector = func(i int) string { return gws[i/layout.Points].id }
	} else {
		for _, m := range ms {
			clients = append(clients, &benchClient{user: m.id, password: m.password, meters: []*benchMeter{m}})
		}
	}
	// A bulk request may take long on a busy machine: no 30 s timeout.
	bulk := &apiClient{base: c.base, token: c.token, hc: &http.Client{Timeout: 30 * time.Minute}}
	chunks := (n + benchChunk - 1) / benchChunk
	span := func(k int) (int, int) { return k * benchChunk, min(n, (k+1)*benchChunk) }
	err = benchParallel(chunks, 4, func(k int) error {
		lo, hi := span(k)
		pts := make([]meter.Point, 0, hi-lo)
		for i := lo; i < hi; i++ {
			m := ms[i]
			m.point = "BP" + m.id[2:]
			pts = append(pts, meter.Point{ID: m.point, Enterprise: enterprise(i), Name: "基准计量点 " + m.id, Level: meter.Level3, Stage: meter.StageUse, Channels: chans})
		}
		return bulk.post("/api/v1/points/import", pts, nil)
	})
	if err != nil {
		return nil, nil, err
	}
	err = benchParallel(chunks, 4, func(k int) error {
		lo, hi := span(k)
		body := make([]map[string]any, 0, hi-lo)
		for i := lo; i < hi; i++ {
			m := ms[i]
			req := map[string]any{"id": m.id, "point": m.point, "key": vkeys[i], "signed": "meter", "interval_s": 60}
			if g := collector(i); g != "" {
				req["collector"] = g // the meter does not log in
			} else {
				req["mqtt_password"] = m.password
			}
			body = append(body, req)
		}
		return bulk.post("/api/v1/meters/import", body, nil)
	})
	if err != nil {
		return nil, nil, err
	}
	return ms, clients, nil
}

// postPaced posts body, waiting out the token's request rate (429) as
// often as the server asks: a bench registers thousands of records.
func (c *apiClient) postPaced(path string, body any) error {
	for {
		code, err := c.do("POST", path, body, nil)
		if code != http.StatusTooManyRequests {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// benchKeys makes n signing keys named keyName(id(i)), on every core.
func benchKeys(n int, keyName func(string) string, id func(int) string) ([]*benchMeter, []string, error) {
	ms := make([]*benchMeter, n)
	vkeys := make([]string, n)
	err := benchParallel(n, runtime.GOMAXPROCS(0), func(i int) error {
		skey, vkey, err := note.GenerateKey(rand.Reader, keyName(id(i)))
		if err != nil {
			return err
		}
		signer, err := note.NewSigner(skey)
		if err != nil {
			return err
		}
		ms[i] = &benchMeter{id: id(i), password: "pw-" + id(i) + "-" + strconv.Itoa(i*7919), signer: signer}
		vkeys[i] = vkey
		return nil
	})
	return ms, vkeys, err
}

// benchParallel runs f(0) … f(n-1), at most width at a time, and returns
// the first error.
func benchParallel(n, width int, f func(i int) error) error {
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	next := make(chan int)
	for w := 0; w < width; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}
