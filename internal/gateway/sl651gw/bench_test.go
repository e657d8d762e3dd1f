package sl651gw

import (
	"bytes"
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

// BenchmarkReportRoundTrip measures reports through the server over loopback TCP: each
// connection sends the published timed report and waits for its confirmation before the
// next (the station's M2 mode), with as many connections as -cpu × GOMAXPROCS; the Sink
// records in memory. reports/s is the server's rate end to end.
func BenchmarkReportRoundTrip(b *testing.B) {
	r := start(b, Config{})
	report, confirm := published(b, 4), published(b, 5)
	b.ReportAllocs()
	begin := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("tcp", r.addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		got := make([]byte, len(confirm))
		for pb.Next() {
			if _, err := c.Write(report); err != nil {
				b.Error(err)
				return
			}
			if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, confirm) {
				b.Errorf("confirmation %X %v", got, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(begin).Seconds(), "reports/s")
}

// BenchmarkHeldConnections holds 1,000 station connections, each after one keep-alive,
// and reports heap and goroutine stack per held connection (client sockets included: both
// ends live in this process).
func BenchmarkHeldConnections(b *testing.B) {
	const n = 1000
	keep := published(b, 0) // keep-alive of station 0012345678
	for b.Loop() {
		r := start(b, Config{})
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		conns := make([]net.Conn, 0, n)
		for range n {
			c, err := net.Dial("tcp", r.addr)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Write(keep); err != nil {
				b.Fatal(err)
			}
			conns = append(conns, c)
		}
		for deadline := time.Now().Add(10 * time.Second); r.srv.Stats().KeepAlives < n && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/n, "heap-B/conn")
		b.ReportMetric(float64(after.StackInuse-before.StackInuse)/n, "stack-B/conn")
		for _, c := range conns {
			c.Close()
		}
		r.srv.Close()
	}
}
