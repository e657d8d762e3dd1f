package sl651gw

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/gateway"
	"github.com/shuixiao/shuixiao/internal/gateway/framesrv"
	"github.com/shuixiao/shuixiao/internal/gateway/gatewaytest"
	"github.com/shuixiao/shuixiao/internal/testfiles"
	"github.com/shuixiao/shuixiao/sl651"
)

// published returns frame i of testdata/sl651/frames.tsv.
func published(t testing.TB, i int) []byte {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(testfiles.ReadFile(t, "sl651", "frames.tsv"))), "\n")
	h, _, _ := strings.Cut(lines[i], "\t")
	b, err := hex.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type rig struct {
	t    testing.TB
	srv  *Server
	sink *gatewaytest.Sink
	addr string
}

var devices = gatewaytest.Devices{gateway.ProtocolSL651: {
	"0011223344": "03E8", // frames 5/6 of the published set
	"0012345678": "1234",
	"4301020007": "",
}}

func start(t testing.TB, cfg Config) *rig {
	t.Helper()
	sink := &gatewaytest.Sink{}
	srv := New(cfg, devices, sink, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, framesrv.ErrClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return &rig{t: t, srv: srv, sink: sink, addr: ln.Addr().String()}
}

func (r *rig) dial() net.Conn {
	r.t.Helper()
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { c.Close() })
	return c
}

func send(t *testing.T, c net.Conn, b []byte) {
	t.Helper()
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// readReply reads n bytes within d; nil if none came.
func readReply(t *testing.T, c net.Conn, n int, d time.Duration) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	b := make([]byte, n)
	k, err := io.ReadFull(c, b)
	if err != nil {
		return b[:k]
	}
	return b
}

// closedByServer reports whether the server closed c within d.
func closedByServer(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := c.Read(make([]byte, 1))
	return errors.Is(err, io.EOF)
}

