package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shuixiao/shuixiao/hj212"
	"github.com/shuixiao/shuixiao/internal/gateway"
	"github.com/shuixiao/shuixiao/internal/gateway/hj212gw"
)

// hj212LoadMode is the hidden bench mode of the child process that plays the devices.
const hj212LoadMode = "hj212-load"

// hj212BenchPW is every simulated device's password.
const hj212BenchPW = "123456"

func runBenchHJ212(args []string) int {
	fs := flag.NewFlagSet("bench hj212", flag.ContinueOnError)
	conns := fs.Int("conns", 5000, "device connections held at once (each its own MN)")
	rate := fs.Float64("rate", 2000, "data packets/s over all devices (each asks for a 9014 answer)")
	duration := fs.Duration("duration", 30*time.Second, "measured load after every device has connected (at most 60 s)")
	sinkKind := fs.String("sink", "ingest", "what takes the frames: ingest (the gateway's signing Sink into a ledger, store and ingest pipeline) or count (counted only: the gateway alone)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: shuixiao bench hj212 [--conns N] [--rate R] [--duration D]")
		fmt.Fprintln(fs.Output(), "HJ 212 网关负载测试：本机回环，N 个设备连接，每秒 R 个数据包 / HJ 212 gateway load on loopback")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *conns < 1 || *conns > 15000 || *rate <= 0 || *rate > 20000 || *duration <= 0 || *duration > 60*time.Second ||
		(*sinkKind != "ingest" && *sinkKind != "count") {
		fmt.Fprintln(os.Stderr, "参数错误 / flag error: --conns 1..15000, --rate (0, 20000], --duration (0, 60s], --sink ingest|count")
		return 2
	}
	res, err := benchHJ212(*conns, *rate, *duration, *sinkKind == "ingest")
	return printBenchResult("bench hj212", res, err)
}

// hj212BenchResult is what bench hj212 prints.
type hj212BenchResult struct {
	Sink          string  `json:"sink"`
	Conns         int     `json:"conns"`
	OfferedPerS   float64 `json:"offered_per_s"`
	DurationS     float64 `json:"duration_s"`
	SetupS        float64 `json:"setup_s"`              // time to create the platform and register the devices (--sink ingest)
	ConnectS      float64 `json:"connect_s"`            // time for every device to connect
	HeldMin       int64   `json:"connections_held_min"` // fewest connections open at the gateway during the measured load
	Delivered     int64   `json:"delivered"`            // data packets the Sink took during the measured load
	DeliveredPerS float64 `json:"delivered_per_s"`      // the same per second
	Sent          int64   `json:"sent"`                 // packets the devices sent
	Replies       int64   `json:"replies"`              // 9014 answers the devices received
	BadReplies    int64   `json:"bad_replies"`          // answers that were not the 9014 to the packet sent
	DeviceErrors  int64   `json:"device_errors"`        // devices whose connection failed
	P50ReplyMs    float64 `json:"p50_reply_ms"`         // send → 9014 received
	P99ReplyMs    float64 `json:"p99_reply_ms"`         // send → 9014 received
	MaxReplyMs    float64 `json:"max_reply_ms"`         // send → 9014 received
	// Memory and CPU are the whole process: the gateway, and with --sink ingest the signing
	// Sink, ingest pipeline, ledger and store too.
	HeapMB          float64 `json:"gateway_heap_mb"`     // most Go heap in use during the load
	StackMB         float64 `json:"gateway_stacks_mb"`   // goroutine stacks at the end of the load (one goroutine per connection)
	GoSysMB         float64 `json:"gateway_go_sys_mb"`   // memory the Go runtime holds from the OS at the end of the load
	RSSMB           float64 `json:"gateway_rss_mb"`      // largest resident set during the load
	PeakRSSMB       float64 `json:"gateway_peak_rss_mb"` // peak resident set of the gateway's process
	Goroutines      int     `json:"gateway_goroutines"`  // at the end of the load
	GatewayCores    float64 `json:"gateway_cpu_cores"`   // CPU the gateway used during the load, in cores
	DevicesCores    float64 `json:"devices_cpu_cores"`   // CPU the device simulator used
	GatewayRefusals int64   `json:"gateway_refusals"`    // frames or connections the gateway refused (must be 0)
	FDLimit         uint64  `json:"fd_soft_limit"`       // the soft limit after raising it
	Cores           int     `json:"cores"`
}

// countingSink counts the frames another Sink (or none) takes: with --sink count it measures
// the gateway alone.
type countingSink struct {
	next gateway.Sink
	n    atomic.Int64
}

func (s *countingSink) Deliver(ctx context.Context, f gateway.Frame) error {
	if len(f.Values) == 0 || f.Time.IsZero() {
		return errors.New("bench: frame without values or time")
	}
	if s.next != nil {
		if err := s.next.Deliver(ctx, f); err != nil {
			return err
		}
	}
	s.n.Add(1)
	return nil
}

// benchDevices knows every simulated device: MN BENCH + 19 digits, one password.
type benchDevices struct{ n int }

