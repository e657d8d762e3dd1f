package main

import (
	"bufio"
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
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// benchSplit is bench ingest against bus mode: the server split into
// Edges edge processes and one sequencer, on Store and NATS.
type benchSplit struct {
	Store string // --store of every process ("" SQLite in the sequencer's data directory)
	NATS  string // nats://… or embedded (the sequencer runs it)
	Edges int
	// Profile, when set, is a directory the bench writes CPU profiles of
	// the measured period into: sequencer.pprof (or server.pprof) and
	// edgeN.pprof, taken through each process's SHUIXIAO_PPROF listener,
	// and client.pprof of the load generator itself.
	Profile string
	// GoMaxProcs, when > 0, is GOMAXPROCS of every process the bench runs:
	// the load generator, the server or sequencer and the edges. Go's
	// default gives each process as many Ps as the machine has cores; with
	// three busy processes on two cores their idle Ps spin looking for
	// work, which is CPU the readings do not need.
	GoMaxProcs int

	natsURL string   // what the edges connect to
	pprof   []string // SHUIXIAO_PPROF address of each edge
	edges   []*exec.Cmd
	mqtt    []string
}

func benchSplitFlags(fs *flag.FlagSet) *benchSplit {
	b := &benchSplit{}
	fs.StringVar(&b.Store, "store", "", "store of the server: postgres://USER@HOST:PORT/DB, into a fresh schema of the run's own (pg_schema; dropped at the end unless --keep; a schema parameter is ignored), or by default SQLite in its data directory")
	fs.StringVar(&b.NATS, "nats", "", "bus mode: nats://HOST:PORT, or embedded for a NATS server in the sequencer process; the server is then split into --edges edge processes and one sequencer")
	fs.IntVar(&b.Edges, "edges", 1, "edge processes in bus mode")
	fs.IntVar(&b.GoMaxProcs, "gomaxprocs", 0, "GOMAXPROCS of every process the bench runs, load generator included (0: Go's default, one per core)")
	fs.StringVar(&b.Profile, "profile", "", "write CPU profiles of the measured period of every server process and of the load generator into this directory (server.pprof or sequencer.pprof, edgeN.pprof, client.pprof)")
	return b
}

func (b *benchSplit) bus() bool { return b.NATS != "" }

// applyProcs sets GOMAXPROCS of this process and, through the
// environment they inherit, of the processes it starts.
func (b *benchSplit) applyProcs() error {
	if b.GoMaxProcs < 0 {
		return fmt.Errorf("--gomaxprocs %d: want 0 (Go's default) or more", b.GoMaxProcs)
	}
	if b.GoMaxProcs > 0 {
		runtime.GOMAXPROCS(b.GoMaxProcs)
		return os.Setenv("GOMAXPROCS", strconv.Itoa(b.GoMaxProcs))
	}
	return nil
}

// sequencerArgs are the arguments of the server process besides --data,
// --http and --mqtt.
func (b *benchSplit) sequencerArgs(dir string) ([]string, error) {
	var args []string
	if b.Store != "" {
		args = append(args, "--store", b.Store)
	}
	if !b.bus() {
		return args, nil
	}
	if b.Edges < 1 {
		return nil, fmt.Errorf("--edges %d: want at least 1", b.Edges)
	}
	b.natsURL = b.NATS
	if b.NATS == "embedded" {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		b.natsURL = "nats://" + addr
		return append(args, "--role", roleSequencer, "--nats", "embedded:"+filepath.Join(dir, "nats"), "--nats-listen", addr), nil
	}
	return append(args, "--role", roleSequencer, "--nats", b.NATS), nil
}

// startEdges starts the edge processes on the sequencer's store once the
// meters are registered (an edge loads keys and passwords at start).
func (b *benchSplit) startEdges(self, dir, token string) error {
	for i := 0; i < b.Edges; i++ {
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		args := []string{"serve", "--role", roleEdge, "--nats", b.natsURL, "--data", filepath.Join(dir, "data"), "--mqtt", addr, "--mqtt-publish-rate", "0"}
		if b.Store != "" {
			args = append(args, "--store", b.Store)
		}
		cmd := exec.Command(self, args...)
		cmd.Env = append(os.Environ(), "SHUIXIAO_ADMIN_TOKEN="+token)
		if b.Profile != "" {
			pa, err := freeAddr()
			if err != nil {
				return err
			}
			cmd.Env = append(cmd.Env, "SHUIXIAO_PPROF="+pa)
			b.pprof = append(b.pprof, pa)
		}
		logf, _ := os.Create(filepath.Join(dir, fmt.Sprintf("edge%d.log", i)))
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			return err
		}
		b.edges = append(b.edges, cmd)
		b.mqtt = append(b.mqtt, addr)
	}
	// An edge loads every meter's key before it listens: a province's
	// half a million take minutes on a busy machine.
	for i, addr := range b.mqtt {
		if err := waitListening(addr, 15*time.Minute); err != nil {
			logPath := filepath.Join(dir, fmt.Sprintf("edge%d.log", i))
			tail, _ := os.ReadFile(logPath)
			tail = tail[max(0, len(tail)-2000):]
			return fmt.Errorf("edge %d did not start (log in %s): %w\n%s", i, logPath, err, tail)
		}
	}
	return nil
}

