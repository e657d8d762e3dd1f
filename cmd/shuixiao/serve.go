package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/shuixiao/shuixiao/internal/broker"
	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/quotacase"
)

func init() {
	register("serve", "run the platform: MQTT broker, ledger, store, API and console", runServe)
}

// serverFlags declares the flags serve and demo share.
func serverFlags(fs *flag.FlagSet, cfg *serverConfig) {
	fs.StringVar(&cfg.Data, "data", "./shuixiao-data", "data directory (store, ledger, keys, admin token)")
	fs.StringVar(&cfg.HTTPAddr, "http", "127.0.0.1:8080", "HTTP listen address (API, console, ledger tiles)")
	fs.StringVar(&cfg.MQTTAddr, "mqtt", "127.0.0.1:1883", "MQTT listen address (meters)")
	fs.StringVar(&cfg.Store, "store", "", "store: empty for SQLite in the data directory, or postgres://USER@HOST:PORT/DB[?schema=NAME]")
	fs.StringVar(&cfg.WitnessPolicy, "witness-policy", "", "witness policy file: publish checkpoints only with k-of-n witness cosignatures")
	fs.StringVar(&cfg.Origin, "origin", "", "log origin on first start (default ledger.shuixiao.local/hunan-industrial-water/v1)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "PEM certificate (chain) file: serve HTTPS, and MQTT over TLS unless --mqtt-tls-cert is given")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "PEM private key file of --tls-cert")
	fs.StringVar(&cfg.MQTTTLSCert, "mqtt-tls-cert", "", "PEM certificate file for MQTT over TLS (default: --tls-cert)")
	fs.StringVar(&cfg.MQTTTLSKey, "mqtt-tls-key", "", "PEM private key file of --mqtt-tls-cert")
	fs.StringVar(&cfg.ReportFont, "report-font", "", "Chinese TrueType font (.ttf/.ttc) for PDF reports (default: searched in the usual system places)")
	fs.Uint64Var(&cfg.Admission.MaxSeqJump, "max-seq-jump", ingest.DefaultPolicy.MaxSeqJump, "refuse a reading whose seq is more than this above its meter's last admitted seq")
	fs.DurationVar(&cfg.Admission.MaxAhead, "max-ahead", ingest.DefaultPolicy.MaxAhead, "refuse a reading dated more than this ahead of the server's clock")
	fs.DurationVar(&cfg.Quota.Deadline, "quota-deadline", quotacase.DefaultDeadline, "time an enterprise over its water quota has to bring the product under it (retrofit case deadline)")
	fs.IntVar(&cfg.Quota.EvidenceMonths, "quota-evidence-months", quotacase.DefaultEvidenceMonths, "consecutive calendar months of metered intake per unit under the quota that close a retrofit case")
	cfg.Gateways.declare(fs, "GW-SERVER")
	fs.BoolVar(&cfg.Gateways.Enable, "gateway", false, "run the protocol gateway (key, frame archive, NB-IoT push endpoint) even without --hj212/--sl651/--szy206/--modbus")
	fs.IntVar(&cfg.MQTT.MaxClients, "mqtt-max-clients", broker.DefaultMaxClients, "most MQTT devices connected at once")
	fs.Func("mqtt-publish-rate", fmt.Sprintf("messages a second each device may publish after a burst of %d (0: no limit)", broker.DefaultPublishes.Burst),
		func(v string) error {
			r, err := strconv.ParseFloat(v, 64)
			switch {
			case err != nil || r < 0 || math.IsNaN(r) || math.IsInf(r, 0):
				return fmt.Errorf("want a rate ≥ 0, got %q", v)
			case r == 0:
				cfg.MQTT.Publishes = broker.Limit{Rate: -1}
			default:
				cfg.MQTT.Publishes = broker.Limit{Rate: r, Burst: max(broker.DefaultPublishes.Burst, int(10*r))}
			}
			return nil
		})
}

// defaultMemoryLimit is the Go runtime's soft memory limit unless
// GOMEMLIMIT says otherwise: the collector works harder near it instead of
// letting the heap double, which keeps a single-node server small.
const defaultMemoryLimit = 224 << 20

// defaultGCPercent lets the heap grow twice as far past the live data as Go's
// default before collecting, the memory limit above still capping it.
// Measured with bench ingest at 20,000 readings/s: half the collections,
// p50 190 → 100 ms and p99 490 → 370 ms, RSS 267 → 278 MB; 400 gained
// nothing more (the limit binds).
const defaultGCPercent = 200

// setMemoryLimit sets the runtime's soft memory limit to limit and its GC
// percent to defaultGCPercent, unless GOMEMLIMIT or GOGC say otherwise; the
// limit then follows the live heap (followLiveHeap), never binding under
// headroom times it.
func setMemoryLimit(limit, headroom int64) {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(limit)
		go followLiveHeap(limit, headroom, time.Second)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
}

func newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

func runServe(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var cfg serverConfig
	serverFlags(fs, &cfg)
	busFlags(fs, &cfg.Bus)
	verbose := fs.Bool("v", false, "verbose logging")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := cfg.Bus.check(); err != nil {
		fmt.Fprintf(os.Stderr, "serve: %v\n", err)
		return 2
	}
	cfg.Logger = newLogger(os.Stderr, *verbose)
	routeKlog(cfg.Logger)
	headroom, err := headroomOf(os.Getenv(headroomEnv), liveHeapHeadroom)
	if err != nil {
		fmt.Fprintf(os.Stderr, "serve: %v\n", err)
		return 2
	}
	setMemoryLimit(cfg.Bus.memoryLimit(), headroom)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	startProfiler(cfg.Logger)
	if cfg.Bus.Role == roleEdge {
		return serveEdge(ctx, cfg)
	}
	s, err := openServer(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "serve: %v\n", err)
		return 1
	}
	fmt.Printf("shuixiao %s serving\n  console  %s/\n  API      %s/api/v1/\n  MQTT     %s\n  ledger   %s/ledger/checkpoint\n  log key  %s\n  admin token in %s\n",
		version, s.URL(), s.URL(), s.MQTTAddr(), s.URL(), s.ledger.VerifierKey(), adminTokenPath(cfg))
	for _, proto := range []string{"hj212", "sl651", "szy206"} {
		if addr := s.GatewayAddr(proto); addr != "" {
			fmt.Printf("  %-8s %s (gateway %s)\n", proto, addr, cfg.Gateways.ID)
		}
	}
	if s.bus != nil {
		fmt.Printf("  role     sequencer, bus %s\n", s.bus.URL())
	}
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "shutting down…")
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.Close(cctx)
	return 0
}

func adminTokenPath(cfg serverConfig) string {
	if os.Getenv("SHUIXIAO_ADMIN_TOKEN") != "" {
		return "$SHUIXIAO_ADMIN_TOKEN"
	}
	return cfg.Data + "/" + adminTokenFile
}

// startProfiler serves net/http/pprof on $SHUIXIAO_PPROF (e.g.
// 127.0.0.1:6060) when it is set; profiles are for operators, never on by default.
func startProfiler(log *slog.Logger) {
	addr := os.Getenv("SHUIXIAO_PPROF")
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() {
		log.Info("profiler listening", "addr", addr)
		if err := http.ListenAndServe(addr, mux); err != nil {
			log.Error("profiler", "error", err)
		}
	}()
}
