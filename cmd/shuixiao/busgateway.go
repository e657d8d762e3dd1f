package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/shuixiao/shuixiao/internal/bus"
	"github.com/shuixiao/shuixiao/internal/gateway"
	"github.com/shuixiao/shuixiao/internal/store"
)

// edgeGateway is the protocol gateway of an edge node (serve --role edge
// --gateway-id ID --hj212 ADDR …): the same servers and signing sink as in
// --role all, with readings submitted through the bus.
type edgeGateway struct {
	servers *protocolServers
	archive *gateway.Archive
	sink    *gateway.SigningSink
}

// openGateway starts the edge's gateway. Its key is DATA/gateway/ID.key
// (created on first start); an edge keeps no ledger, so the key must be
// registered (POST /api/v1/gateways) before the edge serves — it says so
// and stops otherwise. Frames are archived in DATA/gateway/ID-frames.
func (e *busEdge) openGateway(ctx context.Context) error {
	g := e.cfg.Gateways
	if g.ID == "" {
		return errors.New("--role edge with a protocol gateway needs --gateway-id / 边缘节点运行协议网关需要 --gateway-id")
	}
	log := e.cfg.Logger.With("part", "gateway", "gateway", g.ID)
	dir := filepath.Join(e.cfg.Data, "gateway")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("gateway directory: %w", err)
	}
	keyFile := filepath.Join(dir, g.ID+".key")
	signer, vkey, err := gateway.LoadOrCreateKey(keyFile, g.ID)
	if err != nil {
		return err
	}
	switch old, err := e.store.Gateway(ctx, g.ID); {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("网关 %s 未登记：边缘节点没有账本，请先登记其密钥 / gateway %s is not registered and an edge keeps no ledger: "+
			`register it first with POST /api/v1/gateways {"id":%q,"key":%q,"enterprise":…}`, g.ID, g.ID, g.ID, vkey)
	case err != nil:
		return err
	case old.Revoked:
		return fmt.Errorf("网关 %s 的密钥已被吊销 / the key of gateway %s was revoked: start with another --gateway-id", g.ID, g.ID)
	case old.Key != vkey:
		return fmt.Errorf("网关 %s 已登记另一把密钥 / gateway %s is registered with another key than %s", g.ID, g.ID, keyFile)
	}
	archive, err := gateway.OpenArchive(filepath.Join(dir, g.ID+"-frames"))
	if err != nil {
		return err
	}
	sink, err := gateway.NewSigningSink(gateway.SinkOptions{Gateway: g.ID, Signer: signer, Registry: e.store, Archive: archive,
		Submit: busSubmitter{e}, Logger: log})
	if err != nil {
		archive.Close()
		return err
	}
	// The store knows what the sequencer admitted even if the archive was lost.
	states, err := e.store.AdmissionStates(ctx)
	if err != nil {
		archive.Close()
		return err
	}
	for _, ms := range states {
		if d, ok := e.dir.Get(ms.Meter); ok && d.Gateway == g.ID {
			sink.Seed(ms.Meter, ms.Seq, ms.Hash)
		}
	}
	servers, err := startProtocolServers(g, sink, sink, log)
	if err != nil {
		archive.Close()
		return err
	}
	for proto, addr := range servers.addrs {
		log.Info("协议网关监听中 / protocol gateway listening", "protocol", proto, "addr", addr)
	}
	e.gateway = &edgeGateway{servers: servers, archive: archive, sink: sink}
	return nil
}

// close stops the protocol servers, then the archive.
func (g *edgeGateway) close() {
	if g == nil {
		return
	}
	g.servers.Close()
	g.archive.Close()
}

// busSubmitter submits a gateway-signed reading through the edge's bus: the
// edge checks it as it checks a meter's (EdgeChecker) and publishes it; done
// is called with the stream's PubAck, so the device's answer (9014, …)
// follows the bus-mode contract: the reading is in the stream, the ledger
// index comes later.
type busSubmitter struct{ e *busEdge }

func (b busSubmitter) Submit(signed []byte, source string, done func(error)) {
	received := time.Now()
	key, rej := b.e.checker.Check(signed, "")
	if rej != nil {
		rej.Time, rej.Source = received, source
		b.e.refused(*rej)
		done(fmt.Errorf("%w: %s: %s", gateway.ErrRefused, rej.Reason, rej.Detail))
		return
	}
	b.e.bus.conn.Publish(bus.Message{Raw: signed, Source: source, Received: received, Key: key}, func(_ bool, err error) { done(err) })
}
