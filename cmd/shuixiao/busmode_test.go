package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"
	paho "github.com/eclipse/paho.mqtt.golang"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/shuixiao/shuixiao/internal/broker"
	"github.com/shuixiao/shuixiao/internal/bus"
	"github.com/shuixiao/shuixiao/internal/ledger"
	"github.com/shuixiao/shuixiao/internal/store/postgres/pgtest"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/reading"
)

func startEmbeddedNATS(t *testing.T) *bus.Embedded {
	t.Helper()
	e, err := bus.StartEmbedded(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// startTestEdge runs an edge in this process on the store of data dir, or
// storeSpec.
func startTestEdge(t *testing.T, dir, storeSpec, natsURL string) *busEdge {
	t.Helper()
	return startEdgeWith(t, testEdgeConfig(dir, storeSpec, natsURL))
}

// testEdgeConfig is the configuration of startTestEdge's edge: every full
// reload of keys a second apart, no limit on publishes.
func testEdgeConfig(dir, storeSpec, natsURL string) serverConfig {
	return serverConfig{Data: dir, Store: storeSpec, MQTTAddr: "127.0.0.1:0",
		MQTT:   broker.Options{Publishes: broker.Limit{Rate: -1}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Bus: busConfig{Role: roleEdge, NATS: natsURL, Refresh: time.Second}}
}

// startEdgeWith runs an edge of configuration cfg in this process.
func startEdgeWith(t *testing.T, cfg serverConfig) *busEdge {
	t.Helper()
	e, err := openBusEdge(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// ledgerReadings counts each (meter, seq) in the ledger's reading entries.
func ledgerReadings(t *testing.T, lg *ledger.Log) map[string]int {
	t.Helper()
	ctx := context.Background()
	size, err := lg.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	err = lg.Entries(ctx, 0, size, func(_ uint64, e []byte) error {
		if r, err := reading.Parse(e); err == nil {
			seen[fmt.Sprintf("%s/%d", r.Meter, r.Seq)]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return seen
}

// verifyLogPasses runs `shuixiao verify log` on a ledger directory.
func verifyLogPasses(t *testing.T, ledgerDir, logKey string) {
	t.Helper()
	code, out, errs := runVerifyCmd(t, "log", ledgerDir, "--log-key", logKey, "--json")
	if code != 0 {
		t.Fatalf("verify log: exit %d\n%s\n%s", code, out, errs)
	}
}

// TestBusMode: readings through an edge are acknowledged after the stream
// has them and reach the ledger and the store once, a retry included; a
// forged reading is refused at the edge; with NATS down the edge answers
// the device with a failure.
func TestBusMode(t *testing.T) { testBusMode(t, "") }

// TestBusModePostgres: the same with the edge and the sequencer on
// PostgreSQL.
func TestBusModePostgres(t *testing.T) {
	url, schema := pgtest.Schema(t)
	testBusMode(t, url+"&schema="+schema)
}

func testBusMode(t *testing.T, storeSpec string) {
	nats := startEmbeddedNATS(t)
	dir := t.TempDir()
	s, err := openServer(context.Background(), serverConfig{Data: dir, Store: storeSpec, HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Bus: busConfig{Role: roleSequencer, NATS: nats.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	admin := s.client(s.token)
	m1, _ := province(t, admin)
	e := startTestEdge(t, dir, storeSpec, nats.URL())
	c := mqtt5(t, e.broker.Addr(), m1)
	var third []byte
	for i := 1; i <= 20; i++ {
		msg := m1.next(t, float64(100+i))
		if i == 3 {
			third = msg
		}
		if pr := publish(t, c, m1, msg); pr.ReasonCode != 0 {
			t.Fatalf("reading %d refused: %#x %v", i, pr.ReasonCode, pr.Properties)
		}
	}
	if pr := publish(t, c, m1, third); pr.ReasonCode != 0 {
		t.Fatalf("a device's retry refused: %#x", pr.ReasonCode)
	}
	forged := bytes.Replace(m1.next(t, 500), []byte("total_m3 500"), []byte("total_m3 501"), 1)
	if pr := publish(t, c, m1, forged); pr.ReasonCode != broker.CodeNotAuthorized {
		t.Fatalf("forged reading: %#x, want refused at the edge", pr.ReasonCode)
	}
	m1.seq-- // the forged one was never taken

	var page struct {
		Items []struct {
			Seq uint64 `json:"seq"`
		} `json:"items"`
	}
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		must(t, admin.get("/api/v1/readings?meter=M1&order=asc", &page))
		if len(page.Items) == 20 || time.Now().After(end) {
			break
		}
	}
	if len(page.Items) != 20 {
		t.Fatalf("store has %d readings of M1, want 20", len(page.Items))
	}
	for i, it := range page.Items {
		if it.Seq != uint64(i+1) {
			t.Fatalf("store readings out of order: %+v", page.Items)
		}
	}
	for k, n := range ledgerReadings(t, s.ledger) {
		if n != 1 {
			t.Fatalf("ledger holds %s %d times", k, n)
		}
	}
	if got := len(ledgerReadings(t, s.ledger)); got != 20 {
		t.Fatalf("ledger holds %d readings, want 20", got)
	}
	if n := admin.metrics()["shuixiao_bus_to_ledger_seconds_count"]; n != 20 {
		t.Fatalf("publish-to-ledger histogram counted %v readings, want 20", n)
	}

	// The same readings come again, as after a sequencer that committed
	// them but died before its acks (new message IDs, so that the stream's
	// duplicate window does not hide them): each is acknowledged as the
	// resubmission it is, and the ledger does not grow.
	js := jsContext(t, nats.URL())
	for _, it := range page.Items {
		r, err := s.store.ReadingBySeq(context.Background(), "M1", it.Seq)
		must(t, err)
		raw, err := s.ledger.Entry(context.Background(), r.Index)
		must(t, err)
		msg := natsgo.NewMsg(bus.Subject)
		msg.Data = bus.EncodeBatch([]bus.Message{{Raw: raw, Source: "mqtt:again", Received: time.Now(), Key: m1.vkey}})
		if _, err := js.PublishMsg(context.Background(), msg, jetstream.WithMsgID(fmt.Sprintf("again-%d", it.Seq))); err != nil {
			t.Fatal(err)
		}
	}
	waitStreamEmpty(t, nats.URL())
	// 21: the device's retry of reading 3 above, which travelled in a
	// message of its own, and these 20.
	if n := admin.metrics()["shuixiao_ingest_duplicates_total"]; n != 21 {
		var rej struct {
			Recent []struct{ Reason, Meter, Detail string } `json:"recent"`
		}
		_ = admin.get("/api/v1/rejections", &rej)
		t.Fatalf("%v readings delivered again were found in the ledger, want 21; rejections %+v", n, rej.Recent)
	}
	if got := len(ledgerReadings(t, s.ledger)); got != 20 {
		t.Fatalf("after a redelivery the ledger holds %d readings, want 20", got)
	}
	verifyLogPasses(t, filepath.Join(dir, "ledger"), s.ledger.VerifierKey())

	// NATS gone: the device is told the reading was not taken.
	nats.Close()
	if pr := publish(t, c, m1, m1.next(t, 300)); pr.ReasonCode != broker.CodeServerBusy {
		t.Fatalf("reading with NATS down: %#x %v, want 0x89 server busy", pr.ReasonCode, pr.Properties)
	}
}

func jsContext(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := natsgo.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// waitStreamEmpty waits until the sequencer acknowledged every reading in
// the stream.
func waitStreamEmpty(t *testing.T, url string) {
	t.Helper()
	conn, err := bus.Connect(context.Background(), bus.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		n, err := conn.Pending(context.Background())
		if err == nil && n == 0 {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("stream still holds %d readings (%v)", n, err)
		}
	}
}

// startSequencerChild runs serve --role sequencer as a child process.
func startSequencerChild(t *testing.T, dir, httpAddr, natsURL, token string) *exec.Cmd {
	t.Helper()
	mqttAddr, _ := freeAddr()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SHUIXIAO_TEST_CHILD=serve-args", "SHUIXIAO_ADMIN_TOKEN="+token,
		"SX_ARGS=--data "+dir+" --http "+httpAddr+" --mqtt "+mqttAddr+" --role sequencer --nats "+natsURL)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	api := &apiClient{base: "http://" + httpAddr, token: token, hc: &http.Client{Timeout: 10 * time.Second}}
	if err := api.waitHealthy(30 * time.Second); err != nil {
		t.Fatalf("sequencer did not start: %v\n%s", err, log.String())
	}
	return cmd
}

// TestBusKill9Sequencer: kill -9 of the sequencer process under load while
// the edge goes on acknowledging; after a restart (the readings it had
// taken and not acknowledged are delivered again) every acknowledged
// reading is in the store and in the ledger exactly once, and verify log
// passes.
func TestBusKill9Sequencer(t *testing.T) {
	if testing.Short() {
		t.Skip("about 20 s under -race: a kill -9 under load")
	}
	nats := startEmbeddedNATS(t)
	dir := t.TempDir()
	httpAddr, _ := freeAddr()
	token := "bus-kill-test-admin-token-0123456789"
	child := startSequencerChild(t, dir, httpAddr, nats.URL(), token)
	api := &apiClient{base: "http://" + httpAddr, token: token, hc: &http.Client{Timeout: 10 * time.Second}}
	meters := registerMeters(t, api, "B", 8)
	e := startTestEdge(t, dir, "", nats.URL())

	var mu sync.Mutex
	var acked []sent
	failed := 0
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, m := range meters {
		opts := paho.NewClientOptions().AddBroker("tcp://" + e.broker.Addr()).SetClientID(m.id).SetUsername(m.id).
			SetPassword(m.password).SetAutoReconnect(false).SetProtocolVersion(4)
		cl := paho.NewClient(opts)
		if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("connect: %v", tok.Error())
		}
		defer cl.Disconnect(100)
		wg.Add(1)
		go func(m *testMeter) {
			defer wg.Done()
			type pend struct {
				tok paho.Token
				s   sent
			}
			var window []pend
			settle := func(p pend) {
				ok := p.tok.WaitTimeout(10*time.Second) && p.tok.Error() == nil
				mu.Lock()
				if ok {
					acked = append(acked, p.s)
				} else {
					failed++
				}
				mu.Unlock()
			}
			for v := 0; ; v++ {
				select {
				case <-stop:
					for _, p := range window {
						settle(p)
					}
					return
				default:
				}
				msg := m.next(t, float64(v))
				window = append(window, pend{cl.Publish(broker.ReadingsPrefix+m.id, 1, false, msg), sent{m.id, m.seq, msg}})
				if len(window) == 8 {
					settle(window[0])
					window = window[1:]
				}
			}
		}(m)
	}
	ackedSoFar := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	// Load until 100 readings are acknowledged (the test asserts no fewer
	// before the kill), however long the machine takes for them.
	for end := time.Now().Add(30 * time.Second); ackedSoFar() < 100; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("load: %d readings acknowledged in 30 s", ackedSoFar())
		}
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	atKill := ackedSoFar()
	time.Sleep(time.Second) // the edge goes on: the stream holds the readings
	child = startSequencerChild(t, dir, httpAddr, nats.URL(), token)
	// The load goes on past the restart until more is acknowledged.
	for end := time.Now().Add(30 * time.Second); ackedSoFar() <= atKill+len(meters); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("load: %d readings acknowledged before the kill, %d 30 s after the restart", atKill, ackedSoFar())
		}
	}
	close(stop)
	wg.Wait()

	waitStreamEmpty(t, nats.URL())
	metrics := api.metrics()
	child.Process.Signal(syscall.SIGTERM)
	child.Wait()

	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(dir, "store.db"), sqlite.Options{ManualCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lg, err := ledger.Open(ctx, ledger.Options{Dir: filepath.Join(dir, "ledger")})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close(ctx)
	mu.Lock()
	defer mu.Unlock()
	// Not --strict: a reading in a device's window that failed while the
	// sequencer was down may be followed by acknowledged ones (a gap).
	inLedger := checkNoLoss(t, st, lg, filepath.Join(dir, "ledger"), acked, false)
	if atKill < 100 || len(acked) <= atKill {
		t.Fatalf("too little load: %d acknowledged before the kill, %d in all", atKill, len(acked))
	}
	faultReport(t, map[string]any{"fault": "kill -9 sequencer", "meters": len(meters), "acked_before_kill": atKill,
		"acked": len(acked), "failed": failed, "ledger_readings": inLedger,
		"resubmissions_after_restart": metrics["shuixiao_ingest_duplicates_total"]})
}

// TestBusNATSRestart: the NATS server stops under load and starts again on
// its directory. Meanwhile the edge answers devices 0x89 and they resend;
// afterwards every acknowledged reading is in the store and the ledger
// exactly once, with no gap in any meter's chain (verify log --strict).
func TestBusNATSRestart(t *testing.T) {
	natsDir := t.TempDir()
	nats, err := bus.StartEmbedded(natsDir, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(nats.URL(), "nats://")
	defer func() { nats.Close() }()
	dir := t.TempDir()
	s, err := openServer(context.Background(), serverConfig{Data: dir, HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Bus: busConfig{Role: roleSequencer, NATS: nats.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	meters := registerMeters(t, s.client(s.token), "N", 6)
	e := startTestEdge(t, dir, "", nats.URL())

	load := startFaultLoad(t, e.broker.Addr(), meters)
	load.WaitAcked(t, 50, 30*time.Second)
	nats.Close()
	atStop := load.Acked()
	time.Sleep(time.Second)
	if nats, err = bus.StartEmbedded(natsDir, addr); err != nil {
		t.Fatal(err)
	}
	load.WaitEachAckedAfter(t, load.Acked(), meters, 30*time.Second)
	acked, refused := load.Stop()
	waitStreamEmpty(t, nats.URL())

	inLedger := checkNoLoss(t, s.store, s.ledger, filepath.Join(dir, "ledger"), acked, true)
	if atStop < 50 || len(acked) <= atStop || refused == 0 {
		t.Fatalf("load: %d acknowledged before the stop, %d in all, %d refused while NATS was down", atStop, len(acked), refused)
	}
	faultReport(t, map[string]any{"fault": "NATS server stopped 1 s and restarted", "meters": len(meters),
		"acked_before_stop": atStop, "acked": len(acked), "refused_then_resent": refused, "ledger_readings": inLedger})
}

// dialMQTT5 connects a meter, or says why not.
func dialMQTT5(addr string, m *testMeter) (*paho5.Client, error) {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	c := paho5.NewClient(paho5.ClientConfig{Conn: conn})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ca, err := c.Connect(ctx, &paho5.Connect{KeepAlive: 30, ClientID: m.id, CleanStart: true,
		Username: m.id, UsernameFlag: true, Password: []byte(m.password), PasswordFlag: true})
	if err != nil || ca.ReasonCode != 0 {
		conn.Close()
		return nil, fmt.Errorf("connect %s: %v %+v", m.id, err, ca)
	}
	return c, nil
}

// startEdgeChild runs serve --role edge as a child process and waits for
// its MQTT port.
func startEdgeChild(t *testing.T, dir, mqttAddr, natsURL string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SHUIXIAO_TEST_CHILD=serve-args",
		"SX_ARGS=--data "+dir+" --mqtt "+mqttAddr+" --mqtt-publish-rate 0 --role edge --nats "+natsURL)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if err := waitListening(mqttAddr, 30*time.Second); err != nil {
		t.Fatalf("edge did not start: %v\n%s", err, log.String())
	}
	return cmd
}

// TestBusKill9Edge: kill -9 of an edge process under load. Devices resend
// what was not acknowledged to the restarted edge; every acknowledged
// reading is in the store and the ledger exactly once, with no gap in any
// meter's chain (verify log --strict).
func TestBusKill9Edge(t *testing.T) {
	nats := startEmbeddedNATS(t)
	dir := t.TempDir()
	s, err := openServer(context.Background(), serverConfig{Data: dir, HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Bus: busConfig{Role: roleSequencer, NATS: nats.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	meters := registerMeters(t, s.client(s.token), "G", 6)
	mqttAddr, _ := freeAddr()
	edgeProc := startEdgeChild(t, dir, mqttAddr, nats.URL())

	load := startFaultLoad(t, mqttAddr, meters)
	load.WaitAcked(t, 50, 30*time.Second)
	if err := edgeProc.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	edgeProc.Wait()
	atKill := load.Acked()
	time.Sleep(500 * time.Millisecond)
	startEdgeChild(t, dir, mqttAddr, nats.URL())
	load.WaitEachAckedAfter(t, load.Acked(), meters, 30*time.Second)
	acked, resent := load.Stop()
	waitStreamEmpty(t, nats.URL())

	inLedger := checkNoLoss(t, s.store, s.ledger, filepath.Join(dir, "ledger"), acked, true)
	if atKill < 50 || len(acked) <= atKill {
		t.Fatalf("load: %d acknowledged before the kill, %d in all", atKill, len(acked))
	}
	faultReport(t, map[string]any{"fault": "kill -9 edge", "meters": len(meters), "acked_before_kill": atKill,
		"acked": len(acked), "resent": resent, "ledger_readings": inLedger})
}
