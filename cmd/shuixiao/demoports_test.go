package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/sim"
	"github.com/shuixiao/shuixiao/web"
)

// hold listens on a free loopback port for the test's duration and returns
// its address: a port that is taken.
func hold(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

func TestChooseAddr(t *testing.T) {
	free, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := chooseAddr("http", "HTTP", free, true); err != nil || got.Addr != free || got.Taken != "" {
		t.Errorf("free explicit address: %+v, %v; want it unchanged", got, err)
	}
	if got, err := chooseAddr("http", "HTTP", free, false); err != nil || got.Addr != free || got.Taken != "" {
		t.Errorf("free default address: %+v, %v; want it unchanged", got, err)
	}

	taken := hold(t)
	got, err := chooseAddr("http", "HTTP", taken, false)
	if err != nil {
		t.Fatalf("taken default: %v", err)
	}
	host, _, _ := net.SplitHostPort(got.Addr)
	if got.Addr == taken || got.Taken != taken || host != "127.0.0.1" {
		t.Errorf("taken default %s: chose %+v, want another port of 127.0.0.1", taken, got)
	}
	if err := probe(got.Addr); err != nil {
		t.Errorf("chosen address %s cannot be listened on: %v", got.Addr, err)
	}

	for _, tc := range []struct{ flag, what, hint string }{
		{"http", "HTTP", ""},
		{"mqtt", "MQTT", "Mosquitto"},
	} {
		_, err := chooseAddr(tc.flag, tc.what, taken, true)
		if err == nil {
			t.Fatalf("--%s %s taken and named by the user: no error", tc.flag, taken)
		}
		msg := err.Error()
		zh, en := strings.Index(msg, "已被占用"), strings.Index(msg, "already in use")
		if zh < 0 || en < zh || !strings.Contains(msg, "--"+tc.flag) || !strings.Contains(msg, taken) || !strings.Contains(msg, tc.hint) {
			t.Errorf("--%s taken: %q; want Chinese then English, the address, the flag and %q", tc.flag, msg, tc.hint)
		}
	}

	if _, err := chooseAddr("http", "HTTP", "127.0.0.1:notaport", false); err == nil {
		t.Error("an address that cannot be listened on was accepted")
	}
}

// When the ports above a taken default are all taken too, the system picks one.
func TestChooseAddrPastSearch(t *testing.T) {
	var base int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for try := 0; try < 20 && base == 0; try++ {
		for _, ln := range lns {
			ln.Close()
		}
		lns = lns[:0]
		start, err := freeAddr()
		if err != nil {
			t.Fatal(err)
		}
		_, p, _ := net.SplitHostPort(start)
		first, _ := strconv.Atoi(p)
		if first+portSearch > 65535 {
			continue
		}
		ok := true
		for port := first; port <= first+portSearch; port++ {
			ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			if err != nil {
				ok = false
				break
			}
			lns = append(lns, ln)
		}
		if ok {
			base = first
		}
	}
	if base == 0 {
		t.Fatalf("found no %d consecutive free loopback ports", portSearch+1)
	}
	taken := net.JoinHostPort("127.0.0.1", strconv.Itoa(base))
	got, err := chooseAddr("mqtt", "MQTT", taken, false)
	if err != nil {
		t.Fatal(err)
	}
	_, p, _ := net.SplitHostPort(got.Addr)
	port, _ := strconv.Atoi(p)
	if port >= base && port <= base+portSearch || got.Taken != taken {
		t.Errorf("all of %d-%d taken: chose %+v", base, base+portSearch, got)
	}
}

func TestHeldLog(t *testing.T) {
	var out bytes.Buffer
	h := newHeldLog(&out)
	io.WriteString(h, "starting\n")
	if out.Len() != 0 {
		t.Fatalf("held log wrote %q before Release", out.String())
	}
	out.WriteString("banner\n")
	h.Release()
	io.WriteString(h, "running\n")
	h.Release() // a second Release changes nothing
	if want := "banner\nstarting\nrunning\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}

	out.Reset()
	h = newHeldLog(&out)
	line := strings.Repeat("x", 1000) + "\n"
	for i := 0; i < 2*maxHeldLog/len(line); i++ {
		io.WriteString(h, line)
	}
	h.Release()
	if out.Len() > maxHeldLog+100 || !strings.Contains(out.String(), "bytes of start-up log not kept") {
		t.Errorf("held %d bytes past the %d limit without saying so", out.Len(), maxHeldLog)
	}
}

// demoChildSim is the small province the demo child of
// TestDemoWithDefaultPortsTaken simulates (its flags below say the same).
var demoChildSim = sim.Config{MQTT: "-", API: "-", Enterprises: 2, Seed: 1}

// demoChild is the demo process TestMain runs for SHUIXIAO_TEST_CHILD=demo:
// a small province, no plants or witnesses, and the default addresses the
// parent holds. Without SX_STORY it has no park network and no injections;
// with SX_STORY=park it runs the park network and the default demo story,
// with SX_STORY=no-park the story without the park network.
func demoChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	args := []string{"--data", os.Getenv("SX_DATA"), "--enterprises", strconv.Itoa(demoChildSim.Enterprises),
		"--seed", strconv.FormatInt(demoChildSim.Seed, 10), "--rate", "2", "--plants", "0", "--witnesses", "0"}
	switch os.Getenv("SX_STORY") {
	case "":
		args = append(args, "--park-network=false", "--inject", "none")
	case "no-park":
		args = append(args, "--park-network=false")
	}
	return demo(ctx, args, demoAddrs{HTTP: os.Getenv("SX_HTTP"), MQTT: os.Getenv("SX_MQTT")}, os.Stdout, os.Stderr)
}

