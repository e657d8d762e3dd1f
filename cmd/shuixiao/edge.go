package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/shuixiao/shuixiao/internal/gateway"
)

func init() {
	register("edge", "run protocol gateways at an enterprise: sign legacy devices' readings and forward them over MQTT", runEdge)
}

// edgeConfig configures an edge box.
type edgeConfig struct {
	Gateways     gatewayConfig
	Data         string // key and frame archive
	Key          string // key file (default DATA/ID.key)
	Registry     string // devices, meters and points (gateway.LoadFileRegistry)
	MQTT         string // central broker
	MQTTPassword string
	Logger       *slog.Logger
}

// edgeBox is a running edge box.
type edgeBox struct {
	servers *protocolServers
	archive *gateway.Archive
	mqtt    *gateway.MQTTSubmitter
	sink    *gateway.SigningSink
	vkey    string
}

// openEdge starts an edge box: its key (created on first start; register
// its verifier key centrally with POST /api/v1/gateways, with an MQTT
// password), its frame archive, and the protocol servers, whose frames it
// signs and forwards to the central broker.
func openEdge(cfg edgeConfig) (*edgeBox, error) {
	g := cfg.Gateways
	if g.HJ212 == "" && g.SL651 == "" && g.SZY206 == "" && g.Modbus == "" {
		return nil, fmt.Errorf("没有要运行的网关 / nothing to run: give --hj212, --sl651, --szy206 or --modbus")
	}
	if cfg.Registry == "" || cfg.MQTT == "" {
		return nil, fmt.Errorf("--registry FILE and --mqtt ADDR are required")
	}
	if err := os.MkdirAll(cfg.Data, 0o750); err != nil {
		return nil, err
	}
	keyFile := cfg.Key
	if keyFile == "" {
		keyFile = filepath.Join(cfg.Data, g.ID+".key")
	}
	signer, vkey, err := gateway.LoadOrCreateKey(keyFile, g.ID)
	if err != nil {
		return nil, err
	}
	reg, err := gateway.LoadFileRegistry(cfg.Registry)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	archive, err := gateway.OpenArchive(filepath.Join(cfg.Data, "frames"))
	if err != nil {
		return nil, err
	}
	sub := &gateway.MQTTSubmitter{Broker: cfg.MQTT, Username: g.ID, Password: cfg.MQTTPassword}
	sink, err := gateway.NewSigningSink(gateway.SinkOptions{Gateway: g.ID, Signer: signer, Registry: reg, Archive: archive,
		Submit: sub, Logger: cfg.Logger})
	if err != nil {
		archive.Close()
		return nil, err
	}
	servers, err := startProtocolServers(g, sink, sink, cfg.Logger)
	if err != nil {
		archive.Close()
		return nil, err
	}
	return &edgeBox{servers: servers, archive: archive, mqtt: sub, sink: sink, vkey: vkey}, nil
}

// Close stops the servers, then the archive and the MQTT connection.
func (e *edgeBox) Close() {
	e.servers.Close()
	e.archive.Close()
	e.mqtt.Close()
}

func runEdge(args []string) int {
	fs := flag.NewFlagSet("edge", flag.ContinueOnError)
	var cfg edgeConfig
	cfg.Gateways.declare(fs, "")
	fs.StringVar(&cfg.Data, "data", "./shuixiao-edge", "data directory: the gateway key and the raw-frame archive")
	fs.StringVar(&cfg.Key, "key", "", "gateway key file (default DATA/<gateway-id>.key, created on first start)")
	fs.StringVar(&cfg.Registry, "registry", "", `JSON file of the devices' mappings and the meters and points they feed: {"devices":[…],"meters":[…],"points":[…]}`)
	fs.StringVar(&cfg.MQTT, "mqtt", "", "central MQTT broker, host:port or tcp://host:port")
	fs.StringVar(&cfg.MQTTPassword, "mqtt-password", os.Getenv("SHUIXIAO_EDGE_MQTT_PASSWORD"), "the gateway's MQTT password as registered centrally (default $SHUIXIAO_EDGE_MQTT_PASSWORD)")
	verbose := fs.Bool("v", false, "verbose logging")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if cfg.Gateways.ID == "" {
		fmt.Fprintln(os.Stderr, "edge: --gateway-id is required / 需要 --gateway-id")
		return 2
	}
	cfg.Logger = newLogger(os.Stderr, *verbose)
	e, err := openEdge(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "edge: %v\n", err)
		return 1
	}
	fmt.Printf("shuixiao edge %s: gateway %s\n  verifier key %s\n  (register it centrally: POST /api/v1/gateways {\"id\",\"key\",\"enterprise\",\"mqtt_password\"})\n  forwarding to %s\n",
		version, cfg.Gateways.ID, e.vkey, cfg.MQTT)
	for proto, addr := range e.servers.addrs {
		fmt.Printf("  %-8s %s\n", proto, addr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	e.Close()
	return 0
}
