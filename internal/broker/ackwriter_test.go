package broker

import (
	"encoding/binary"
	"io"
	"net"
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

// A device that does not read its socket: success never blocks the
// goroutine that answers the readings (the batch's other devices wait on
// it), and once the device reads, every PUBACK arrives, in order.
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
