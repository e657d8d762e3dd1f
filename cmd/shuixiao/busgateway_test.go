package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/hj212"
	"github.com/shuixiao/shuixiao/internal/broker"
	"github.com/shuixiao/shuixiao/internal/gateway"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// TestBusEdgeGateway: an HJ 212 analyser reports to an edge node's gateway
// (serve --role edge --hj212); the edge signs the frame's reading with the
// gateway's key and publishes it; the device is answered once the stream
// has it, and the sequencer puts it in the ledger and the store as a
// gateway-signed reading. An edge whose gateway key is not registered
// refuses to start and names the key to register.
func TestBusEdgeGateway(t *testing.T) {
	nats := startEmbeddedNATS(t)
	dir := t.TempDir()
	s := openTestSequencer(t, dir, nats.URL())
	c := s.client(s.token)
	edgeCfg := serverConfig{Data: dir, MQTTAddr: "127.0.0.1:0", MQTT: broker.Options{Publishes: broker.Limit{Rate: -1}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Bus: busConfig{Role: roleEdge, NATS: nats.URL(), Refresh: time.Second},
		Gateways: gatewayConfig{ID: "GW-EDGE", HJ212: "127.0.0.1:0"}}
	if _, err := openBusEdge(context.Background(), edgeCfg); err == nil || !strings.Contains(err.Error(), "POST /api/v1/gateways") {
		t.Fatalf("edge with an unregistered gateway key: %v", err)
	}
	_, vkey, err := gateway.LoadOrCreateKey(filepath.Join(dir, "gateway", "GW-EDGE.key"), "GW-EDGE")
	if err != nil {
		t.Fatal(err)
	}
	interval, _ := meter.StandardChannel("interval_m3")
	pt := meter.Point{ID: "P-OUT", Enterprise: "E", Name: "总排口", Level: meter.Level1, Stage: meter.StageDischarge, Channels: []meter.Channel{interval}}
	must(t, c.post("/api/v1/parks", meter.Park{ID: "PK", Name: "园区", Region: "430300"}, nil))
	must(t, c.post("/api/v1/enterprises", meter.Enterprise{ID: "E", Name: "企业", Park: "PK", Region: "430300", Industry: "2614"}, nil))
	must(t, c.post("/api/v1/points", pt, nil))
	must(t, c.post("/api/v1/gateways", map[string]any{"id": "GW-EDGE", "key": vkey, "enterprise": "E"}, nil))
	must(t, c.post("/api/v1/meters", map[string]any{"id": "V-E", "point": "P-OUT", "gateway": "GW-EDGE"}, nil))
	const mn = "88888880000078"
	must(t, c.post("/api/v1/gateway-devices", map[string]any{"protocol": "hj212", "device": mn, "password": "123456", "gateway": "GW-EDGE",
		"fields": []map[string]any{{"field": "w00000-Cou", "meter": "V-E", "channel": "interval_m3", "kind": "interval"}}}, nil))

	e, err := openBusEdge(context.Background(), edgeCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	conn, err := net.Dial("tcp", e.gateway.servers.addrs["hj212"])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	now := time.Now().In(hj212.China).Truncate(time.Minute)
	send := func(qn int, at time.Time, cou float64) (string, error) {
		f, err := hj212.Build(hj212.Packet{QN: hj212.FormatQN(at.Add(time.Duration(qn) * time.Millisecond)), ST: "32", CN: hj212.CNHour, PW: "123456", MN: mn,
			Flag: 5, HasFlag: true, CP: fmt.Sprintf("DataTime=%s;w00000-Cou=%g,w00000-Flag=N", hj212.FormatTime(at), cou)})
		if err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		conn.Write(f)
		return r.ReadString('\n')
	}
	for i, cou := range []float64{42.5, 17} {
		if line, err := send(i+1, now.Add(time.Duration(i-2)*time.Hour), cou); err != nil || !strings.Contains(line, "CN=9014;") {
			t.Fatalf("frame %d: edge answer %q: %v", i+1, line, err)
		}
	}
	var out struct {
		Items []struct {
			Seq    uint64
			Trust  string
			Values map[string]float64
		}
	}
	for end := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		must(t, c.get("/api/v1/readings?meter=V-E&order=asc", &out))
		if len(out.Items) == 2 || time.Now().After(end) {
			break
		}
	}
	if len(out.Items) != 2 || out.Items[0].Trust != reading.TrustGateway || out.Items[0].Values["interval_m3"] != 42.5 ||
		out.Items[1].Seq != 2 || out.Items[1].Values["interval_m3"] != 17 {
		t.Fatalf("sequencer's readings of the edge's gateway: %+v", out.Items)
	}
	if got := len(ledgerReadings(t, s.ledger)); got != 2 {
		t.Fatalf("ledger holds %d readings, want 2", got)
	}
	verifyLogPasses(t, filepath.Join(dir, "ledger"), s.ledger.VerifierKey())
}

// openTestSequencer runs a bus-mode sequencer in this process on data
// directory dir and the NATS server at natsURL.
func openTestSequencer(t *testing.T, dir, natsURL string) *server {
	t.Helper()
	s, err := openServer(context.Background(), serverConfig{Data: dir, HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Bus: busConfig{Role: roleSequencer, NATS: natsURL}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}
