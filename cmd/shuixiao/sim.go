package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/shuixiao/shuixiao/internal/localca"
	"github.com/shuixiao/shuixiao/internal/sim"
	"github.com/shuixiao/shuixiao/meter"
)

func init() {
	register("sim", "virtual Hunan province: signed meter readings over MQTT, fault injection / 虚拟湖南工业园区与企业仿真", runSim)
}

// listFlag collects a repeatable, comma-separated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func runSim(args []string) int {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	mqttAddr := fs.String("mqtt", "127.0.0.1:1883", "MQTT broker address of the server")
	api := fs.String("api", "http://127.0.0.1:8080", "server base URL")
	caFile := fs.String("ca", "", "CA certificate (PEM) to trust, e.g. DATA/tls/ca.pem of demo --tls: MQTT over TLS, and an https --api")
	token := fs.String("token", "", "admin token (default: $SHUIXIAO_ADMIN_TOKEN, then DIR/admin.token of --data)")
	enterprises := fs.Int("enterprises", 16, "number of simulated enterprises")
	rate := fs.Float64("rate", 0.1, "readings per second per meter")
	duration := fs.Duration("duration", 0, "stop after this long (0: until interrupted)")
	speed := fs.Float64("speed", 1, "run the production and weather patterns this many times faster (timestamps and volumes stay real)")
	seed := fs.Int64("seed", 1, "seed of the province and its noise")
	data := fs.String("data", "", "the server's data directory: admin token, ledger files for --inject tamper, simulator state in DIR/sim")
	state := fs.String("state", "", "simulator state directory (default DIR/sim of --data; none: keys from the seed, chains continue from the server)")
	ackLog := fs.String("ack-log", "", "append \"meter seq index\" for every acknowledged reading to this file")
	inflight := fs.Int("inflight", 1, "unacknowledged publishes per meter")
	parkNetwork := fs.Bool("park-network", true, "also simulate the supply network of the park with the most enterprises (leak monitoring; inject pipe-leak)")
	hj212Addr := fs.String("hj212", "", "the server's HJ 212 gateway (serve --hj212): discharge outfalls speak HJ 212-2017 and the gateway signs for them")
	szy206Addr := fs.String("szy206", "", "the server's SZY 206 gateway (serve --szy206): every third enterprise's intake meter speaks SZY 206-2016")
	gatewayID := fs.String("gateway-id", "GW-SERVER", "the server's gateway ID (serve --gateway-id), which signs the legacy devices' readings")
	plants := fs.Int("plants", 0, "enterprises with a simulated cooling tower and reuse train under the server's closed-loop control")
	plantSpeed := fs.Float64("plant-speed", 240, "the controlled plants' process runs this many times faster than real time")
	injectAfter := fs.Duration("inject-after", 15*time.Second, "warm-up before injections")
	statsEvery := fs.Duration("stats", time.Minute, "interval of progress lines (0: none)")
	list := fs.Bool("list", false, "print the province (parks, enterprises, metering points) and exit")
	asJSON := fs.Bool("json", false, "with --list: the whole province model as JSON")
	var inject listFlag
	fs.Var(&inject, "inject", "fault injection, repeatable or comma-separated: "+strings.Join(sim.Injections, ", "))
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: shuixiao sim --mqtt ADDR --api URL [--ca FILE] [--token T] [--enterprises N] [--rate R] [--duration D] [--inject KIND] [--ack-log FILE] [--seed S] [--data DIR] [--speed F]")
		fmt.Fprintln(fs.Output(), "虚拟湖南：按《湖南省工业水效提升三年行动方案》重点行业与园区生成企业用水系统，每块表以自己的密钥签名读数并经 MQTT 发布。")
		fmt.Fprintln(fs.Output(), "A virtual Hunan: enterprises of the plan's key industries in its parks, each meter signing its readings and publishing them over MQTT.")
		fmt.Fprintln(fs.Output(), "Injections: offline (meter stops), reset (totaliser to 0), replace (new meter and key, old revoked), leak (hidden leak between level-1 and level-2),")
		fmt.Fprintln(fs.Output(), "  replay (old reading again, and an old seq), forged-signature (wrong key / changed value), tamper (a digit changed in the ledger files, needs --data), skew (clock +30 min).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "sim: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	kinds, err := sim.ParseInjections(inject)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sim: %v\n", err)
		return 2
	}
	if *list {
		prov, err := sim.Generate(*seed, *enterprises)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sim: %v\n", err)
			return 1
		}
		if *asJSON {
			return printJSON(os.Stdout, prov)
		}
		printProvince(os.Stdout, prov)
		return 0
	}
	var ack io.Writer
	if *ackLog != "" {
		f, err := os.OpenFile(*ackLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sim: ack log: %v\n", err)
			return 1
		}
		defer f.Close()
		ack = f
	}
	stats := *statsEvery
	if stats == 0 {
		stats = -1
	}
	var simTLS *tls.Config
	if *caFile != "" {
		pool, err := localca.Pool(*caFile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sim: --ca: %v\n", err)
			return 2
		}
		simTLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	s, err := sim.New(sim.Config{MQTT: *mqttAddr, API: *api, TLS: simTLS, Token: *token, DataDir: *data, StateDir: *state,
		Enterprises: *enterprises, Rate: *rate, Duration: *duration, Speed: *speed, Seed: *seed,
		Inject: kinds, InjectAfter: *injectAfter, AckLog: ack, Log: os.Stderr, Inflight: *inflight, StatsEvery: stats, ParkNetwork: *parkNetwork,
		ProcessPlants: *plants, ProcessSpeed: *plantSpeed, HJ212: *hj212Addr, SZY206: *szy206Addr, Gateway: *gatewayID})
	if err != nil {
		fmt.Fprintf(os.Stderr, "%v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := s.Run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "%v\n", err)
		return 1
	}
	return 0
}

func printJSON(w io.Writer, prov *sim.Province) int {
	type point struct {
		meter.Point
		Meter  sim.MeterSpec `json:"meter"`
		Design float64       `json:"design_m3h"`
	}
	type enterprise struct {
		meter.Enterprise
		Archetype string  `json:"archetype"`
		Capacity  float64 `json:"capacity_per_day"`
		Unit      string  `json:"capacity_unit"`
		ReuseRate float64 `json:"design_reuse_rate"`
		IntakeM3h float64 `json:"design_intake_m3h"`
		Points    []point `json:"points"`
	}
	out := struct {
		Seed        int64          `json:"seed"`
		Parks       []meter.Park   `json:"parks"`
		Enterprises []enterprise   `json:"enterprises"`
		Regions     []meter.Region `json:"regions"`
	}{Seed: prov.Seed, Parks: prov.Parks, Regions: prov.Regions}
	for _, e := range prov.Enterprises {
		design := e.System.DesignFlows()
		ent := enterprise{Enterprise: e.Enterprise, Archetype: e.Archetype.Key, Capacity: e.System.Capacity,
			Unit: e.Archetype.Unit, ReuseRate: e.Archetype.ReuseRate, IntakeM3h: e.System.DesignIntake()}
		for _, pt := range e.Points {
			ent.Points = append(ent.Points, point{Point: pt.Point, Meter: pt.Meter, Design: pt.Spec.Flow(design)})
		}
		out.Enterprises = append(out.Enterprises, ent)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintf(os.Stderr, "sim: %v\n", err)
		return 1
	}
	return 0
}

func printProvince(w io.Writer, prov *sim.Province) {
	c := prov.Count()
	fmt.Fprintf(w, "虚拟湖南 / virtual Hunan, seed %d: %d 园区 parks, %d 企业 enterprises, %d 计量点/表 points and meters (一级 L1 %d, 二级 L2 %d, 三级 L3 %d)\n",
		prov.Seed, c.Parks, c.Enterprises, c.Points, c.ByLevel[meter.Level1], c.ByLevel[meter.Level2], c.ByLevel[meter.Level3])
	stages := make([]string, 0, len(c.ByStage))
	for s, n := range c.ByStage {
		stages = append(stages, fmt.Sprintf("%s %d", s, n))
	}
	sort.Strings(stages)
	fmt.Fprintf(w, "按环节 by stage: %s\n\n", strings.Join(stages, ", "))
	parks := map[string]meter.Park{}
	for _, p := range prov.Parks {
		parks[p.ID] = p
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "企业 ID\t名称 Name\t园区 Park\t行业 Industry\t产能 Capacity/d\t取水 Intake m³/h\t重复利用率 R\t表 Meters")
	for _, e := range prov.Enterprises {
		in, _ := meter.IndustryByCode(e.Industry)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s %s\t%g %s\t%.0f\t%.0f %%\t%d\n", e.ID, e.Name, parks[e.Park].Name, e.Industry, in.Name,
			e.System.Capacity, e.Archetype.Unit, e.System.DesignIntake(), 100*e.Archetype.ReuseRate, len(e.Points))
	}
	tw.Flush()
}