// eventually waits up to 5 s for cond.
func eventually(cond func() bool) {
	for deadline := time.Now().Add(5 * time.Second); !cond() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReportDeliveredAndConfirmed(t *testing.T) {
	r := start(t, Config{})
	c := r.dial()
	report, confirm := published(t, 4), published(t, 5)
	send(t, c, report)
	got := readReply(t, c, len(confirm), 5*time.Second)
	if !bytes.Equal(got, confirm) {
		t.Fatalf("confirmation %X, want the published %X", got, confirm)
	}
	fs := r.sink.Frames()
	if len(fs) != 1 {
		t.Fatalf("%d frames delivered", len(fs))
	}
	f := fs[0]
	want := map[string]float64{"PJ": 4, "PT": 4, "Z": 10.49, "VT": 10.99}
	if f.Protocol != "sl651" || f.Device != "0011223344" || !bytes.Equal(f.Raw, report) ||
		f.Time.Format(time.RFC3339) != "2017-07-18T11:00:00+08:00" || len(f.Values) != len(want) {
		t.Fatalf("frame %+v", f)
	}
	for k, v := range want {
		if f.Values[k] != v {
			t.Errorf("%s = %v, want %v", k, f.Values[k], v)
		}
	}
	eventually(func() bool { return r.srv.Stats().Replies == 1 }) // counted once written
	st := r.srv.Stats()
	if st.Checked != 1 || st.Delivered != 1 || st.Confirmed != 1 || st.Replies != 1 || st.Open != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestGarbageAndBadCRC sends, in one write, garbage, a report with a bad CRC, a false
// frame start and a good keep-alive and report: only the good report is delivered and
// confirmed, and the connection stays open.
func TestGarbageAndBadCRC(t *testing.T) {
	r := start(t, Config{})
	c := r.dial()
	bad := append([]byte(nil), published(t, 2)...)
	bad[30] ^= 0x01
	var stream []byte
	stream = append(stream, "AT+CSQ\r\n\x00\x7e"...)
	stream = append(stream, bad...)
	stream = append(stream, 0x7E, 0x7E, 0x01, 0x02)
	stream = append(stream, published(t, 0)...) // keep-alive: no reply
	stream = append(stream, published(t, 2)...)
	send(t, c, stream)
	want := published(t, 3)
	if got := readReply(t, c, len(want), 5*time.Second); !bytes.Equal(got, want) {
		t.Fatalf("confirmation %X, want %X", got, want)
	}
	fs := r.sink.Frames()
	if len(fs) != 1 || fs[0].Values["Z"] != 0.127 || !bytes.Equal(fs[0].Raw, published(t, 2)) {
		t.Fatalf("delivered %+v", fs)
	}
	st := r.srv.Stats()
	if st.BadCRC != 1 || st.KeepAlives != 1 || st.Delivered != 1 || st.Garbage < 10 {
		t.Errorf("stats %+v", st)
	}
	// Still open: another report on the same connection is taken.
	send(t, c, published(t, 4))
	if got := readReply(t, c, len(published(t, 5)), 5*time.Second); !bytes.Equal(got, published(t, 5)) {
		t.Fatalf("second confirmation %X", got)
	}
}

func intake(t *testing.T) (sl651.Message, []byte) {
	t.Helper()
	obs := time.Date(2026, 12, 6, 8, 0, 0, 0, sl651.Beijing)
	m := sl651.Message{Serial: 7, SendTime: obs.Add(17 * time.Second), HasStation: true,
		Station: sl651.Station{0x43, 0x01, 0x02, 0x00, 0x07}, StationType: 'I',
		Elements: []sl651.Element{{ID: 0x28, Time: obs, Value: 1.234}, {ID: 0x3C, Time: obs, Value: 2.5},
			{ID: 0x60, Time: obs, Missing: true}, {ID: 0x28, Time: obs.Add(time.Hour), Value: 1.5}}}
	body, err := m.EncodeBody(sl651.HEX)
	if err != nil {
		t.Fatal(err)
	}
	return m, body
}

func TestMultiPacketReassembled(t *testing.T) {
	r := start(t, Config{Release: true})
	c := r.dial()
	m, body := intake(t)
	var all []byte
	for i, part := range [][]byte{body[:12], body[12:30], body[30:]} {
		end := byte(sl651.ETB)
		if i == 2 {
			end = sl651.ETX
		}
		raw, err := sl651.Frame{Centre: 1, Station: m.Station, Func: sl651.FnHourly, Packets: 3, Seq: i + 1, Body: part, End: end}.Encode()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, raw...)
		send(t, c, raw)
		time.Sleep(20 * time.Millisecond)
	}
	reply := readReply(t, c, 25, 5*time.Second)
	f, err := sl651.Parse(reply)
	if err != nil || !f.Down || f.End != sl651.EOT || f.Func != sl651.FnHourly {
		t.Fatalf("confirmation %X: %+v %v", reply, f, err)
	}
	fs := r.sink.Frames()
	if len(fs) != 2 {
		t.Fatalf("%d frames, want one per observation time", len(fs))
	}
	if fs[0].Values["Q1"] != 1.234 || fs[0].Values["Z1"] != 2.5 || len(fs[0].Values) != 2 || fs[1].Values["Q1"] != 1.5 ||
		!fs[1].Time.Equal(fs[0].Time.Add(time.Hour)) || !bytes.Equal(fs[0].Raw, all) {
		t.Errorf("frames %+v", fs)
	}
	if st := r.srv.Stats(); st.Packets != 3 || st.Delivered != 2 || st.Confirmed != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestASCIIFrame(t *testing.T) {
	r := start(t, Config{})
	c := r.dial()
	m, _ := intake(t)
	m.Elements[2].Missing, m.Elements[2].Value = false, 12.5
	body, err := m.EncodeBody(sl651.ASCII)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := sl651.Frame{Mode: sl651.ASCII, Centre: 1, Station: m.Station, Func: sl651.FnTimed, Body: body, End: sl651.ETX}.Encode()
	send(t, c, raw)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	reply := make([]byte, 64)
	n, _ := c.Read(reply)
	if f, err := sl651.Parse(reply[:n]); err != nil || f.Mode != sl651.ASCII || !f.Down {
		t.Fatalf("confirmation %q: %v", reply[:n], err)
	}
	if fs := r.sink.Frames(); len(fs) != 2 || fs[0].Values["SYL1"] != 12.5 {
		t.Errorf("frames %+v", fs)
	}
}

func TestRefusals(t *testing.T) {
	r := start(t, Config{})
	// A station the gateway does not know: no reading, connection closed.
	c := r.dial()
	unknown, _ := sl651.Frame{Centre: 1, Station: sl651.Station{9, 9, 9, 9, 9}, Func: sl651.FnTimed, Body: published(t, 4)[14:57], End: sl651.ETX}.Encode()
	send(t, c, unknown)
	if !closedByServer(c, 5*time.Second) {
		t.Error("unknown station kept connected")
	}
	// A wrong password: the same.
	c = r.dial()
	f, _ := sl651.Parse(published(t, 4))
	f.Password = 0x1111
	wrong, _ := f.Encode()
	send(t, c, wrong)
	if !closedByServer(c, 5*time.Second) {
		t.Error("wrong password kept connected")
	}
	// The Sink fails: no confirmation, so the station will send again.
	r.sink.Fail(errors.New("ledger unavailable"))
	c = r.dial()
	send(t, c, published(t, 4))
	eventually(func() bool { return r.srv.Stats().SinkErrors == 1 })
	if got := readReply(t, c, 1, 100*time.Millisecond); len(got) != 0 {
		t.Errorf("confirmed a report the Sink did not take: %X", got)
	}
	r.sink.Fail(nil)
	if fs := r.sink.Frames(); len(fs) != 0 {
		t.Errorf("readings from refused frames: %+v", fs)
	}
	st := r.srv.Stats()
	if st.UnknownDevice != 1 || st.WrongPassword != 1 || st.SinkErrors != 1 || st.Confirmed != 0 || st.Closed != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestLimits(t *testing.T) {
	r := start(t, Config{Config: framesrv.Config{MaxConns: 2, MaxFrame: 50, FrameTimeout: 200 * time.Millisecond,
		IdleTimeout: 400 * time.Millisecond}})
	// Oversize: the 60-byte report is over the 50-byte limit and skipped (no reading, no reply).
	big := r.dial()
	send(t, big, published(t, 4))
	// Stalled inside a frame.
	stalled := r.dial()
	send(t, stalled, published(t, 0)[:20])
	// Beyond the cap.
	time.Sleep(50 * time.Millisecond)
	third := r.dial()
	if !closedByServer(third, 5*time.Second) {
		t.Error("connection over the cap kept")
	}
	if !closedByServer(stalled, 5*time.Second) {
		t.Error("stalled peer kept")
	}
	if !closedByServer(big, 5*time.Second) {
		t.Error("idle peer kept")
	}
	eventually(func() bool { return r.srv.Stats().Open == 0 }) // counted just after the peer sees the close
	st := r.srv.Stats()
	if st.Refused != 1 || st.Stalled != 1 || st.Idle != 1 || st.Oversize < 1 || st.Delivered != 0 || st.Open != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestManyStations connects 200 stations at once, each sending its report; every one is
// delivered and confirmed.
func TestManyStations(t *testing.T) {
	const n = 200
	r := start(t, Config{})
	report, confirm := published(t, 4), published(t, 5)
	errs := make(chan error, n)
	for range n {
		go func() {
			c, err := net.Dial("tcp", r.addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			if _, err := c.Write(report); err != nil {
				errs <- err
				return
			}
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			got := make([]byte, len(confirm))
			if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, confirm) {
				errs <- fmt.Errorf("confirmation %X: %v", got, err)
				return
			}
			errs <- nil
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := len(r.sink.Frames()); got != n {
		t.Errorf("%d frames delivered, want %d", got, n)
	}
}