func (d benchDevices) Device(protocol, id string) (gateway.DeviceInfo, bool) {
	i, err := strconv.Atoi(strings.TrimPrefix(id, "BENCH"))
	if protocol != gateway.ProtocolHJ212 || !strings.HasPrefix(id, "BENCH") || err != nil || i < 0 || i >= d.n {
		return gateway.DeviceInfo{}, false
	}
	return gateway.DeviceInfo{Password: hj212BenchPW}, true
}

func benchMN(i int) string { return fmt.Sprintf("BENCH%019d", i) }

// raiseFDLimit lifts the soft limit on open files to the hard limit and checks need fits.
func raiseFDLimit(need uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < need && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, err
		}
	}
	if lim.Cur < need {
		return lim.Cur, fmt.Errorf("open-file limit %d (hard %d) below the %d needed: raise ulimit -n", lim.Cur, lim.Max, need)
	}
	return lim.Cur, nil
}

func benchHJ212(conns int, rate float64, duration time.Duration, withIngest bool) (*hj212BenchResult, error) {
	fdLimit, err := raiseFDLimit(uint64(conns) + 200)
	if err != nil {
		return nil, err
	}
	sink := &countingSink{}
	var devices gateway.Devices = benchDevices{conns}
	sinkName := "count: frames counted, nothing signed or stored (the gateway alone)"
	var setupS float64
	if withIngest {
		t := time.Now()
		stack, err := openHJ212BenchStack(context.Background(), conns)
		if err != nil {
			return nil, fmt.Errorf("platform: %w", err)
		}
		defer stack.Close()
		sink.next, devices = stack.sink, stack.sink
		setupS = time.Since(t).Seconds()
		sinkName = "ingest: gateway.SigningSink → ingest pipeline → ledger + SQLite store, in this process (one gateway-signed meter per device)"
	}
	srv := hj212gw.New(hj212gw.Config{MaxConns: conns + 100}, devices, sink, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go srv.Serve(ln)
	defer srv.Close()

	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "bench", hj212LoadMode, "--addr", ln.Addr().String(), "--conns", strconv.Itoa(conns),
		"--rate", strconv.FormatFloat(rate, 'f', -1, 64), "--duration", duration.String())
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "READY" {
		cmd.Wait()
		return nil, fmt.Errorf("device simulator did not connect its devices (%q)", lines.Text())
	}
	for end := time.Now().Add(10 * time.Second); srv.Stats().Open < int64(conns); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			return nil, fmt.Errorf("gateway holds %d of %d connections 10 s after the devices connected", srv.Stats().Open, conns)
		}
	}
	res := &hj212BenchResult{Sink: sinkName, Conns: conns, OfferedPerS: rate, SetupS: setupS, ConnectS: time.Since(t0).Seconds(),
		FDLimit: fdLimit, Cores: runtime.NumCPU()}
	delivered0 := sink.n.Load()
	if _, err := fmt.Fprintln(stdin, "GO"); err != nil {
		return nil, err
	}
	start := time.Now()
	gwCPU0, devCPU0 := processCPU(os.Getpid()), processCPU(cmd.Process.Pid)
	res.HeldMin = srv.Stats().Open
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the fewest connections held and the most memory used while the load runs
		defer wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				res.HeldMin = min(res.HeldMin, srv.Stats().Open)
				runtime.ReadMemStats(&ms)
				res.HeapMB = max(res.HeapMB, float64(ms.HeapInuse)/(1<<20))
				res.RSSMB = max(res.RSSMB, procStatusMB(os.Getpid(), "VmRSS:"))
			}
		}
	}()
	if !lines.Scan() {
		close(stop)
		cmd.Wait()
		return nil, fmt.Errorf("device simulator ended without a result")
	}
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	res.DurationS = elapsed.Seconds()
	res.Delivered = sink.n.Load() - delivered0
	res.DeliveredPerS = float64(res.Delivered) / elapsed.Seconds()
	res.GatewayCores = (processCPU(os.Getpid()) - gwCPU0).Seconds() / elapsed.Seconds()
	res.DevicesCores = (processCPU(cmd.Process.Pid) - devCPU0).Seconds() / elapsed.Seconds()
	res.HeldMin = min(res.HeldMin, srv.Stats().Open)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.HeapMB, res.GoSysMB = max(res.HeapMB, float64(ms.HeapInuse)/(1<<20)), float64(ms.Sys)/(1<<20)
	res.StackMB = float64(ms.StackInuse) / (1 << 20)
	res.RSSMB, res.PeakRSSMB = max(res.RSSMB, procStatusMB(os.Getpid(), "VmRSS:")), peakRSS(os.Getpid())
	res.Goroutines = runtime.NumGoroutine()
	stdin.Close() // the devices hang up
	st := srv.Stats()
	res.GatewayRefusals = st.Refused + st.BadCRC + st.BadLength + st.BadSegment + st.BadData + st.Oversize + st.WrongPassword +
		st.UnknownDevice + st.UnknownCN + st.SinkErrors + st.Unmapped + st.Stalled + st.Idle
	var dev hj212LoadResult
	if err := json.Unmarshal(lines.Bytes(), &dev); err != nil {
		return nil, fmt.Errorf("device simulator result %q: %v", lines.Text(), err)
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("device simulator: %v", err)
	}
	res.Sent, res.Replies, res.BadReplies, res.DeviceErrors = dev.Sent, dev.Replies, dev.BadReplies, dev.Errors
	res.P50ReplyMs, res.P99ReplyMs, res.MaxReplyMs = dev.P50Ms, dev.P99Ms, dev.MaxMs
	return res, nil
}