// mqttAddr is where meter i connects: an edge in bus mode, else the server.
func (b *benchSplit) mqttAddr(i int, server string) string {
	if len(b.mqtt) == 0 {
		return server
	}
	return b.mqtt[i%len(b.mqtt)]
}

// edgeCPU is the CPU time of the edge processes so far.
func (b *benchSplit) edgeCPU() time.Duration {
	var d time.Duration
	for _, c := range b.edges {
		d += processCPU(c.Process.Pid)
	}
	return d
}

func (b *benchSplit) stop() {
	for _, c := range b.edges {
		c.Process.Signal(syscall.SIGTERM)
	}
	for _, c := range b.edges {
		done := make(chan struct{})
		go func() { c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			c.Process.Kill()
		}
	}
}

// profile takes CPU profiles of d from the server (its profiler at
// serverPprof) and every edge into b.Profile; wait for the returned
// function before reading them.
func (b *benchSplit) profile(serverPprof string, d time.Duration) (wait func()) {
	if b.Profile == "" {
		return func() {}
	}
	var wg sync.WaitGroup
	take := func(addr, name string) {
		defer wg.Done()
		hc := &http.Client{Timeout: d + 30*time.Second}
		resp, err := hc.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, int(d.Seconds())))
		if err != nil {
			fmt.Fprintf(os.Stderr, "profile %s: %v\n", name, err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(filepath.Join(b.Profile, name))
		if err != nil {
			fmt.Fprintf(os.Stderr, "profile %s: %v\n", name, err)
			return
		}
		defer f.Close()
		_, _ = io.Copy(f, resp.Body)
	}
	name := "server.pprof"
	if b.bus() {
		name = "sequencer.pprof"
	}
	wg.Add(1 + len(b.pprof))
	go take(serverPprof, name)
	for i, a := range b.pprof {
		go take(a, fmt.Sprintf("edge%d.pprof", i))
	}
	return wg.Wait
}

// profileClient starts a CPU profile of this load generator into
// b.Profile/client.pprof (with or without bus mode); the returned function
// stops it at the end of the measured period.
func (b *benchSplit) profileClient() (stop func(), err error) {
	if b.Profile == "" {
		return func() {}, nil
	}
	f, err := os.Create(filepath.Join(b.Profile, "client.pprof"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("profile the load generator: %w", err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			pprof.StopCPUProfile()
			f.Close()
		})
	}, nil
}

func waitListening(addr string, d time.Duration) error {
	var err error
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		var c net.Conn
		if c, err = net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
	}
	return err
}

// histogramQuantile reads a Prometheus histogram of the server and returns
// its q-quantile (linear inside the bucket, as histogram_quantile does).
func (c *apiClient) histogramQuantile(name string, q float64) float64 {
	req, err := http.NewRequest("GET", c.base+"/metrics", nil)
	if err != nil {
		return math.NaN()
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return math.NaN()
	}
	defer resp.Body.Close()
	type bucket struct{ le, n float64 }
	var bs []bucket
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	prefix := name + `_bucket{le="`
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		le, val, ok := strings.Cut(rest, `"} `)
		if !ok {
			continue
		}
		ub, err1 := strconv.ParseFloat(le, 64)
		n, err2 := strconv.ParseFloat(val, 64)
		if err1 == nil && err2 == nil {
			bs = append(bs, bucket{ub, n})
		}
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].le < bs[j].le })
	if len(bs) == 0 || bs[len(bs)-1].n == 0 {
		return math.NaN()
	}
	rank := q * bs[len(bs)-1].n
	lo, below := 0.0, 0.0
	for _, b := range bs {
		if b.n >= rank {
			if math.IsInf(b.le, 1) {
				return lo
			}
			if b.n == below {
				return b.le
			}
			return lo + (b.le-lo)*(rank-below)/(b.n-below)
		}
		lo, below = b.le, b.n
	}
	return lo
}
