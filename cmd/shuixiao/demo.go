package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/shuixiao/shuixiao/internal/broker"
	"github.com/shuixiao/shuixiao/internal/ledger"
	"github.com/shuixiao/shuixiao/internal/localca"
	"github.com/shuixiao/shuixiao/internal/sim"
)

func init() {
	register("demo", "run the platform with a simulated Hunan province feeding it", runDemo)
}

// demoAddrs are the addresses demo listens on unless --http and --mqtt
// name others.
type demoAddrs struct{ HTTP, MQTT string }

// demoDefaults are serve's defaults; demo moves off either when it is taken.
var demoDefaults = demoAddrs{HTTP: "127.0.0.1:8080", MQTT: "127.0.0.1:1883"}

func runDemo(args []string) int {
	setMemoryLimit(defaultMemoryLimit, liveHeapHeadroom)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal a second one ends the process at once.
	context.AfterFunc(ctx, stop)
	return demo(ctx, args, demoDefaults, os.Stdout, os.Stderr)
}

// demo runs the platform and the simulator until ctx ends. The console URL
// and the admin token are the first lines on stdout; log lines written while
// starting are held until they have been printed.
func demo(ctx context.Context, args []string, defaults demoAddrs, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	var cfg serverConfig
	serverFlags(fs, &cfg)
	cfg.HTTPAddr, cfg.MQTTAddr = defaults.HTTP, defaults.MQTT
	fs.Lookup("http").DefValue, fs.Lookup("mqtt").DefValue = defaults.HTTP, defaults.MQTT
	fs.Lookup("http").Usage += "; the default moves to a free port when taken"
	fs.Lookup("mqtt").Usage += "; the default moves to a free port when taken"
	enterprises := fs.Int("enterprises", 16, "simulated enterprises")
	rate := fs.Float64("rate", 0.2, "readings per second per simulated meter")
	speed := fs.Float64("speed", 60, "simulated production patterns run this many times faster than real time")
	seed := fs.Int64("seed", 1, "seed of the simulated province")
	witnesses := fs.Int("witnesses", 2, "local witnesses that must all cosign each checkpoint (0: none)")
	parkNetwork := fs.Bool("park-network", true, "also simulate the supply network of the park with the most enterprises (leak monitoring; inject pipe-leak)")
	parkSpeed := fs.Float64("park-speed", demoParkSpeed, "clock speed of the park network; its monitor calibrates on 3 of its days, which on a first start at this speed or faster its instruments upload as logged history")
	plants := fs.Int("plants", 1, "enterprises with a simulated cooling tower and reuse train under closed-loop control")
	plantSpeed := fs.Float64("plant-speed", 240, "the controlled plants' process runs this many times faster than real time")
	var inject listFlag
	fs.Var(&inject, "inject", "fault to inject into the simulation (repeatable or comma-separated), replacing the default story ("+strings.Join(demoStory, ", ")+"); none for no fault: "+strings.Join(sim.Injections, ", "))
	useTLS := fs.Bool("tls", false, "serve HTTPS and MQTT over TLS with a local CA kept in DATA/tls (the simulator trusts it; trust DATA/tls/ca.pem in a browser)")
	verbose := fs.Bool("v", false, "verbose logging")
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if cfg.MQTT.Publishes == (broker.Limit{}) && 2**rate > broker.DefaultPublishes.Rate {
		// The simulated meters must stay well inside their publish limit.
		cfg.MQTT.Publishes = broker.Limit{Rate: 2 * *rate, Burst: max(broker.DefaultPublishes.Burst, int(20**rate))}
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	kinds, err := demoInjections(inject, explicit["inject"])
	if err != nil {
		fmt.Fprintf(stderr, "demo: --inject: %v\n", err)
		return 2
	}
	httpAddr, err := chooseAddr("http", "HTTP", cfg.HTTPAddr, explicit["http"])
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 1
	}
	mqttAddr, err := chooseAddr("mqtt", "MQTT", cfg.MQTTAddr, explicit["mqtt"])
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 1
	}
	cfg.HTTPAddr, cfg.MQTTAddr = httpAddr.Addr, mqttAddr.Addr
	var simTLS *tls.Config
	if *useTLS {
		if simTLS, err = demoTLS(&cfg); err != nil {
			fmt.Fprintf(stderr, "demo: %v\n", err)
			return 1
		}
	}
	logOut := newHeldLog(stderr)
	defer logOut.Release()
	cfg.Logger = newLogger(logOut, *verbose)
	routeKlog(cfg.Logger)
	fail := func(format string, a ...any) int {
		logOut.Release()
		fmt.Fprintf(stderr, "demo: "+format+"\n", a...)
		return 1
	}
	start := time.Now()
	if *witnesses > 0 && cfg.WitnessPolicy == "" {
		policy, stopWitnesses, err := startDemoWitnesses(ctx, cfg, *witnesses)
		if err != nil {
			return fail("witnesses: %v", err)
		}
		defer stopWitnesses()
		cfg.WitnessPolicy = policy
	}
	s, err := openServer(ctx, cfg)
	if err != nil {
		return fail("%v", err)
	}
	// The simulator connects to the broker's bound address, whichever port
	// it got.
	simulator, err := sim.New(sim.Config{MQTT: s.broker.Addr(), API: s.URL(), TLS: simTLS, Token: s.token, DataDir: cfg.Data,
		Enterprises: *enterprises, Rate: *rate, Speed: *speed, Seed: *seed, Log: logOut, Inflight: 4, Inject: kinds, ParkNetwork: *parkNetwork, ParkSpeed: *parkSpeed, ParkHistory: true,
		ProcessPlants: *plants, ProcessSpeed: *plantSpeed, ReportOutput: true,
		// With --hj212/--szy206 the demo's legacy devices speak to the server's own gateways.
		HJ212: s.GatewayAddr("hj212"), SZY206: s.GatewayAddr("szy206"), Gateway: cfg.Gateways.ID})
	if err != nil {
		s.Close(context.Background())
		return fail("simulator: %v", err)
	}
	fmt.Fprintf(stdout, "  控制台 Console:  %s/\n  管理员令牌 Admin token:  %s\n\n", s.URL(), s.token)
	fmt.Fprintf(stdout, "shuixiao demo ready in %.1f s\n", time.Since(start).Seconds())
	for _, a := range []struct {
		what string
		la   listenAddr
	}{{"HTTP", httpAddr}, {"MQTT", mqttAddr}} {
		if a.la.Taken != "" {
			fmt.Fprintf(stdout, "  %s 默认地址 %s 已被占用，改用 %s / default %s address %s was in use, using %s\n",
				a.what, a.la.Taken, a.la.Addr, a.what, a.la.Taken, a.la.Addr)
		}
	}
	fmt.Fprintf(stdout, "  MQTT:  %s   API: %s/api/v1/   Ledger: %s/ledger/checkpoint\n  Data in %s. Press Ctrl-C to stop.\n\n",
		s.MQTTAddr(), s.URL(), s.URL(), cfg.Data)
	if *useTLS {
		fmt.Fprintf(stdout, "  本地CA证书 Local CA certificate (trust it to open the console without a warning): %s\n\n", localca.FilesIn(filepath.Join(cfg.Data, "tls")).CACert)
	}
	logOut.Release()
	simDone := make(chan error, 1)
	go func() { simDone <- simulator.Run(ctx) }()
	go demoQuotaReview(ctx, s.quota, start, *speed, cfg.Logger.With("part", "quota"))
	// Contract water saving (helper mv): a contract with a baseline year
	// and two reporting months over simulated history, two statements.
	go func() {
		select {
		case <-ctx.Done():
		case <-time.After(demoContractDelay):
			demoContract(ctx, s, simTLS, *seed, cfg.Logger.With("part", "contract"))
		}
	}()
	select {
	case <-ctx.Done():
	case err := <-simDone:
		if err != nil && ctx.Err() == nil {
			fmt.Fprintf(stderr, "demo: simulator stopped: %v\n", err)
		}
		<-ctx.Done()
	}
	fmt.Fprintln(stderr, "shutting down…")
	select {
	case <-simDone:
	case <-time.After(5 * time.Second):
	}
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.Close(cctx)
	return 0
}