// fileText reads a file that another process is writing.
type fileText string

func (f fileText) String() string {
	b, _ := os.ReadFile(string(f))
	return string(b)
}

// demoRun is a demo child process started by startDemoChild.
type demoRun struct {
	url, token, mqtt string
	out              fileText // its stdout and stderr
	exited           chan struct{}
}

// startDemoChild runs `shuixiao demo` as a process (demoChild) on the given
// default addresses with extra environment, stops it when the test ends,
// and waits (until deadline) for the console URL, the admin token and the
// MQTT address it prints, which must come before any other line.
func startDemoChild(t *testing.T, httpDefault, mqttDefault string, deadline time.Time, env ...string) demoRun {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), "SHUIXIAO_TEST_CHILD=demo", "SX_DATA="+t.TempDir(),
		"SX_HTTP="+httpDefault, "SX_MQTT="+mqttDefault, "SHUIXIAO_ADMIN_TOKEN="), env...)
	outPath := filepath.Join(t.TempDir(), "demo.out")
	outFile, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { outFile.Close() })
	cmd.Stdout, cmd.Stderr = outFile, outFile // one file: the order of the lines is kept
	run := demoRun{out: fileText(outPath), exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(run.exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-run.exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-run.exited
		}
	})

	banner := regexp.MustCompile(`^  控制台 Console:  (http://\S+)/\n  管理员令牌 Admin token:  (\S+)\n`)
	mqttLine := regexp.MustCompile(`(?m)^  MQTT:  (\S+) `)
	var m, mq []string
	for m == nil || mq == nil {
		select {
		case <-run.exited:
			t.Fatalf("demo exited: %v\n%s", waitErr, run.out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no banner in time:\n%s", run.out.String())
		}
		text := run.out.String()
		if text != "" && !strings.HasPrefix(text, "  控制台 Console:") {
			t.Fatalf("demo printed something before the console URL:\n%s", text)
		}
		m, mq = banner.FindStringSubmatch(text), mqttLine.FindStringSubmatch(text)
	}
	run.url, run.token, run.mqtt = m[1], m[2], mq[1]
	return run
}

// TestDemoWithDefaultPortsTaken runs `shuixiao demo` as a process whose
// default HTTP and MQTT addresses are held by this test: it starts on other
// ports, prints the console URL and the admin token before any other line,
// the URL serves the console and the API, and the simulator's readings
// reach the ledger through the broker's actual port.
func TestDemoWithDefaultPortsTaken(t *testing.T) {
	t.Parallel() // it mostly waits for the demo process
	httpDefault, mqttDefault := hold(t), hold(t)
	deadline := time.Now().Add(60 * time.Second)
	run := startDemoChild(t, httpDefault, mqttDefault, deadline)
	url, token, mqttAddr, out := run.url, run.token, run.mqtt, run.out
	text := out.String()
	if url == "http://"+httpDefault || mqttAddr == mqttDefault {
		t.Fatalf("demo used a taken default: console %s, MQTT %s (taken %s, %s)", url, mqttAddr, httpDefault, mqttDefault)
	}
	for _, taken := range []string{httpDefault, mqttDefault} {
		if !strings.Contains(text, taken+" 已被占用") {
			t.Errorf("the move off %s is not reported:\n%s", taken, text)
		}
	}

	hc := &http.Client{Timeout: 10 * time.Second}
	resp, err := hc.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// Without `make web` the binary serves a "console not built" page.
	want := http.StatusOK
	if !web.Built() {
		want = http.StatusServiceUnavailable
	}
	if resp.StatusCode != want || !bytes.Contains(body, []byte("<html")) {
		t.Errorf("GET %s/: %d %.80q, want %d and the console's page", url, resp.StatusCode, body, want)
	}
	if _, err := (&apiClient{base: url, hc: hc}).health(); err != nil {
		t.Errorf("health: %v", err)
	}
	// The simulator publishes over MQTT only: a reading of one of its
	// meters in the store came through the port the broker is bound to.
	// The printed token is the admin's, who may read every meter.
	province, err := sim.New(demoChildSim)
	if err != nil {
		t.Fatal(err)
	}
	meter := province.Province().Enterprises[0].Points[0].Meter.ID
	for {
		var raw json.RawMessage
		_, err := (&apiClient{base: url, token: token, hc: hc}).do("GET", "/api/v1/readings?meter="+meter, nil, &raw)
		if err == nil && bytes.Contains(raw, []byte(`"seq"`)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reading of %s stored (last answer %v %.200s):\n%s", meter, err, raw, out.String())
		}
		time.Sleep(300 * time.Millisecond)
	}
	if sc := bufio.NewScanner(strings.NewReader(out.String())); sc.Scan() && !strings.Contains(sc.Text(), url) {
		t.Errorf("first line %q", sc.Text())
	}
}
