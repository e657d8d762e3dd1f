package main

import (
	"bufio"
	"bytes"
	"io"
	"testing"
)

// TestLoadConnWire: the load generator's PUBLISH is the MQTT 3.1.1 QoS 1
// packet, and its PUBACK reader returns the packet IDs in order, reports a
// failure reason code (MQTT 5 form), and allocates nothing per publish or
// acknowledgement (it runs once per reading of a bench).
func TestLoadConnWire(t *testing.T) {
	var out bytes.Buffer
	c := &loadConn{w: bufio.NewWriter(&out)}
	if err := c.publish("t/1", 0x0102, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	c.flush()
	want := []byte{0x32, 9, 0, 3, 't', '/', '1', 1, 2, 'h', 'i'}
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("PUBLISH % x, want % x", out.Bytes(), want)
	}
	acks := []byte{0x40, 2, 0, 1, 0x40, 3, 0, 2, 0, 0x40, 4, 0x12, 0x34, 0x87, 0, 0x40, 2, 0, 4}
	c = &loadConn{r: bufio.NewReader(bytes.NewReader(acks))}
	for _, w := range []struct {
		id     uint16
		failed bool
	}{{1, false}, {2, false}, {0x1234, true}, {4, false}} {
		id, err := c.readAck()
		if id != w.id || (err != nil) != w.failed {
			t.Fatalf("readAck = %#x, %v; want %#x, failed %v", id, err, w.id, w.failed)
		}
	}
	if _, err := c.readAck(); err != io.EOF {
		t.Fatalf("after the last ack: %v", err)
	}
	if _, err := (&loadConn{r: bufio.NewReader(bytes.NewReader([]byte{0x30, 2, 0, 1}))}).readAck(); err == nil {
		t.Fatal("a PUBLISH read as a PUBACK")
	}

	many := bytes.Repeat([]byte{0x40, 2, 0, 7}, 1000)
	c = &loadConn{r: bufio.NewReader(bytes.NewReader(many)), w: bufio.NewWriterSize(io.Discard, 64<<10)}
	payload := make([]byte, 300)
	if n := testing.AllocsPerRun(200, func() {
		if _, err := c.readAck(); err != nil {
			t.Fatal(err)
		}
		if err := c.publish("shuixiao/v1/readings/BM000001", 7, payload); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per publish and acknowledgement, want 0", n)
	}
}