// hj212LoadResult is what the device simulator reports.
type hj212LoadResult struct {
	Sent       int64   `json:"sent"`
	Replies    int64   `json:"replies"`
	BadReplies int64   `json:"bad_replies"`
	Errors     int64   `json:"errors"`
	P50Ms      float64 `json:"p50_ms"`
	P99Ms      float64 `json:"p99_ms"`
	MaxMs      float64 `json:"max_ms"`
}

// runHJ212Load is the device simulator: it connects every device to the gateway on loopback,
// prints READY, waits for GO on its input, sends data packets (2011, Flag=5) at the given total rate for the duration, each
// device waiting for the 9014 answer to its packet, prints its result as JSON and holds the
// connections until its input ends.
func runHJ212Load(args []string) int {
	fs := flag.NewFlagSet("bench hj212-load", flag.ContinueOnError)
	addr := fs.String("addr", "", "gateway address (loopback only)")
	conns := fs.Int("conns", 5000, "devices")
	rate := fs.Float64("rate", 2000, "packets/s over all devices")
	duration := fs.Duration("duration", 30*time.Second, "load duration")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	host, _, err := net.SplitHostPort(*addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() || *duration > 60*time.Second {
		fmt.Fprintln(os.Stderr, "bench hj212-load: --addr must be a loopback address and --duration at most 60 s")
		return 2
	}
	if _, err := raiseFDLimit(uint64(*conns) + 100); err != nil {
		fmt.Fprintf(os.Stderr, "bench hj212-load: %v\n", err)
		return 1
	}
	devs := make([]net.Conn, *conns)
	var dialErr atomic.Value
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range devs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", *addr, 10*time.Second)
			if err != nil {
				dialErr.Store(err)
				return
			}
			devs[i] = c
		}()
	}
	wg.Wait()
	if err, _ := dialErr.Load().(error); err != nil {
		fmt.Fprintf(os.Stderr, "bench hj212-load: connect: %v\n", err)
		return 1
	}
	fmt.Println("READY")
	in := bufio.NewReader(os.Stdin)
	if l, err := in.ReadString('\n'); err != nil || l != "GO\n" {
		return 1
	}

	var sent, replies, bad, failed atomic.Int64
	lat := make([][]float64, *conns)
	period := time.Duration(float64(*conns) / *rate * float64(time.Second))
	start := time.Now()
	end := start.Add(*duration)
	for i, c := range devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			r := bufio.NewReaderSize(c, 256)
			next := start.Add(time.Duration(rng.Int64N(int64(period))))
			for seq := 0; ; seq++ {
				if next.After(end) {
					return
				}
				time.Sleep(time.Until(next))
				next = next.Add(period)
				now := time.Now()
				p := hj212.Packet{QN: hj212.FormatQN(now), ST: "32", CN: hj212.CNRealtime, PW: hj212BenchPW, MN: benchMN(i),
					Flag: 5, HasFlag: true, CP: fmt.Sprintf("DataTime=%s;w00000-Rtd=%.2f,w00000-Flag=N;w01018-Rtd=%.1f,w01018-Flag=N;w21003-Rtd=%.2f,w21003-Flag=N;w01001-Rtd=7.%d,w01001-Flag=N",
						hj212.FormatTime(now), 10+rng.Float64()*10, 30+rng.Float64()*20, rng.Float64()*2, rng.IntN(10))}
				b, _ := hj212.Build(p)
				// Bounded: an answer later than 10 s after the end of the load is not waited for.
				deadline := now.Add(30 * time.Second)
				if last := end.Add(10 * time.Second); last.Before(deadline) {
					deadline = last
				}
				c.SetDeadline(deadline)
				if _, err := c.Write(b); err != nil {
					failed.Add(1)
					return
				}
				sent.Add(1)
				line, err := r.ReadSlice('\n')
				if err != nil {
					failed.Add(1)
					return
				}
				ms := float64(time.Since(now).Microseconds()) / 1000
				if a, err := hj212.Parse(line); err != nil || a.CN != hj212.CNDataReply || a.QN != p.QN || a.MN != p.MN {
					bad.Add(1)
					continue
				}
				replies.Add(1)
				lat[i] = append(lat[i], ms)
			}
		}()
	}
	wg.Wait()
	var all []float64
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Float64s(all)
	out, _ := json.Marshal(hj212LoadResult{Sent: sent.Load(), Replies: replies.Load(), BadReplies: bad.Load(), Errors: failed.Load(),
		P50Ms: percentile(all, 0.5), P99Ms: percentile(all, 0.99), MaxMs: percentile(all, 1)})
	fmt.Println(string(out))
	in.ReadString('\n') // hold the connections until the gateway has been measured
	for _, c := range devs {
		c.Close()
	}
	return 0
}
