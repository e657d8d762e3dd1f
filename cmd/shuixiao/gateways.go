package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/shuixiao/shuixiao/cjt188"
	"github.com/shuixiao/shuixiao/hj212"
	"github.com/shuixiao/shuixiao/internal/api"
	"github.com/shuixiao/shuixiao/internal/gateway"
	"github.com/shuixiao/shuixiao/internal/gateway/hj212gw"
	"github.com/shuixiao/shuixiao/internal/gateway/modbusgw"
	"github.com/shuixiao/shuixiao/internal/gateway/sl651gw"
	"github.com/shuixiao/shuixiao/internal/gateway/szy206gw"
	"github.com/shuixiao/shuixiao/internal/registry"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/szy206"
)

// gatewayConfig is the protocol gateways' configuration, shared by serve
// and edge: the listeners (each off unless given), the Modbus register map
// and the gateway's identity.
type gatewayConfig struct {
	ID                   string
	HJ212, SL651, SZY206 string // listen addresses
	Modbus               string // register-map JSON file (internal/gateway/modbusgw)
	// Enable runs the gateway (key, archive, push endpoint) without listeners.
	Enable bool
}

func (g *gatewayConfig) declare(fs *flag.FlagSet, defaultID string) {
	fs.StringVar(&g.ID, "gateway-id", defaultID, "this gateway's ID: its key signs legacy devices' readings (gateway/<ID>) and is registered on the ledger")
	fs.StringVar(&g.HJ212, "hj212", "", "HJ 212-2017 TCP listen address (off unless given)")
	fs.StringVar(&g.SL651, "sl651", "", "SL 651-2014 TCP listen address (off unless given)")
	fs.StringVar(&g.SZY206, "szy206", "", "SZY 206-2016 TCP listen address (off unless given)")
	fs.StringVar(&g.Modbus, "modbus", "", "Modbus TCP register map (JSON file): poll its devices")
}

// on reports whether any gateway part runs.
func (g gatewayConfig) on() bool {
	return g.Enable || g.HJ212 != "" || g.SL651 != "" || g.SZY206 != "" || g.Modbus != ""
}

// protocolServers are a gateway's running listeners and poller.
type protocolServers struct {
	hj212  *hj212gw.Server
	sl651  *sl651gw.Server
	szy206 *szy206gw.Server
	modbus *modbusgw.Poller
	addrs  map[string]string
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startProtocolServers listens on every address given (all of them before
// anything is served, so an address in use is reported first) and serves
// each protocol's devices into sink.
func startProtocolServers(g gatewayConfig, devices gateway.Devices, sink gateway.Sink, log *slog.Logger) (*protocolServers, error) {
	p := &protocolServers{addrs: map[string]string{}}
	lns := map[string]net.Listener{}
	fail := func(err error) (*protocolServers, error) {
		for _, ln := range lns {
			ln.Close()
		}
		return nil, err
	}
	for proto, addr := range map[string]string{gateway.ProtocolHJ212: g.HJ212, gateway.ProtocolSL651: g.SL651, gateway.ProtocolSZY206: g.SZY206} {
		if addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fail(fmt.Errorf("%s 监听失败 / %s listen on %s: %w (choose another with --%s)", proto, proto, addr, err, proto))
		}
		lns[proto] = ln
		p.addrs[proto] = ln.Addr().String()
	}
	var cfg modbusgw.Config
	if g.Modbus != "" {
		b, err := os.ReadFile(g.Modbus)
		if err != nil {
			return fail(fmt.Errorf("modbus register map: %w", err))
		}
		if cfg, err = modbusgw.ParseConfig(b); err != nil {
			return fail(fmt.Errorf("modbus register map %s: %w", g.Modbus, err))
		}
	}
	serve := func(name string, ln net.Listener, srv interface{ Serve(net.Listener) error }) {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
				log.Error("protocol server stopped", "protocol", name, "error", err)
			}
		}()
	}
	if ln := lns[gateway.ProtocolHJ212]; ln != nil {
		p.hj212 = hj212gw.New(hj212gw.Config{}, devices, sink, log.With("part", "hj212"))
		serve(gateway.ProtocolHJ212, ln, p.hj212)
	}
	if ln := lns[gateway.ProtocolSL651]; ln != nil {
		p.sl651 = sl651gw.New(sl651gw.Config{}, devices, sink, log.With("part", "sl651"))
		serve(gateway.ProtocolSL651, ln, p.sl651)
	}
	if ln := lns[gateway.ProtocolSZY206]; ln != nil {
		p.szy206 = szy206gw.New(szy206gw.Config{}, devices, sink, log.With("part", "szy206"))
		serve(gateway.ProtocolSZY206, ln, p.szy206)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	if g.Modbus != "" {
		poller, err := modbusgw.New(cfg, sink, log.With("part", "modbus"))
		if err != nil {
			cancel()
			p.Close()
			return nil, fmt.Errorf("modbus: %w", err)
		}
		p.modbus = poller
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			_ = poller.Run(ctx)
		}()
	}
	return p, nil
}

