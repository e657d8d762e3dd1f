package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"
	paho5 "github.com/eclipse/paho.golang/paho"

	"github.com/shuixiao/shuixiao/internal/localca"
	"github.com/shuixiao/shuixiao/internal/sim"
)

// TestServeTLS: with a certificate from a local CA the server answers
// HTTPS to a client that trusts the CA (and not to one that does not), a
// meter connects to MQTT over TLS and its signed reading is acknowledged
// and stored, a plain MQTT client is refused, and the simulator runs
// against the server over TLS.
func TestServeTLS(t *testing.T) {
	f, err := localca.Ensure(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pool, err := localca.Pool(f.CACert)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s, err := openServer(context.Background(), serverConfig{Data: dir, HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
		TLSCert: f.ServerCert, TLSKey: f.ServerKey, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	if !strings.HasPrefix(s.URL(), "https://") || !strings.HasPrefix(s.MQTTAddr(), "mqtts://") {
		t.Fatalf("URLs %s %s", s.URL(), s.MQTTAddr())
	}
	clientTLS := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}

	// HTTPS: refused without the CA, answered with it.
	if _, err := http.Get(s.URL() + "/api/v1/health"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a client that does not trust the CA: %v", err)
	}
	if resp, err := http.Get(strings.Replace(s.URL(), "https://", "http://", 1) + "/api/v1/health"); err == nil {
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP answered 200 on the HTTPS port")
		}
		resp.Body.Close()
	}
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: clientTLS}}
	c := &apiClient{base: s.URL(), token: s.token, hc: hc}
	if _, err := c.health(); err != nil {
		t.Fatalf("HTTPS with the CA: %v", err)
	}
	m1, _ := province(t, c)

	// MQTT over TLS: connect, publish a signed reading, get it acknowledged.
	conn, err := tls.Dial("tcp", s.broker.Addr(), clientTLS)
	if err != nil {
		t.Fatalf("MQTT TLS handshake: %v", err)
	}
	// paho writes a packet as several buffers, each its own Write on a
	// tls.Conn, and its pinger sends a PINGREQ at once after the CONNACK:
	// unless the connection is locked for whole packets, the ping can land
	// inside the first PUBLISH (the server then refuses a payload starting
	// "\xc0\x00", or waits for the rest of a packet that never comes).
	cl := paho5.NewClient(paho5.ClientConfig{Conn: packets.NewThreadSafeConn(conn)})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ca, err := cl.Connect(ctx, &paho5.Connect{KeepAlive: 30, ClientID: m1.id, CleanStart: true,
		Username: m1.id, UsernameFlag: true, Password: []byte(m1.password), PasswordFlag: true})
	if err != nil || ca.ReasonCode != 0 {
		t.Fatalf("MQTT connect over TLS: %v %+v", err, ca)
	}
	defer cl.Disconnect(&paho5.Disconnect{})
	if pr := publish(t, cl, m1, m1.next(t, 100)); pr.ReasonCode != 0 {
		t.Fatalf("signed reading over TLS: PUBACK %#x %+v", pr.ReasonCode, pr.Properties)
	}
	var page struct {
		Readings []struct {
			Seq uint64 `json:"seq"`
		} `json:"items"`
	}
	must(t, c.get("/api/v1/readings?meter="+m1.id, &page))
	if len(page.Readings) != 1 || page.Readings[0].Seq != 1 {
		t.Fatalf("stored readings %+v", page.Readings)
	}

	// Plain MQTT on the TLS port gets no CONNACK.
	raw, err := net.Dial("tcp", s.broker.Addr())
	if err != nil {
		t.Fatal(err)
	}
	plain := paho5.NewClient(paho5.ClientConfig{Conn: raw})
	pctx, pcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer pcancel()
	if ca, err := plain.Connect(pctx, &paho5.Connect{KeepAlive: 30, ClientID: m1.id + "-plain", CleanStart: true,
		Username: m1.id, UsernameFlag: true, Password: []byte(m1.password), PasswordFlag: true}); err == nil && ca.ReasonCode == 0 {
		t.Fatal("a plain MQTT client was accepted on the TLS listener")
	}

	// The simulator, trusting the CA, registers and publishes over TLS.
	// It runs until the server has admitted as many of its readings as it
	// has meters, not for a fixed time: registering the meters alone takes
	// seconds on a loaded machine.
	sm, err := sim.New(sim.Config{MQTT: s.broker.Addr(), API: s.URL(), TLS: clientTLS, Token: s.token,
		Enterprises: 1, Rate: 4, Seed: 5, ParkNetwork: false, Log: io.Discard, StatsEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	simCtx, simStop := context.WithCancel(context.Background())
	defer simStop()
	simDone := make(chan error, 1)
	go func() { simDone <- sm.Run(simCtx) }()
	for end := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if st := sm.Stats(); st.Meters > 0 && st.Admitted >= uint64(st.Meters) {
			break
		}
		select {
		case err := <-simDone:
			t.Fatalf("sim over TLS stopped: %v %+v", err, sm.Stats())
		default:
		}
		if time.Now().After(end) {
			t.Fatalf("sim over TLS: %+v after 90 s", sm.Stats())
		}
	}
	simStop()
	if err := <-simDone; err != nil {
		t.Fatalf("sim over TLS: %v", err)
	}
	if st := sm.Stats(); st.Unexpected != 0 {
		t.Fatalf("sim over TLS: %+v", st)
	}

	// verify log reads the ledger over HTTPS when told the CA, and only then.
	size, _ := s.ledger.Size(context.Background())
	actx, acancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer acancel()
	if _, err := s.ledger.AwaitPublished(actx, size-1); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	args := []string{"log", s.URL() + "/ledger/", "--log-key", s.ledger.VerifierKey(), "--token", s.token} // entry bundles need an admin or auditor token
	if code := verifyMain(context.Background(), append(args, "--ca", f.CACert), &stdout, &stderr); code != 0 {
		t.Fatalf("verify log over HTTPS with --ca: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if code := verifyMain(context.Background(), args, io.Discard, io.Discard); code == 0 {
		t.Fatal("verify log over HTTPS trusted the local CA without --ca")
	}
}

// TestHTTPErrorLog: a stranger's failed handshake is a debug line, any
// other error of the HTTP server an error line.
func TestHTTPErrorLog(t *testing.T) {
	var b bytes.Buffer
	l := httpErrorLog(slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l.Printf("http: TLS handshake error from 127.0.0.1:5: remote error: tls: bad certificate")
	l.Printf("http: panic serving 127.0.0.1:6: boom")
	out := b.String()
	if !strings.Contains(out, `level=DEBUG msg="http: TLS handshake error`) || !strings.Contains(out, `level=ERROR msg="http: panic serving`) {
		t.Errorf("log:\n%s", out)
	}
}

// TestTLSFlags: a certificate without its key, or a file that is not a
// certificate, stops the server before it starts.
func TestTLSFlags(t *testing.T) {
	f, err := localca.Ensure(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []serverConfig{
		{TLSCert: f.ServerCert},
		{MQTTTLSKey: f.ServerKey},
		{TLSCert: f.CAKey, TLSKey: f.ServerKey},
		{TLSCert: f.CACert, TLSKey: f.ServerKey}, // key does not match
	} {
		if _, _, err := serverTLS(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	old, err := localca.Ensure(t.TempDir(), time.Now().Add(-2*localca.ServerValidity))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := serverTLS(serverConfig{TLSCert: old.ServerCert, TLSKey: old.ServerKey}); err == nil || !strings.Contains(err.Error(), "valid only") {
		t.Errorf("an expired certificate: %v", err)
	}
	h, m, err := serverTLS(serverConfig{TLSCert: f.ServerCert, TLSKey: f.ServerKey})
	if err != nil || h == nil || m != h {
		t.Errorf("one pair serves both: %v %v %v", h, m, err)
	}
	h, m, err = serverTLS(serverConfig{MQTTTLSCert: f.ServerCert, MQTTTLSKey: f.ServerKey})
	if err != nil || h != nil || m == nil {
		t.Errorf("MQTT only: %v %v %v", h, m, err)
	}
}

// TestDemoTLS: demo --tls serves the console URL as https with a CA it
// prints, its simulator's readings reach the ledger over MQTT with TLS, and
// a second start keeps the same CA.
func TestDemoTLS(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outPath := filepath.Join(t.TempDir(), "demo.out")
	outFile, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer outFile.Close()
	out := fileText(outPath)
	done := make(chan int, 1)
	go func() {
		done <- demo(ctx, []string{"--tls", "--data", dir, "--http", "127.0.0.1:0", "--mqtt", "127.0.0.1:0", "--enterprises", "1",
			"--rate", "4", "--park-network=false", "--plants", "0", "--witnesses", "0"}, demoDefaults, outFile, io.Discard)
	}()
	banner := regexp.MustCompile(`控制台 Console:  (https://\S+)/`)
	var url string
	for end := time.Now().Add(30 * time.Second); url == ""; time.Sleep(100 * time.Millisecond) {
		if m := banner.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
		}
		if time.Now().After(end) {
			t.Fatalf("no https console URL:\n%s", out.String())
		}
	}
	caFile := filepath.Join(dir, "tls", "ca.pem")
	if !strings.Contains(out.String(), caFile) || !strings.Contains(out.String(), "MQTT:  mqtts://127.0.0.1:") {
		t.Fatalf("banner does not name the CA %s or an mqtts address:\n%s", caFile, out.String())
	}
	pool, err := localca.Pool(caFile)
	if err != nil {
		t.Fatal(err)
	}
	c := &apiClient{base: url, hc: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	var size uint64
	for end := time.Now().Add(30 * time.Second); size < 20; time.Sleep(200 * time.Millisecond) {
		if size, err = c.health(); err != nil {
			t.Fatalf("health over HTTPS: %v", err)
		}
		if time.Now().After(end) {
			t.Fatalf("ledger at %d entries: the simulator's readings do not arrive over MQTT with TLS", size)
		}
	}
	caPEM, _ := os.ReadFile(caFile)
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("demo exit %d", code)
	}
	cfg := serverConfig{Data: dir}
	if _, err := demoTLS(&cfg); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(caFile); !bytes.Equal(again, caPEM) || cfg.TLSCert != filepath.Join(dir, "tls", "server.pem") {
		t.Fatalf("a second start did not keep the CA (or point at its server certificate %s)", cfg.TLSCert)
	}
}
