package broker

import (
	"encoding/binary"
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// tcpPair returns the two ends of a loopback TCP connection, the server's
// as the connect guard hands it to mochi.
func tcpPair(t *testing.T) (server net.Conn, client *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return &guardedConn{Conn: s, g: &connectGuard{slots: make(chan struct{}, 1)}}, c.(*net.TCPConn)
}

// readAcks reads n PUBACKs from c and fails unless their packet IDs are
// first, first+1, … in order.
func readAcks(t *testing.T, c net.Conn, first uint16, n int) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4*n)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("reading %d PUBACKs: %v", n, err)
	}
	for i := range n {
		p := buf[4*i : 4*i+4]
		if p[0] != packets.Puback<<4 || p[1] != 2 {
			t.Fatalf("PUBACK %d: % x", i, p)
		}
		if id := binary.BigEndian.Uint16(p[2:]); id != first+uint16(i) {
			t.Fatalf("PUBACK %d has packet ID %d, want %d", i, id, first+uint16(i))
		}
	}
}

// The PUBACK that finds its writer idle is written by the goroutine that
// answers the reading, not handed to a goroutine of its own that waits to
// be scheduled: with one P and no yield, the writer is idle again when
// success returns.
func TestAckWrittenByTheAnsweringGoroutine(t *testing.T) {
	srv := mqtt.New(&mqtt.Options{})
	s, c := tcpPair(t)
	w := &ackWriter{cl: srv.NewClient(s, "tcp", "d1", false)}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	w.success(7)
	w.mu.Lock()
	writing, waiting := w.writing, len(w.buf)
	w.mu.Unlock()
	if writing || waiting != 0 {
		t.Fatalf("after success: writing %v, %d bytes waiting; want the PUBACK written", writing, waiting)
	}
	readAcks(t, c, 7, 1)
}

// A device that does not read its socket: success never blocks the
// answering goroutine, and once the device reads, every PUBACK arrives,
// in order — the part the socket did not take first, then those queued
// meanwhile.
func TestAckWriterSocketFull(t *testing.T) {
	srv := mqtt.New(&mqtt.Options{})
	s, c := tcpPair(t)
	_ = c.SetReadBuffer(4 << 10)
	_ = s.(*guardedConn).Conn.(*net.TCPConn).SetWriteBuffer(4 << 10)
	w := &ackWriter{cl: srv.NewClient(s, "tcp", "d1", false)}
	const n = 20000 // 80 KB, far more than both buffers hold
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			w.success(uint16(i))
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("success blocked on a device that does not read")
	}
	readAcks(t, c, 0, n)
}

// A connection that frames its writes (here a wrapper that is not a plain
// socket) is never written to underneath: its PUBACKs go through its own
// Write.
func TestAckWriterFramedConnection(t *testing.T) {
	srv := mqtt.New(&mqtt.Options{})
	s, c := tcpPair(t)
	framed := &countingConn{Conn: s}
	w := &ackWriter{cl: srv.NewClient(framed, "tcp", "d1", false)}
	for i := range 100 {
		w.success(uint16(i))
	}
	readAcks(t, c, 0, 100)
	if got := framed.written.Load(); got != 400 {
		t.Fatalf("the connection's Write saw %d bytes, want 400", got)
	}
}

// countingConn stands for a connection that frames what it writes: it
// counts the bytes that pass through its Write.
type countingConn struct {
	net.Conn
	written atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.written.Add(int64(len(b)))
	return c.Conn.Write(b)
}
