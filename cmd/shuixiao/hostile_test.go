package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/broker"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/rejection"
)

// Tests of issue 13: what a stranger (or a careless client) sends on
// loopback must cost bounded rows, memory, sockets and time.

func startServerWith(t *testing.T, dir string, mod func(*serverConfig)) *server {
	t.Helper()
	s, stop := startStoppable(t, dir, mod)
	t.Cleanup(stop)
	return s
}

// startStoppable starts a server that the test stops itself, at most once.
func startStoppable(t *testing.T, dir string, mod func(*serverConfig)) (*server, func()) {
	t.Helper()
	cfg := serverConfig{Data: dir, HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	mod(&cfg)
	s, err := openServer(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	return s, func() { once.Do(func() { s.Close(context.Background()) }) }
}

// storeBytes is the size of the store's database and write-ahead log.
func storeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	for _, f := range []string{"store.db", "store.db-wal"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// junkLogins makes n MQTT 3.1.1 logins with the usernames user(i) from
// workers goroutines and returns how many were accepted.
func junkLogins(addr string, n, workers int, user func(i int) string) int64 {
	var next, accepted atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if c, err := dialLoad(addr, fmt.Sprint("junk-", i), user(i), "not-the-password"); err == nil {
					accepted.Add(1)
					c.close()
				}
			}
		}()
	}
	wg.Wait()
	return accepted.Load()
}

func randomName(n int) string {
	b := make([]byte, (n+1)/2)
	rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// halfOpen opens n sockets that never send a byte.
func halfOpen(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	var conns []net.Conn
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns = append(conns, c)
	}
	return conns
}

