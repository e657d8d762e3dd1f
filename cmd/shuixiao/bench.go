package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
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

	paho "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/broker"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

func init() {
	register("bench", "measure the platform: bench ingest", runBench)
}

func runBench(args []string) int {
	if len(args) == 0 || args[0] != "ingest" {
		fmt.Fprintln(os.Stderr, "usage: shuixiao bench ingest [--meters N] [--duration D] [--inflight W]")
		return 2
	}
	fs := flag.NewFlagSet("bench ingest", flag.ContinueOnError)
	meters := fs.Int("meters", 1000, "simulated meters, each its own MQTT client")
	duration := fs.Duration("duration", 60*time.Second, "measured load duration")
	inflight := fs.Int("inflight", 16, "unacknowledged publishes per meter")
	target := fs.Float64("presign-rate", 30000, "readings/s to pre-sign for (the pool bounds the run)")
	keep := fs.Bool("keep", false, "keep the server's data directory")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	res, err := benchIngest(*meters, *duration, *inflight, *target, *keep)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench ingest: %v\n", err)
		return 1
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	return 0
}

type ingestResult struct {
	Meters        int     `json:"meters"`
	DurationS     float64 `json:"duration_s"`
	Acked         int64   `json:"acked"`
	Failed        int64   `json:"failed"`
	ReadingsPerS  float64 `json:"readings_per_s"`
	P50AckMs      float64 `json:"p50_ack_ms"`
	P99AckMs      float64 `json:"p99_ack_ms"`
	MaxAckMs      float64 `json:"max_ack_ms"`
	VerifyPerS    float64 `json:"verify_per_s"`
	VerifyPerCore float64 `json:"verify_per_core_s"`
	Ratio         float64 `json:"readings_per_verify"`
	RSSMB         float64 `json:"rss_mb"`
	LedgerSize    uint64  `json:"ledger_size"`
	Consistent    bool    `json:"ledger_holds_every_ack"`
	Cores         int     `json:"cores"`
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

func benchIngest(nMeters int, duration time.Duration, inflight int, target float64, keep bool) (*ingestResult, error) {
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
	cmd := exec.Command(self, "serve", "--data", filepath.Join(dir, "data"), "--http", httpAddr, "--mqtt", mqttAddr)
	cmd.Env = append(os.Environ(), "SHUIXIAO_ADMIN_TOKEN="+token)
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
	fmt.Fprintf(os.Stderr, "server pid %d up; registering %d meters…\n", cmd.Process.Pid, nMeters)
	ms, err := benchRegister(c, nMeters)
	if err != nil {
		return nil, err
	}
	perMeter := int(target*duration.Seconds()/float64(nMeters)) + 2*inflight
	fmt.Fprintf(os.Stderr, "pre-signing %d readings (%d per meter) so the load generator does not compete with the server for CPU…\n", perMeter*nMeters, perMeter)
	presign(ms, perMeter)
	fmt.Fprintln(os.Stderr, "measuring raw Ed25519 verification…")
	vTotal, vCore := verifyRate(3 * time.Second)

	fmt.Fprintf(os.Stderr, "connecting %d MQTT clients…\n", nMeters)
	clients := make([]paho.Client, len(ms))
	for i, m := range ms {
		opts := paho.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID("bench-" + m.id).
			SetUsername(m.id).SetPassword(m.password).SetProtocolVersion(4).SetAutoReconnect(false).
			SetMaxResumePubInFlight(inflight).SetWriteTimeout(30 * time.Second).SetOrderMatters(false)
		cl := paho.NewClient(opts)
		if tok := cl.Connect(); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
			return nil, fmt.Errorf("connect %s: %v", m.id, tok.Error())
		}
		clients[i] = cl
	}
	defer func() {
		for _, cl := range clients {
			cl.Disconnect(50)
		}
	}()

	fmt.Fprintf(os.Stderr, "publishing for %s…\n", duration)
	var acked, failed atomic.Int64
	lat := make([][]float64, len(ms))
	stop := time.Now().Add(duration)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range ms {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			m, cl := ms[i], clients[i]
			type pending struct {
				tok paho.Token
				at  time.Time
			}
			window := make([]pending, 0, inflight)
			collect := func(p pending) {
				if !p.tok.WaitTimeout(60*time.Second) || p.tok.Error() != nil {
					failed.Add(1)
					return
				}
				acked.Add(1)
				lat[i] = append(lat[i], float64(time.Since(p.at).Microseconds())/1000)
			}
			for _, msg := range m.signed {
				if time.Now().After(stop) {
					break
				}
				if len(window) == inflight {
					collect(window[0])
					window = window[1:]
				}
				window = append(window, pending{tok: cl.Publish(broker.ReadingsPrefix+m.id, 1, false, msg), at: time.Now()})
			}
			for _, p := range window {
				collect(p)
			}
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []float64
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Float64s(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return all[min(len(all)-1, int(p*float64(len(all))))]
	}
	res := &ingestResult{Meters: nMeters, DurationS: elapsed.Seconds(), Acked: acked.Load(), Failed: failed.Load(),
		ReadingsPerS: float64(acked.Load()) / elapsed.Seconds(), P50AckMs: pct(0.50), P99AckMs: pct(0.99), MaxAckMs: pct(1),
		VerifyPerS: vTotal, VerifyPerCore: vCore, Cores: runtime.NumCPU()}
	res.Ratio = res.ReadingsPerS / res.VerifyPerS
	res.RSSMB = peakRSS(cmd.Process.Pid)
	if h, err := c.health(); err == nil {
		res.LedgerSize = h
		res.Consistent = h >= uint64(res.Acked)+uint64(nMeters)
	}
	return res, nil
}

// peakRSS reads a process's peak resident set (VmHWM) in MB.
func peakRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

type benchMeter struct {
	id, password string
	signer       note.Signer
	point        string
	signed       [][]byte
}

func presign(ms []*benchMeter, n int) {
	var wg sync.WaitGroup
	work := make(chan *benchMeter)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range work {
				var prev reading.Hash
				t := time.Now()
				m.signed = make([][]byte, 0, n)
				for seq := 1; seq <= n; seq++ {
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

func benchRegister(c *apiClient, n int) ([]*benchMeter, error) {
	if err := c.post("/api/v1/parks", meter.Park{ID: "BENCH-PARK", Name: "基准测试园区", Region: "430100"}, nil); err != nil {
		return nil, err
	}
	if err := c.post("/api/v1/enterprises", meter.Enterprise{ID: "BENCH-ENT", Name: "基准测试企业", Park: "BENCH-PARK", Region: "430100", Industry: "3120"}, nil); err != nil {
		return nil, err
	}
	var chans []meter.Channel
	for _, name := range []string{"total_m3", "flow_m3h", "pressure_mpa", "temp_c"} {
		ch, _ := meter.StandardChannel(name)
		chans = append(chans, ch)
	}
	ms := make([]*benchMeter, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range ms {
		id := fmt.Sprintf("BM%05d", i)
		skey, vkey, err := note.GenerateKey(rand.Reader, meter.KeyName(id))
		if err != nil {
			return nil, err
		}
		signer, _ := note.NewSigner(skey)
		m := &benchMeter{id: id, password: "pw-" + id + "-" + strconv.Itoa(i*7919), signer: signer, point: "BP" + id[2:]}
		ms[i] = m
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			pt := meter.Point{ID: m.point, Enterprise: "BENCH-ENT", Name: "基准计量点 " + id, Level: meter.Level3, Stage: meter.StageUse, Parent: "", Channels: chans}
			if err := c.post("/api/v1/points", pt, nil); err != nil {
				errs <- err
				return
			}
			body := map[string]any{"id": id, "point": m.point, "key": vkey, "signed": "meter", "interval_s": 60, "mqtt_password": m.password}
			if err := c.post("/api/v1/meters", body, nil); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return ms, nil
}
