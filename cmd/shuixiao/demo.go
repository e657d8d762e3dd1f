package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/shuixiao/shuixiao/sim"
)

func init() {
	register("demo", "run the platform with a simulated Hunan province feeding it", runDemo)
}

func runDemo(args []string) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	var cfg serverConfig
	serverFlags(fs, &cfg)
	enterprises := fs.Int("enterprises", 16, "simulated enterprises")
	rate := fs.Float64("rate", 0.2, "readings per second per simulated meter")
	speed := fs.Float64("speed", 60, "simulated production patterns run this many times faster than real time")
	seed := fs.Int64("seed", 1, "seed of the simulated province")
	verbose := fs.Bool("v", false, "verbose logging")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logOut := io.Writer(os.Stderr)
	cfg.Logger = newLogger(logOut, *verbose)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	s, err := openServer(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		return 1
	}
	simulator, err := sim.New(sim.Config{MQTT: s.broker.Addr(), API: s.URL(), Token: s.token, DataDir: cfg.Data,
		Enterprises: *enterprises, Rate: *rate, Speed: *speed, Seed: *seed, Log: os.Stderr, Inflight: 4})
	if err != nil {
		s.Close(context.Background())
		fmt.Fprintf(os.Stderr, "demo: simulator: %v\n", err)
		return 1
	}
	simDone := make(chan error, 1)
	go func() { simDone <- simulator.Run(ctx) }()
	fmt.Printf("\nshuixiao demo ready in %.1f s\n\n  控制台 Console:  %s/\n  管理员令牌 Admin token:  %s\n  MQTT:  %s   API: %s/api/v1/   Ledger: %s/ledger/checkpoint\n\n  Data in %s. Press Ctrl-C to stop.\n\n",
		time.Since(start).Seconds(), s.URL(), s.token, s.broker.Addr(), s.URL(), s.URL(), cfg.Data)
	select {
	case <-ctx.Done():
	case err := <-simDone:
		if err != nil && ctx.Err() == nil {
			fmt.Fprintf(os.Stderr, "demo: simulator stopped: %v\n", err)
		}
		<-ctx.Done()
	}
	fmt.Fprintln(os.Stderr, "shutting down…")
	stop()
	select {
	case <-simDone:
	case <-time.After(5 * time.Second):
	}
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.Close(cctx)
	return 0
}