// demoParkSpeed is the park network's default clock speed in the demo: 3
// network days in 6 real minutes, fast enough for its instruments to upload
// the leak monitor's calibration days as history younger than the skew
// limit (sim.Config.ParkHistory), so that the monitor watches within the
// first minute. Its instruments then report every 0.5 s.
const demoParkSpeed = 600

// demoStory is what a demo without --inject shows in its first minute,
// through the real paths: a pipe leak in the park network, opening as the
// monitor's calibration ends (alarm, leak candidates, work order); a meter
// sending readings under a wrong key and altered after signing (rejections,
// a critical alarm); a replayed reading (a rejection, a major alarm).
var demoStory = []string{"pipe-leak", "forged-signature", "replay"}

// demoInjections are the demo's fault injections: the given ones, none for
// "none", the demo story when --inject was not given.
func demoInjections(values []string, given bool) ([]string, error) {
	if !given {
		return demoStory, nil
	}
	if len(values) == 1 && strings.TrimSpace(values[0]) == "none" {
		return nil, nil
	}
	return sim.ParseInjections(values)
}

// demoTLS makes (or reuses) the local CA in DATA/tls, points cfg at its
// server certificate and returns the simulator's client configuration,
// which trusts that CA alone.
func demoTLS(cfg *serverConfig) (*tls.Config, error) {
	f, err := localca.Ensure(filepath.Join(cfg.Data, "tls"), time.Now())
	if err != nil {
		return nil, err
	}
	pool, err := localca.Pool(f.CACert)
	if err != nil {
		return nil, err
	}
	cfg.TLSCert, cfg.TLSKey = f.ServerCert, f.ServerKey
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// startDemoWitnesses runs n witnesses in this process, each with its own key
// and state under the data directory, and writes a policy that needs all of
// them. A real deployment runs witnesses at other parties (shuixiao witness).
func startDemoWitnesses(ctx context.Context, cfg serverConfig, n int) (policyFile string, stop func(), err error) {
	ledgerDir := filepath.Join(cfg.Data, "ledger")
	if err := os.MkdirAll(ledgerDir, 0o750); err != nil {
		return "", nil, err
	}
	// The witnesses must know the log key before the log publishes under
	// the policy: open the ledger once to create (or read) its key.
	lg, err := ledger.Open(ctx, ledger.Options{Dir: ledgerDir, Origin: cfg.Origin, Logger: cfg.Logger})
	if err != nil {
		return "", nil, err
	}
	logKey := lg.VerifierKey()
	if err := lg.Close(ctx); err != nil {
		return "", nil, err
	}
	var closers []func()
	stop = func() {
		for _, c := range closers {
			c()
		}
	}
	var b strings.Builder
	var names []string
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("witness.shuixiao.local/demo-%d", i)
		w, err := ledger.OpenWitness(ctx, ledger.WitnessOptions{Dir: filepath.Join(cfg.Data, fmt.Sprintf("witness-%d", i)), Name: name, LogKeys: []string{logKey}})
		if err != nil {
			stop()
			return "", nil, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			w.Close()
			stop()
			return "", nil, err
		}
		srv := &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		closers = append(closers, func() { srv.Close(); w.Close() })
		vkey := w.VerifierKey()
		alias := strings.SplitN(vkey, "+", 2)[0]
		fmt.Fprintf(&b, "witness %s %s http://%s\n", alias, vkey, ln.Addr())
		names = append(names, alias)
	}
	fmt.Fprintf(&b, "group demo %d %s\nquorum demo\n", n, strings.Join(names, " "))
	policyFile = filepath.Join(cfg.Data, "witness-policy.txt")
	if err := os.WriteFile(policyFile, []byte(b.String()), 0o640); err != nil {
		stop()
		return "", nil, err
	}
	return policyFile, stop, nil
}
