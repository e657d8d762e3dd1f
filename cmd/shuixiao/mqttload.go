package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// loadConn is a minimal MQTT 3.1.1 publisher for load generation: CONNECT
// with credentials, QoS 1 PUBLISH with a window of packets in flight, and
// PUBACK matching. It speaks the real protocol bytes, but leaves out
// everything a device needs and a load generator does not (keep-alive,
// reconnection, subscriptions), so that the machine's CPU goes to the
// server under test rather than to the clients.
type loadConn struct {
	conn net.Conn
	w    *bufio.Writer
	r    *bufio.Reader
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func appendRemaining(b []byte, n int) []byte {
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}

func dialLoad(addr, clientID, user, password string) (*loadConn, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	var vh []byte
	vh = appendString(vh, "MQTT")
	vh = append(vh, 4, 0x80|0x40|0x02, 0, 0) // level 4; username, password, clean session; no keep-alive
	vh = appendString(vh, clientID)
	vh = appendString(vh, user)
	vh = appendString(vh, password)
	pkt := appendRemaining([]byte{0x10}, len(vh))
	pkt = append(pkt, vh...)
	if _, err := conn.Write(pkt); err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var ack [4]byte
	if _, err := io.ReadFull(conn, ack[:]); err != nil {
		conn.Close()
		return nil, fmt.Errorf("connack: %w", err)
	}
	conn.SetReadDeadline(time.Time{})
	if ack[0] != 0x20 || ack[3] != 0 {
		conn.Close()
		return nil, fmt.Errorf("connection refused: CONNACK % x", ack)
	}
	return &loadConn{conn: conn, w: bufio.NewWriterSize(conn, 64<<10), r: bufio.NewReaderSize(conn, 16<<10)}, nil
}

// publish buffers a QoS 1 PUBLISH; Flush sends what is buffered. The
// header is written into the buffer's free space: nothing is allocated
// per publish.
func (c *loadConn) publish(topic string, id uint16, payload []byte) error {
	n := 2 + len(topic) + 2 + len(payload)
	hdr := appendRemaining(append(c.w.AvailableBuffer(), 0x32), n)
	hdr = appendString(hdr, topic)
	hdr = binary.BigEndian.AppendUint16(hdr, id)
	if _, err := c.w.Write(hdr); err != nil {
		return err
	}
	_, err := c.w.Write(payload)
	return err
}

func (c *loadConn) flush() error { return c.w.Flush() }

// readAck returns the packet ID of the next PUBACK. It reads the packet
// in place in the reader's buffer (Peek, then Discard): nothing is
// allocated per acknowledgement.
func (c *loadConn) readAck() (uint16, error) {
	b, err := c.r.Peek(2)
	if err != nil {
		return 0, err
	}
	if b[0]&0xf0 != 0x40 || b[1] < 2 {
		return 0, fmt.Errorf("expected PUBACK, got packet type %#x", b[0]>>4)
	}
	n := 2 + int(b[1])
	if b, err = c.r.Peek(n); err != nil {
		return 0, err
	}
	id := binary.BigEndian.Uint16(b[2:])
	failed := n > 4 && b[4] >= 0x80
	if _, err := c.r.Discard(n); err != nil {
		return 0, err
	}
	if failed {
		return id, errors.New("PUBACK with a failure reason")
	}
	return id, nil
}

func (c *loadConn) close() error {
	c.w.Write([]byte{0xe0, 0}) // DISCONNECT
	c.w.Flush()
	return c.conn.Close()
}
