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
// measured against; cpu-ns/op counts every goroutine's CPU. The
// connections are not sockets, so "writer" always hands the PUBACK to the
// writer's goroutine (BenchmarkAckWriterTCP: on sockets).
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
			answerRounds(b, ws, &written, func(w *ackWriter, id uint16) {
				if mode == "inline" {
					w.cl.Lock()
					_, _ = w.cl.Net.Conn.Write([]byte{packets.Puback << 4, 2, byte(id >> 8), byte(id)})
					w.cl.Unlock()
					return
				}
				w.success(id)
			})
		})
	}
}

// answerRounds answers b.N readings in rounds of one on each writer of ws,
// the next round once written counts every PUBACK of the last, and
// reports the CPU time (every goroutine's) per reading.
func answerRounds(b *testing.B, ws []*ackWriter, written *atomic.Int64, answer func(w *ackWriter, id uint16)) {
	written.Store(0)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < b.N; {
		for _, w := range ws {
			if i == b.N {
				break
			}
			answer(w, uint16(i))
			i++
		}
		for written.Load() != 4*int64(i) {
			time.Sleep(20 * time.Microsecond)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
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

// BenchmarkAckWriterTCP is BenchmarkAckWriterIdle on loopback TCP
// sockets, each drained by its device's reader: "success" is the writer as
// it is (the PUBACK written by the answering goroutine when the socket
// takes it), "goroutine" hands every PUBACK that finds the writer idle to
// the writer's goroutine, as it did before. cpu-ns/op counts every
// goroutine's CPU, the readers' too.
func BenchmarkAckWriterTCP(b *testing.B) {
	const conns = 200
	srv := mqtt.New(&mqtt.Options{})
	var read atomic.Int64
	ws := make([]*ackWriter, conns)
	for i := range ws {
		s, c := tcpPair(b)
		go func() {
			buf := make([]byte, 4096)
			for {
				n, err := c.Read(buf)
				read.Add(int64(n))
				if err != nil {
					return
				}
			}
		}()
		ws[i] = &ackWriter{cl: srv.NewClient(s, "tcp", fmt.Sprint("d", i), false)}
	}
	for _, mode := range []string{"success", "goroutine"} {
		b.Run(mode, func(b *testing.B) {
			answerRounds(b, ws, &read, func(w *ackWriter, id uint16) {
				if mode == "success" {
					w.success(id)
					return
				}
				w.mu.Lock()
				w.buf = append(w.buf, packets.Puback<<4, 2, byte(id>>8), byte(id))
				start := !w.writing
				w.writing = true
				w.mu.Unlock()
				if start {
					go w.flush()
				}
			})
		})
	}
}