// Close stops every server and the poller and waits for them.
func (p *protocolServers) Close() {
	if p == nil {
		return
	}
	if p.cancel != nil {
		p.cancel()
	}
	if p.hj212 != nil {
		p.hj212.Close()
	}
	if p.sl651 != nil {
		p.sl651.Close()
	}
	if p.szy206 != nil {
		p.szy206.Close()
	}
	p.wg.Wait()
}

// Stats are the servers' counters by protocol.
func (p *protocolServers) Stats() map[string]any {
	out := map[string]any{}
	if p == nil {
		return out
	}
	if p.hj212 != nil {
		out[gateway.ProtocolHJ212] = p.hj212.Stats()
	}
	if p.sl651 != nil {
		out[gateway.ProtocolSL651] = p.sl651.Stats()
	}
	if p.szy206 != nil {
		out[gateway.ProtocolSZY206] = p.szy206.Stats()
	}
	if p.modbus != nil {
		out[gateway.ProtocolModbus] = p.modbus.Stats()
	}
	return out
}

// pushDecoders decode raw frames an NB-IoT platform pushes, per protocol.
func pushDecoders() map[string]gateway.Decoder {
	return map[string]gateway.Decoder{
		gateway.ProtocolHJ212: func(raw []byte) (gateway.Frame, error) {
			p, err := hj212.Parse(raw)
			if err != nil {
				return gateway.Frame{}, err
			}
			if !hj212.IsData(p.CN) {
				return gateway.Frame{}, fmt.Errorf("CN %s carries no data", p.CN)
			}
			if p.PNUM > 1 {
				return gateway.Frame{}, fmt.Errorf("packet %d of %d: push a split message's packets over TCP", p.PNO, p.PNUM)
			}
			d, err := hj212.ParseData(p.CP)
			if err != nil {
				return gateway.Frame{}, err
			}
			return gateway.Frame{Device: p.MN, Time: d.Time, Period: gateway.HJ212Period(p.CN), Values: d.Values, Flags: d.Flags}, nil
		},
		gateway.ProtocolSZY206: func(raw []byte) (gateway.Frame, error) {
			f, err := szy206.Parse(raw)
			if err != nil {
				return gateway.Frame{}, err
			}
			if f.AFN != szy206.AFNSelfRT {
				return gateway.Frame{}, fmt.Errorf("AFN %02X is no self-report", f.AFN)
			}
			r, err := szy206.DecodeReport(f, szy206.Options{}, time.Now())
			if err != nil {
				return gateway.Frame{}, err
			}
			out := gateway.Frame{Device: f.Address.String(), Time: r.Time, Values: map[string]float64{}}
			for _, v := range r.Values {
				if !v.Missing {
					out.Values[v.Name] = v.Value
				}
			}
			return out, nil
		},
		gateway.ProtocolCJT188: decodeCJT188,
	}
}

// decodeCJT188 decodes a CJ/T 188 read-metering-data reply (C 81H, DI 90 1F)
// a water meter's NB-IoT platform pushes: the device is the meter's 14-digit
// address, the values total_m3 and settlement_m3, the time the meter's clock
// states, or the receive time when the meter sent none (all zeros).
func decodeCJT188(raw []byte) (gateway.Frame, error) {
	f, err := cjt188.Parse(raw)
	if err != nil {
		return gateway.Frame{}, err
	}
	if f.Control != cjt188.CtrlReadData|cjt188.CtrlReply {
		return gateway.Frame{}, fmt.Errorf("control %02XH is no read-data reply (81H)", f.Control)
	}
	if !f.Address.IsBCD() {
		return gateway.Frame{}, fmt.Errorf("address %s is not a meter's", f.Address)
	}
	d, err := cjt188.DecodeMeterData(f.Data)
	if err != nil {
		return gateway.Frame{}, err
	}
	values, err := d.Values()
	if err != nil {
		return gateway.Frame{}, err
	}
	at := d.Time
	if at.IsZero() {
		at = time.Now()
	}
	return gateway.Frame{Device: f.Address.String(), Time: at, Values: values}, nil
}

