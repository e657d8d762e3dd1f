package broker

import (
	"fmt"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// countConn is a connection whose writes always succeed at once; it counts
// the bytes written.
type countConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1883} }
func (c countConn) LocalAddr() net.Addr  { return c.RemoteAddr() }

func (c countConn) Write(b []byte) (int, error) {
	c.n.Add(int64(len(b)))
	return len(b), nil
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAckWriterIdle answers batches of readings, one reading on each
// of many connections per batch, as the pipeline does when every device
// reports now and then: each PUBACK finds its connection's writer idle.
// The next batch waits until every PUBACK is written. "inline" writes each
// PUBACK on the caller's goroutine, the floor the writer's hand-off is
// measured against; cpu-ns/op counts every goroutine's CPU.
func BenchmarkAckWriterIdle(b *testing.B) {
	const conns = 1000
	srv := mqtt.New(&mqtt.Options{})
	for _, mode := range []string{"writer", "inline"} {
		b.Run(mode, func(b *testing.B) {
			var written atomic.Int64
			ws := make([]*ackWriter, conns)
			for i := range ws {
				cl := srv.NewClient(countConn{n: &written}, "bench", fmt.Sprint("d", i), false)
				ws[i] = &ackWriter{cl: cl}
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for i := 0; i < b.N; {
				for _, w := range ws {
					if i == b.N {
						break
					}
					id := uint16(i)
					i++
					if mode == "inline" {
						w.cl.Lock()
						_, _ = w.cl.Net.Conn.Write([]byte{packets.Puback << 4, 2, byte(id >> 8), byte(id)})
						w.cl.Unlock()
						continue
					}
					w.success(id)
				}
				for written.Load() != 4*int64(i) {
					time.Sleep(20 * time.Microsecond)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkHookPublish is the broker's own work for a reading of one of
// many connections, from the topic's ACL check to the PUBACK written:
// OnACLCheck and OnPublish as mochi calls them, the reading answered at
// once. cpu-ns/op counts every goroutine's CPU, the PUBACK writer's too.
func BenchmarkHookPublish(b *testing.B) {
	const conns = 1000
	br, err := New(Options{Addr: "127.0.0.1:0", Publishes: Limit{Rate: -1},
		Authenticate: func(string, []byte) bool { return true },
		OnReading:    func(_ Reading, ack func(Ack)) { ack(Ack{Code: CodeSuccess}) }})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	h := &hook{b: br}
	var written atomic.Int64
	cls := make([]*mqtt.Client, conns)
	for i := range cls {
		cls[i] = br.srv.NewClient(countConn{n: &written}, "bench", fmt.Sprint("d", i), false)
		cls[i].Properties.Username = fmt.Appendf(nil, "meter-%06d", i)
		cls[i].Net.Remote = "127.0.0.1:40000"
	}
	payload := make([]byte, 300)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < b.N; {
		for _, cl := range cls {
			if i == b.N {
				break
			}
			i++
			topic := ReadingsPrefix + string(cl.Properties.Username)
			if !h.OnACLCheck(cl, topic, true) {
				b.Fatal("ACL refused the device's own topic")
			}
			pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, TopicName: topic, PacketID: uint16(i), Payload: payload}
			if _, err := h.OnPublish(cl, pk); err != packets.ErrRejectPacket {
				b.Fatal(err)
			}
		}
		for written.Load() != 4*int64(i) {
			time.Sleep(20 * time.Microsecond)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}
