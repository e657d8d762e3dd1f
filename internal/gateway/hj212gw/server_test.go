package hj212gw

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shuixiao/shuixiao/hj212"
	"github.com/shuixiao/shuixiao/internal/gateway"
	"github.com/shuixiao/shuixiao/internal/gateway/gatewaytest"
	"github.com/shuixiao/shuixiao/internal/logbuf"
	"github.com/shuixiao/shuixiao/internal/testfiles"
)

const mn = "010000A8900016F000169DC0"

type harness struct {
	srv  *Server
	addr string
	sink *gatewaytest.Sink
	logs *logbuf.Buffer
	done chan error
}

func start(t *testing.T, cfg Config) *harness {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{addr: ln.Addr().String(), sink: &gatewaytest.Sink{}, logs: &logbuf.Buffer{}, done: make(chan error, 1)}
	h.srv = New(cfg, gatewaytest.Devices{gateway.ProtocolHJ212: {mn: "123456", "M2": "pw2"}}, h.sink, slog.New(slog.NewTextHandler(h.logs, nil)))
	go func() { h.done <- h.srv.Serve(ln) }()
	t.Cleanup(func() {
		h.srv.Close()
		if err := <-h.done; !errors.Is(err, ErrClosed) || !errors.Is(err, net.ErrClosed) {
			t.Errorf("Serve returned %v after Close, want ErrClosed", err)
		}
	})
	return h
}

func (h *harness) dial(t *testing.T) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

// reply reads one answer frame.
func reply(t *testing.T, c net.Conn, r *bufio.Reader) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	l, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("no answer: %v (read %q)", err, l)
	}
	return l
}

// noReply checks nothing arrives within d.
func noReply(t *testing.T, c net.Conn, r *bufio.Reader, d time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	if l, err := r.ReadString('\n'); err == nil || l != "" {
		t.Fatalf("unexpected answer %q (%v)", l, err)
	}
}

// closedByServer checks the server closes the connection within d.
func closedByServer(t *testing.T, c net.Conn, r *bufio.Reader, d time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	if _, err := io.ReadAll(r); err != nil {
		t.Fatalf("connection not closed by the server: %v", err)
	}
}

func samples(t *testing.T) []string {
	return strings.Split(strings.TrimSpace(string(readSamples(t))), "\n")
}

func readSamples(t testing.TB) []byte { return testfiles.ReadFile(t, "hj212", "packets.txt") }