// slowBodies starts n authenticated POSTs that announce a 100 kB body and
// send 10 bytes of it.
func slowBodies(t *testing.T, httpAddr, token string, n int) []net.Conn {
	t.Helper()
	conns := halfOpen(t, httpAddr, n)
	for _, c := range conns {
		fmt.Fprintf(c, "POST /api/v1/ingest HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"readings", httpAddr, token)
	}
	return conns
}

// closedWithin reports how many of conns the server closed within d (read
// to EOF or reset; whatever the server answered first is discarded).
func closedWithin(conns []net.Conn, d time.Duration) int {
	deadline := time.Now().Add(d)
	var closed atomic.Int64
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(deadline)
			_, err := io.Copy(io.Discard, c)
			if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
				closed.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(closed.Load())
}

// Finding 3: 2,000 junk logins (1,000 with 10 KB usernames, 1,000 with
// made-up well-formed ones) leave two rejection rows and under 1 MB of store,
// even with the failed-login throttle off so that every one reaches the store.
// The store is measured closed (its write-ahead log folded in) before and
// after; while it runs, the log holds the attack's commits for a while.
func TestJunkLoginsDoNotGrowTheStore(t *testing.T) {
	dir := t.TempDir()
	noThrottle := func(c *serverConfig) { c.MQTT.FailedLogins = broker.Limit{Rate: -1} }
	_, stop := startStoppable(t, dir, noThrottle)
	stop()
	before := storeBytes(t, dir)
	s, stop := startStoppable(t, dir, noThrottle)
	t.Cleanup(stop)
	start := time.Now()
	acc := junkLogins(s.broker.Addr(), 1000, 16, func(int) string { return randomName(10 << 10) })
	acc += junkLogins(s.broker.Addr(), 1000, 16, func(int) string { return randomName(64) })
	took := time.Since(start)
	if acc != 0 {
		t.Fatalf("%d junk logins accepted", acc)
	}
	ctx := context.Background()
	var counts []rejection.Count
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		counts, err = s.store.RejectionCounts(ctx, rejection.Filter{})
		must(t, err)
		if tot := rejection.TotalsByReason(counts); tot["bad-username"]+tot["bad-credentials"] == 2000 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	recent, err := s.store.RecentRejections(ctx, rejection.Filter{}, 1000)
	must(t, err)
	running := storeBytes(t, dir) - before
	stop()
	growth := storeBytes(t, dir) - before
	t.Logf("2,000 junk logins in %v: %d counter rows, %d log rows; store grew %d bytes (%d with its write-ahead log while running)",
		took.Round(time.Millisecond), len(counts), len(recent), growth, running)
	if tot := rejection.TotalsByReason(counts); tot["bad-username"] != 1000 || tot["bad-credentials"] != 1000 {
		t.Errorf("counted %v, want 1000 of each", tot)
	}
	if len(counts) != 2 || len(recent) != 2 {
		t.Errorf("rows: counts %+v, log %d", counts, len(recent))
	}
	for _, r := range recent {
		if r.Meter != "" || r.Source != "mqtt:127.0.0.1" || r.Count != 1000 {
			t.Errorf("log row %+.120v", r)
		}
	}
	if growth >= 1<<20 || running >= 4<<20 {
		t.Errorf("store grew %d bytes (%d while running)", growth, running)
	}
}

// Finding 7: slow request bodies are cut off by the read timeout.
func TestSlowBodiesCutOff(t *testing.T) {
	s := startServerWith(t, t.TempDir(), func(c *serverConfig) { c.HTTPReadTimeout = time.Second })
	conns := slowBodies(t, strings.TrimPrefix(s.URL(), "http://"), s.token, 500)
	start := time.Now()
	if n := closedWithin(conns, 5*time.Second); n != len(conns) {
		t.Fatalf("%d of %d slow bodies closed within 5 s", n, len(conns))
	}
	t.Logf("500 slow bodies closed after %v", time.Since(start).Round(time.Millisecond))
	must(t, s.client(s.token).get("/api/v1/health", nil))
}

// TestHostileLoad: while signed meters publish, a stranger sends 2,000 junk
// MQTT logins, 500 slow HTTP bodies and 500 half-open MQTT sockets. No
// acknowledged reading is lost, the health endpoint stays quick, and the
// attack adds almost nothing to the store.
func TestHostileLoad(t *testing.T) {
	dir := t.TempDir()
	s := startServerWith(t, dir, func(c *serverConfig) {
		c.MQTT.ConnectTimeout = 2 * time.Second
		c.HTTPReadTimeout = 2 * time.Second
	})
	const perSecond = 20
	meters := registerMeters(t, s.client(s.token), "H", 4)
	// Meters connect before the attack: the failed-login throttle works per
	// host, and on loopback the stranger and the meters share one.
	var acked sync.Map // meter → []uint64
	stop := make(chan struct{})
	var pubs sync.WaitGroup
	var refusedReadings atomic.Int64
	for _, m := range meters {
		c := mqtt5(t, s.broker.Addr(), m)
		pubs.Add(1)
		go func() {
			defer pubs.Done()
			tick := time.NewTicker(time.Second / perSecond)
			defer tick.Stop()
			var seqs []uint64
			defer func() { acked.Store(m.id, seqs) }()
			for v := 0; ; v++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				pr, err := c.Publish(ctx, &paho5.Publish{Topic: broker.ReadingsPrefix + m.id, QoS: 1, Payload: m.next(t, float64(v))})
				cancel()
				if err == nil && pr.ReasonCode == 0 {
					seqs = append(seqs, m.seq)
				} else {
					refusedReadings.Add(1)
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	before := storeBytes(t, dir)

	// The health prober: one keep-alive client, a request every 10 ms; two
	// seconds of it before the attack are the baseline.
	var lat [2][]time.Duration // before, during the attack
	var phase atomic.Int32
	probeStop := make(chan struct{})
	probed := make(chan struct{})
	go func() {
		defer close(probed)
		hc := &http.Client{Timeout: 5 * time.Second}
		for {
			select {
			case <-probeStop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			p := phase.Load()
			t0 := time.Now()
			resp, err := hc.Get(s.URL() + "/api/v1/health")
			if err != nil {
				lat[p] = append(lat[p], time.Hour)
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			lat[p] = append(lat[p], time.Since(t0))
		}
	}()
	// The stranger's usernames are made before the clock starts, so that
	// the measurement is of the server, not of the test making them.
	junk := make([]string, 2000)
	for i := range junk {
		junk[i] = randomName(10 << 10)
	}
	time.Sleep(2 * time.Second)
	phase.Store(1)

	start := time.Now()
	mqttSockets := halfOpen(t, s.broker.Addr(), 500)
	httpSockets := slowBodies(t, strings.TrimPrefix(s.URL(), "http://"), s.token, 500)
	// Four connections at a time: the stranger runs in this process, on the
	// server's own CPUs, and more would measure the test's CPU share rather
	// than the server.
	accepted := junkLogins(s.broker.Addr(), len(junk), 4, func(i int) string { return junk[i] })
	loginsTook := time.Since(start)
	mqttClosed := closedWithin(mqttSockets, 5*time.Second)
	httpClosed := closedWithin(httpSockets, 5*time.Second)
	attackTook := time.Since(start)
	time.Sleep(500 * time.Millisecond)
	close(probeStop)
	<-probed
	close(stop)
	pubs.Wait()
	// Let the last commits land before measuring the store.
	time.Sleep(300 * time.Millisecond)
	growth := storeBytes(t, dir) - before

	ctx := context.Background()
	var sent, lost int
	for _, m := range meters {
		v, _ := acked.Load(m.id)
		seqs := v.([]uint64)
		sent += len(seqs)
		have := map[uint64]bool{}
		must(t, s.store.ScanReadings(ctx, store.ReadingQuery{Meter: m.id}, func(r *store.Reading) error {
			have[r.Seq] = true
			return nil
		}))
		for _, q := range seqs {
			if !have[q] {
				lost++
			}
		}
	}
	recent, err := s.store.RecentRejections(ctx, rejection.Filter{}, 10000)
	must(t, err)
	var rejBytes int
	for _, r := range recent {
		rejBytes += len(r.Reason) + len(r.Meter) + len(r.Source) + len(r.Detail) + 6*8
	}
	pct := func(l []time.Duration) (p50, p99, worst time.Duration) {
		slices.Sort(l)
		return l[len(l)/2], l[len(l)*99/100], l[len(l)-1]
	}
	b50, b99, _ := pct(lat[0])
	p50, p99, worst := pct(lat[1])
	st := s.broker.Stats()
	t.Logf("attack: 2,000 junk logins in %v, all sockets closed after %v; broker %+v", loginsTook.Round(time.Millisecond), attackTook.Round(time.Millisecond), st)
	t.Logf("meters: %d readings acknowledged, %d refused, %d lost", sent, refusedReadings.Load(), lost)
	t.Logf("health: before the attack %d probes, p50 %v, p99 %v; during it %d probes, p50 %v, p99 %v, max %v", len(lat[0]),
		b50.Round(time.Microsecond), b99.Round(time.Microsecond), len(lat[1]), p50.Round(time.Microsecond), p99.Round(time.Microsecond), worst.Round(time.Microsecond))
	t.Logf("store: db+WAL grew %d bytes with the meters' readings; rejection log %d rows, ~%d bytes", growth, len(recent), rejBytes)

	if accepted != 0 {
		t.Errorf("%d junk logins accepted", accepted)
	}
	if mqttClosed != len(mqttSockets) || httpClosed != len(httpSockets) {
		t.Errorf("closed %d/%d half-open MQTT sockets, %d/%d slow HTTP bodies", mqttClosed, len(mqttSockets), httpClosed, len(httpSockets))
	}
	if lost != 0 || sent == 0 {
		t.Errorf("%d of %d acknowledged readings lost", lost, sent)
	}
	// The attack may add at most 50 ms to the p99 the same machine gave
	// just before it, or triple it: on a quiet machine that is p99 < 50 ms;
	// on a busy one (shared CI) the machine's own delays are not the
	// attack's. Under the race detector the figures are only logged.
	if allowed := max(b99+50*time.Millisecond, 3*b99); p99 >= allowed && !raceEnabled {
		t.Errorf("health p99 %v under attack (%v before it), want < %v", p99, b99, allowed)
	}
	if len(recent) > 5 || rejBytes >= 1<<20 {
		t.Errorf("the attack left %d rejection rows (%d bytes): %+.200v", len(recent), rejBytes, recent)
	}
	if growth >= 1<<20 {
		t.Errorf("store grew %d bytes", growth)
	}
}

// Open HTTP connections are capped: past the cap a new one waits until
// another closes.
func TestHTTPConnectionCap(t *testing.T) {
	s := startServerWith(t, t.TempDir(), func(c *serverConfig) { c.HTTPMaxConns = 10 })
	idle := halfOpen(t, strings.TrimPrefix(s.URL(), "http://"), 10)
	time.Sleep(100 * time.Millisecond) // let the server accept them
	hc := &http.Client{Timeout: 500 * time.Millisecond}
	if resp, err := hc.Get(s.URL() + "/api/v1/health"); err == nil {
		resp.Body.Close()
		t.Fatal("an 11th connection was served")
	}
	idle[0].Close()
	hc.Timeout = 5 * time.Second
	resp, err := hc.Get(s.URL() + "/api/v1/health")
	if err != nil {
		t.Fatalf("after one closed: %v", err)
	}
	resp.Body.Close()
}

// A live stream outlives the server's read and write timeouts: it sets a
// deadline for each write instead.
func TestStreamOutlivesTimeouts(t *testing.T) {
	s := startServerWith(t, t.TempDir(), func(c *serverConfig) {
		c.HTTPReadTimeout, c.HTTPWriteTimeout = 300*time.Millisecond, 300*time.Millisecond
	})
	req, _ := http.NewRequest("GET", s.URL()+"/api/v1/stream", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v %v", err, resp)
	}
	defer resp.Body.Close()
	got := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "after the timeouts") {
				got <- true
				return
			}
		}
		got <- false // the stream ended
	}()
	time.Sleep(time.Second)
	s.live.Alarm(alarm.Alarm{ID: 7, Kind: "test", Enterprise: "E", Message: "after the timeouts"})
	select {
	case ok := <-got:
		if !ok {
			t.Fatal("the stream ended before the event")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
}