// serverGateway is the server's own protocol gateway.
type serverGateway struct {
	sink    *gateway.SigningSink
	servers *protocolServers
	archive *gateway.Archive
	api     api.Gateways
}

// openGateway starts the server's gateway: its key (DATA/gateway/ID.key,
// registered on the ledger on first start), its raw-frame archive
// (DATA/gateway/frames), the signing sink fed by the protocol servers, and
// the push endpoint.
func (s *server) openGateway(ctx context.Context, states []store.MeterState) error {
	g := s.cfg.Gateways
	log := s.cfg.Logger.With("part", "gateway", "gateway", g.ID)
	dir := filepath.Join(s.cfg.Data, "gateway")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("gateway directory: %w", err)
	}
	signer, vkey, err := gateway.LoadOrCreateKey(filepath.Join(dir, g.ID+".key"), g.ID)
	if err != nil {
		return err
	}
	switch old, err := s.store.Gateway(ctx, g.ID); {
	case errors.Is(err, store.ErrNotFound):
		reg := &registry.Meters{Store: s.store, Ledger: s.ledger, Ingest: s.pipeline, Devices: s.devices, Now: time.Now}
		if _, idx, err := reg.RegisterGateway(ctx, registry.GatewayRegistration{ID: g.ID, Key: vkey}); err != nil {
			return fmt.Errorf("register gateway %s: %w", g.ID, err)
		} else {
			log.Info("网关密钥已登记在账本上 / gateway key registered on the ledger", "index", idx)
		}
	case err != nil:
		return err
	case old.Revoked:
		return fmt.Errorf("网关 %s 的密钥已被吊销 / the key of gateway %s was revoked: start with another --gateway-id", g.ID, g.ID)
	case old.Key != vkey:
		return fmt.Errorf("网关 %s 已登记另一把密钥 / gateway %s is registered with another key than %s", g.ID, g.ID, filepath.Join(dir, g.ID+".key"))
	}
	archive, err := gateway.OpenArchive(filepath.Join(dir, "frames"))
	if err != nil {
		return err
	}
	sink, err := gateway.NewSigningSink(gateway.SinkOptions{Gateway: g.ID, Signer: signer, Registry: s.store, Archive: archive,
		Submit: gateway.PipelineSubmitter{Pipeline: s.pipeline}, Logger: log})
	if err != nil {
		archive.Close()
		return err
	}
	// The store knows what reached the ledger even if the archive was lost.
	for _, ms := range states {
		if d, ok := s.dir.Get(ms.Meter); ok && d.Gateway == g.ID {
			sink.Seed(ms.Meter, ms.Seq, ms.Hash)
		}
	}
	servers, err := startProtocolServers(g, sink, sink, log)
	if err != nil {
		archive.Close()
		return err
	}
	mappings := &gateway.Mappings{Store: s.store, OnChange: sink.Invalidate}
	s.gateway = &serverGateway{sink: sink, servers: servers, archive: archive, api: api.Gateways{
		Mappings: mappings,
		Pusher:   &gateway.Pusher{Mappings: mappings, Sink: sink, Decoders: pushDecoders()},
		Stats: func() any {
			out := servers.Stats()
			out["gateway"] = g.ID
			out["sink"] = sink.Stats()
			return out
		},
	}}
	for proto, addr := range servers.addrs {
		log.Info("协议网关监听中 / protocol gateway listening", "protocol", proto, "addr", addr)
	}
	return nil
}

// close stops the protocol servers (before the pipeline they feed).
func (g *serverGateway) close() {
	if g == nil {
		return
	}
	g.servers.Close()
	g.archive.Close()
}

// apiGateways is what the API serves of the gateway.
func (s *server) apiGateways() api.Gateways {
	if s.gateway == nil {
		return api.Gateways{}
	}
	return s.gateway.api
}

// GatewayAddr is where a protocol's server listens ("" when off).
func (s *server) GatewayAddr(protocol string) string {
	if s.gateway == nil {
		return ""
	}
	return s.gateway.servers.addrs[protocol]
}