func build(t *testing.T, p hj212.Packet) string {
	t.Helper()
	b, err := hj212.Build(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func hourly(qn string, flag hj212.Flag, pw, cp string) hj212.Packet {
	return hj212.Packet{QN: qn, ST: "32", CN: hj212.CNHour, PW: pw, MN: mn, Flag: flag, HasFlag: true, CP: cp}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestDataAnswered: the reference's hourly packet (Flag=5) is delivered with its values, flags,
// time and raw bytes, then answered with the reference's 9014 reply byte for byte; the connection
// stays open for the next packet.
func TestDataAnswered(t *testing.T) {
	h := start(t, Config{})
	c, r := h.dial(t)
	s := samples(t)
	fmt.Fprint(c, s[4]+"\r\n")
	if got := reply(t, c, r); got != s[5]+"\r\n" {
		t.Fatalf("answer %q, want %q", got, s[5]+"\r\n")
	}
	fs := h.sink.Frames()
	if len(fs) != 1 {
		t.Fatalf("%d frames delivered", len(fs))
	}
	f := fs[0]
	if f.Protocol != "hj212" || f.Device != mn || string(f.Raw) != s[4]+"\r\n" ||
		!f.Time.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) || f.Time.Format(time.RFC3339) != "2024-01-01T08:00:00+08:00" {
		t.Errorf("frame %+v", f)
	}
	if f.Values["w00000-Cou"] != 63 || f.Values["w01018-Avg"] != 40.1 || len(f.Values) != 10 || f.Flags["w01018-Avg"] != "N" {
		t.Errorf("values %v flags %v", f.Values, f.Flags)
	}
	// Flag=4: no answer asked, none sent; data still delivered.
	fmt.Fprint(c, build(t, hourly("20240101100000001", 4, "123456", "DataTime=20240101090000;w00000-Cou=60.5,w00000-Flag=M")))
	noReply(t, c, r, 300*time.Millisecond)
	waitFor(t, "second frame", func() bool { return len(h.sink.Frames()) == 2 })
	if f := h.sink.Frames()[1]; f.Values["w00000-Cou"] != 60.5 || f.Flags["w00000-Cou"] != "M" {
		t.Errorf("second frame %+v", f)
	}
	if st := h.srv.Stats(); st.Delivered != 2 || st.Replies != 1 || st.Open != 1 || st.Frames != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestStreamResync: garbage between frames, two frames in one write and one frame sent a byte at
// a time are all found; a "##" with a wrong length is counted and skipped.
func TestStreamResync(t *testing.T) {
	h := start(t, Config{})
	c, r := h.dial(t)
	f1 := build(t, hourly("20240101090000001", 5, "123456", "DataTime=20240101080000;w00000-Cou=1"))
	f2 := build(t, hourly("20240101090000002", 5, "123456", "DataTime=20240101080000;w00000-Cou=2"))
	f3 := build(t, hourly("20240101090000003", 5, "123456", "DataTime=20240101080000;w00000-Cou=3"))
	bad := "##0050" + f1[6:] // length says 50, CR LF is elsewhere
	fmt.Fprint(c, "\x00\xffAT+CSQ\r\n"+f1+"junk#"+bad+f2)
	for _, b := range []byte(f3) {
		c.Write([]byte{b})
		time.Sleep(200 * time.Microsecond)
	}
	for i := range 3 {
		if got := reply(t, c, r); !strings.Contains(got, fmt.Sprintf("QN=2024010109000000%d;", i+1)) {
			t.Fatalf("answer %d: %q", i+1, got)
		}
	}
	var sum float64
	for _, f := range h.sink.Frames() {
		sum += f.Values["w00000-Cou"]
	}
	st := h.srv.Stats()
	if len(h.sink.Frames()) != 3 || sum != 6 || st.BadLength != 1 || st.Garbage < int64(len("\x00\xffAT+CSQ\r\njunk#")) {
		t.Errorf("%d frames, sum %v, stats %+v", len(h.sink.Frames()), sum, st)
	}
}

// TestRefusals: a bad CRC, a wrong password, an unknown MN and an unknown command are answered
// 9011 with the QnRtn of Table 7, counted and logged, and never delivered; the password and MN
// refusals close the connection.
func TestRefusals(t *testing.T) {
	h := start(t, Config{})
	good := build(t, hourly("20240101090000001", 5, "123456", "DataTime=20240101080000;w00000-Cou=1"))
	c, r := h.dial(t)
	fmt.Fprint(c, good[:len(good)-6]+"0000\r\n")
	if got := reply(t, c, r); !strings.Contains(got, "CN=9011;") || !strings.Contains(got, "CP=&&QnRtn=9&&") {
		t.Errorf("bad CRC answered %q", got)
	}
	fmt.Fprint(c, build(t, hj212.Packet{QN: "20240101090000002", ST: "32", CN: "3011", PW: "123456", MN: mn, Flag: 5, HasFlag: true, CP: "PolId=w01018"}))
	if got := reply(t, c, r); !strings.Contains(got, "QN=20240101090000002;") || !strings.Contains(got, "QnRtn=8&&") {
		t.Errorf("unknown CN answered %q", got)
	}
	// The connection is still open: a good frame goes through.
	fmt.Fprint(c, good)
	if got := reply(t, c, r); !strings.Contains(got, "CN=9014;") {
		t.Errorf("good frame answered %q", got)
	}

	c2, r2 := h.dial(t)
	fmt.Fprint(c2, build(t, hourly("20240101090000003", 5, "654321", "DataTime=20240101080000;w00000-Cou=99")))
	if got := reply(t, c2, r2); !strings.Contains(got, "QnRtn=3&&") {
		t.Errorf("wrong password answered %q", got)
	}
	closedByServer(t, c2, r2, 2*time.Second)

	c3, r3 := h.dial(t)
	p := hourly("20240101090000004", 5, "123456", "DataTime=20240101080000;w00000-Cou=99")
	p.MN = "NOBODY"
	fmt.Fprint(c3, build(t, p))
	if got := reply(t, c3, r3); !strings.Contains(got, "QnRtn=4&&") {
		t.Errorf("unknown MN answered %q", got)
	}
	closedByServer(t, c3, r3, 2*time.Second)

	if fs := h.sink.Frames(); len(fs) != 1 || fs[0].Values["w00000-Cou"] != 1 {
		t.Errorf("delivered %+v: only the good frame may be", fs)
	}
	st := h.srv.Stats()
	if st.BadCRC != 1 || st.UnknownCN != 1 || st.WrongPassword != 1 || st.UnknownDevice != 1 || st.Delivered != 1 {
		t.Errorf("stats %+v", st)
	}
	for _, msg := range []string{"CRC mismatch", "wrong password", "unknown device", "command not supported"} {
		if !strings.Contains(h.logs.String(), msg) {
			t.Errorf("no log line with %q", msg)
		}
	}
}

// TestSplit: a message split in three (Flag=7) is answered 9014 per part and delivered once,
// with every part's values and raw bytes.
func TestSplit(t *testing.T) {
	h := start(t, Config{})
	c, r := h.dial(t)
	cps := []string{"DataTime=20240101080000;w00000-Cou=63.0,w00000-Flag=N", "w01018-Avg=40.1,w01018-Flag=N", "w21003-Avg=1.21"}
	var raw string
	for i, cp := range cps {
		p := hourly(fmt.Sprintf("2024010109000000%d", i), 7, "123456", cp)
		p.PNUM, p.PNO = 3, i+1
		f := build(t, p)
		raw += f
		fmt.Fprint(c, f)
		if got := reply(t, c, r); !strings.Contains(got, fmt.Sprintf("QN=2024010109000000%d;ST=91;CN=9014;", i)) {
			t.Fatalf("part %d answered %q", i+1, got)
		}
		if n := len(h.sink.Frames()); n != 0 && i < 2 {
			t.Fatalf("delivered after part %d", i+1)
		}
	}
	fs := h.sink.Frames()
	if len(fs) != 1 || string(fs[0].Raw) != raw || len(fs[0].Values) != 3 || fs[0].Values["w01018-Avg"] != 40.1 || fs[0].Flags["w00000-Cou"] != "N" {
		t.Fatalf("delivered %+v", fs)
	}
	// A split message larger than the part limit is refused.
	p := hourly("20240101090000009", 7, "123456", "w00000-Cou=1")
	p.PNUM, p.PNO = 100, 1
	fmt.Fprint(c, build(t, p))
	noReply(t, c, r, 200*time.Millisecond)
	if st := h.srv.Stats(); st.SplitRefused != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestLimits: an oversize frame, a stalled frame and an idle connection are closed; connections
// beyond the cap are refused.
func TestLimits(t *testing.T) {
	h := start(t, Config{MaxFrame: 600, FrameTimeout: 200 * time.Millisecond, IdleTimeout: 400 * time.Millisecond, MaxConns: 3})
	c1, r1 := h.dial(t)
	fmt.Fprint(c1, "##0900QN=2024")
	closedByServer(t, c1, r1, 2*time.Second)

	c2, r2 := h.dial(t)
	fmt.Fprint(c2, "##0101QN=20160801085857223;ST=32")
	t0 := time.Now()
	closedByServer(t, c2, r2, 2*time.Second)
	if d := time.Since(t0); d < 150*time.Millisecond {
		t.Errorf("stalled frame closed after %v, before FrameTimeout", d)
	}

	c3, r3 := h.dial(t)
	t0 = time.Now()
	closedByServer(t, c3, r3, 3*time.Second)
	if d := time.Since(t0); d < 350*time.Millisecond {
		t.Errorf("idle connection closed after %v, before IdleTimeout", d)
	}
	waitFor(t, "connections closed", func() bool { return h.srv.Stats().Open == 0 })

	var held []net.Conn
	for range 3 {
		c, _ := h.dial(t)
		held = append(held, c)
	}
	waitFor(t, "3 open", func() bool { return h.srv.Stats().Open == 3 })
	c4, r4 := h.dial(t)
	closedByServer(t, c4, r4, 2*time.Second)
	st := h.srv.Stats()
	if st.Oversize != 1 || st.Stalled != 1 || st.Idle != 1 || st.Refused != 1 || st.Open != 3 {
		t.Errorf("stats %+v", st)
	}
	_ = held
}

// TestSinkFailure: data the Sink does not take are not answered, so the device resends them.
func TestSinkFailure(t *testing.T) {
	h := start(t, Config{})
	h.sink.Fail(gateway.ErrUnknownDevice)
	c, r := h.dial(t)
	fmt.Fprint(c, build(t, hourly("20240101090000001", 5, "123456", "DataTime=20240101080000;w00000-Cou=1")))
	noReply(t, c, r, 300*time.Millisecond)
	h.sink.Fail(errors.New("ledger unavailable"))
	fmt.Fprint(c, build(t, hourly("20240101090000002", 5, "123456", "DataTime=20240101080000;w00000-Cou=1")))
	noReply(t, c, r, 300*time.Millisecond)
	// Data without DataTime are refused before the Sink.
	fmt.Fprint(c, build(t, hourly("20240101090000003", 5, "123456", "w00000-Cou=1")))
	noReply(t, c, r, 300*time.Millisecond)
	if st := h.srv.Stats(); st.Unmapped != 1 || st.SinkErrors != 1 || st.BadData != 1 || st.Replies != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := start(t, Config{Registerer: reg})
	c, r := h.dial(t)
	fmt.Fprint(c, samples(t)[4]+"\r\n")
	reply(t, c, r)
	waitFor(t, "the answer counted", func() bool { return h.srv.Stats().Replies == 1 })
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "/" + l.GetValue()
			}
			found[name] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	if found["shuixiao_hj212_frames_total/delivered"] != 1 || found["shuixiao_hj212_connections"] != 1 || found["shuixiao_hj212_replies_total"] != 1 {
		t.Errorf("metrics %v", found)
	}
}

// TestClockRequest: a data logger asking for the time (1013, a notice) gets the notice answer
// (9013) and a 1012 setting its clock to the gateway's; its 9011/9012 answers are not answered.
func TestClockRequest(t *testing.T) {
	now := time.Date(2024, 1, 1, 1, 2, 3, 456e6, time.UTC)
	h := start(t, Config{Now: func() time.Time { return now }, IdleTimeout: time.Hour, FrameTimeout: time.Hour})
	c, r := h.dial(t)
	fmt.Fprint(c, build(t, hj212.Packet{QN: "20240101090203000", ST: "32", CN: "1013", PW: "123456", MN: mn, Flag: 5, HasFlag: true, CP: "PolId=w01018"}))
	if got := reply(t, c, r); !strings.Contains(got, "QN=20240101090203000;ST=91;CN=9013;") {
		t.Fatalf("notice answered %q", got)
	}
	set, err := hj212.Parse([]byte(reply(t, c, r)))
	if err != nil || set.CN != "1012" || set.CP != "PolId=w01018;SystemTime=20240101090203" || set.QN != "20240101090203456" || set.Flag != 5 || set.MN != mn {
		t.Fatalf("clock setting %+v %v", set, err)
	}
	fmt.Fprint(c, build(t, hj212.RequestReply(hj212.Packet{QN: set.QN, ST: "32", PW: "123456", MN: mn, Flag: 4, HasFlag: true}, hj212.QnReady)))
	fmt.Fprint(c, build(t, hj212.ExecReply(hj212.Packet{QN: set.QN, ST: "32", PW: "123456", MN: mn, Flag: 4, HasFlag: true}, hj212.ExeOK)))
	noReply(t, c, r, 300*time.Millisecond)
	if st := h.srv.Stats(); st.Notices != 1 || st.Answers != 2 || st.Replies != 2 {
		t.Errorf("stats %+v", st)
	}
}

// gateSink holds every frame until released and records how many it held at once.
type gateSink struct {
	in, most, done atomic.Int32
	release        chan struct{}
}

func (g *gateSink) Deliver(ctx context.Context, f gateway.Frame) error {
	n := g.in.Add(1)
	for m := g.most.Load(); n > m && !g.most.CompareAndSwap(m, n); m = g.most.Load() {
	}
	select {
	case <-g.release:
	case <-ctx.Done():
	}
	g.in.Add(-1)
	g.done.Add(1)
	return nil
}

// TestMaxDeliveries: a slow Sink holds at most MaxDeliveries frames at once; the others wait and
// are delivered and answered once it moves.
func TestMaxDeliveries(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gateSink{release: make(chan struct{})}
	srv := New(Config{MaxDeliveries: 2}, gatewaytest.Devices{gateway.ProtocolHJ212: {mn: "123456"}}, g, nil)
	go srv.Serve(ln)
	defer srv.Close()
	h := &harness{addr: ln.Addr().String()}
	var cs []net.Conn
	var rs []*bufio.Reader
	for i := range 5 {
		c, r := h.dial(t)
		fmt.Fprint(c, build(t, hourly(fmt.Sprintf("2024010109000000%d", i), 5, "123456", "DataTime=20240101080000;w00000-Cou=1")))
		cs, rs = append(cs, c), append(rs, r)
	}
	waitFor(t, "two frames in the Sink", func() bool { return g.in.Load() == 2 })
	time.Sleep(100 * time.Millisecond)
	if n := g.in.Load(); n != 2 {
		t.Fatalf("%d frames in the Sink at once, limit 2", n)
	}
	close(g.release)
	for i := range cs {
		if got := reply(t, cs[i], rs[i]); !strings.Contains(got, "CN=9014;") {
			t.Errorf("device %d answered %q", i, got)
		}
	}
	if g.done.Load() != 5 || g.most.Load() != 2 {
		t.Errorf("delivered %d, at most %d at once", g.done.Load(), g.most.Load())
	}
}

// TestStreamNeverIdle: a device whose every write ends inside the next frame (a busy data
// concentrator) is not cut off as stalled: each frame's FrameTimeout starts with the frame.
func TestStreamNeverIdle(t *testing.T) {
	h := start(t, Config{FrameTimeout: 300 * time.Millisecond})
	c, _ := h.dial(t)
	var stream string
	for i := range 12 {
		stream += build(t, hourly(fmt.Sprintf("202401010900000%02d", i), 4, "123456", fmt.Sprintf("DataTime=20240101080000;w00000-Cou=%d", i)))
	}
	half := len(stream) / 24 // half a frame, roughly: every write ends inside a frame
	for off := 0; off < len(stream); off += 2 * half {
		c.Write([]byte(stream[off:min(off+2*half, len(stream))]))
		time.Sleep(100 * time.Millisecond)
	}
	waitFor(t, "12 frames", func() bool { return len(h.sink.Frames()) == 12 })
	if st := h.srv.Stats(); st.Stalled != 0 || st.Open != 1 {
		t.Errorf("stats %+v", st)
	}
}
