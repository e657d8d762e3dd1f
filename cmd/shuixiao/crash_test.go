package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/broker"
	"github.com/shuixiao/shuixiao/internal/ledger"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/verify"
)

// TestMain lets a test re-execute this binary as a real server process, so
// that it can be killed with SIGKILL.
func TestMain(m *testing.M) {
	if os.Getenv("SHUIXIAO_TEST_CHILD") == "serve" {
		// A load test: meters publish as fast as they are acknowledged.
		os.Exit(runServe([]string{"--data", os.Getenv("SX_DATA"), "--http", os.Getenv("SX_HTTP"), "--mqtt", os.Getenv("SX_MQTT"), "--mqtt-publish-rate", "0"}))
	}
	if os.Getenv("SHUIXIAO_TEST_CHILD") == "serve-args" { // serve with the arguments in SX_ARGS
		os.Exit(runServe(strings.Fields(os.Getenv("SX_ARGS"))))
	}
	if os.Getenv("SHUIXIAO_TEST_CHILD") == "main" { // the command line in os.Args, as the binary runs it
		main()
	}
	if os.Getenv("SHUIXIAO_TEST_CHILD") == "demo" {
		os.Exit(demoChild())
	}
	routeKlog(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

type childServer struct {
	cmd             *exec.Cmd
	dir, http, mqtt string
	token           string
	log             *bytes.Buffer
}

func startChild(t *testing.T, dir, httpAddr, mqttAddr, token string) *childServer {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SHUIXIAO_TEST_CHILD=serve", "SX_DATA="+dir, "SX_HTTP="+httpAddr, "SX_MQTT="+mqttAddr,
		"SHUIXIAO_ADMIN_TOKEN="+token)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &childServer{cmd: cmd, dir: dir, http: httpAddr, mqtt: mqttAddr, token: token, log: &log}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	api := &apiClient{base: "http://" + httpAddr, token: token, hc: &http.Client{Timeout: 10 * time.Second}}
	if err := api.waitHealthy(30 * time.Second); err != nil {
		t.Fatalf("child server did not start: %v\n%s", err, log.String())
	}
	return c
}

type sent struct {
	meter string
	seq   uint64
	msg   []byte
}

// TestKill9UnderLoad: kill -9 of the server under sustained load; after a
// restart every acknowledged reading is in the store and in the ledger at
// the index the store gives, with the bytes that were sent, and the new
// checkpoint is consistent with the last one published before the crash.
func TestKill9UnderLoad(t *testing.T) {
	dir := t.TempDir()
	httpAddr, _ := freeAddr()
	mqttAddr, _ := freeAddr()
	token := "crash-test-admin-token-0123456789"
	child := startChild(t, dir, httpAddr, mqttAddr, token)
	api := &apiClient{base: "http://" + httpAddr, token: token, hc: &http.Client{Timeout: 10 * time.Second}}

	meters := registerMeters(t, api, "K", 12)

	var mu sync.Mutex
	var acked []sent
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, m := range meters {
		opts := paho.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID(m.id).SetUsername(m.id).
			SetPassword(m.password).SetAutoReconnect(false).SetProtocolVersion(4)
		cl := paho.NewClient(opts)
		if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("connect: %v", tok.Error())
		}
		wg.Add(1)
		go func(m *testMeter) {
			defer wg.Done()
			type pend struct {
				tok paho.Token
				s   sent
			}
			var window []pend
			settle := func(p pend) bool {
				if p.tok.WaitTimeout(5*time.Second) && p.tok.Error() == nil {
					mu.Lock()
					acked = append(acked, p.s)
					mu.Unlock()
					return true
				}
				return false
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
					if !settle(window[0]) {
						return // the server is gone
					}
					window = window[1:]
				}
			}
		}(m)
	}
	// Let the load run, keeping the last checkpoint published before the
	// crash, until 100 readings are acknowledged and a checkpoint covers as
	// many entries: then the kill falls on a ledger with a published tree
	// and readings in flight, however quick or slow the machine.
	var lastCP []byte
	ackedSoFar := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	for end := time.Now().Add(60 * time.Second); ackedSoFar() < 100 || checkpointSize(lastCP) < 100; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("load: %d readings acknowledged, checkpoint %q after 60 s", ackedSoFar(), lastCP)
		}
		if resp, err := http.Get("http://" + httpAddr + "/ledger/checkpoint"); err == nil {
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				lastCP = b.Bytes()
			}
		}
	}
	if err := child.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.cmd.Wait()
	close(stop)
	wg.Wait()
	mu.Lock()
	n := len(acked)
	mu.Unlock()
	if n < 100 || lastCP == nil {
		t.Fatalf("too little load before the kill: %d acked readings, checkpoint %q", n, lastCP)
	}
	t.Logf("%d readings acknowledged before kill -9", n)

	// Restart: the server catches up and serves again.
	child = startChild(t, dir, httpAddr, mqttAddr, token)
	var newCP []byte
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get("http://" + httpAddr + "/ledger/checkpoint")
		if err == nil {
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && !bytes.Equal(b.Bytes(), lastCP) {
				newCP = b.Bytes()
				break
			}
		}
	}
	child.cmd.Process.Signal(syscall.SIGTERM)
	child.cmd.Wait()
	if newCP == nil {
		newCP = lastCP // nothing new to publish is fine; consistency is then trivial
	}

	// Every acknowledged reading: in the store, and in the ledger at the
	// store's index with the exact bytes the meter sent.
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
	for _, a := range acked {
		r, err := st.ReadingBySeq(ctx, a.meter, a.seq)
		if err != nil {
			t.Fatalf("acknowledged reading %s seq %d lost from the store: %v", a.meter, a.seq, err)
		}
		e, err := lg.Entry(ctx, r.Index)
		if err != nil || !bytes.Equal(e, a.msg) {
			t.Fatalf("ledger entry %d is not %s seq %d: %v", r.Index, a.meter, a.seq, err)
		}
	}
	// The checkpoint after the restart extends the one before the crash.
	logKey, _ := note.NewVerifier(lg.VerifierKey())
	oldC, err := verify.OpenCheckpoint(lastCP, logKey, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	newC, err := verify.OpenCheckpoint(newCP, logKey, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f, err := verify.NewFetcher(filepath.Join(dir, "ledger"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify.CheckConsistency(ctx, oldC, newC, f.ReadTile); err != nil {
		t.Fatalf("checkpoint after restart is not consistent with the one before the crash: %v", err)
	}
}

// checkpointSize is the tree size a checkpoint's second line gives (0 for
// none).
func checkpointSize(cp []byte) uint64 {
	lines := strings.SplitN(string(cp), "\n", 3)
	if len(lines) < 3 {
		return 0
	}
	n, _ := strconv.ParseUint(lines[1], 10, 64)
	return n
}
