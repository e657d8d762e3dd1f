package sl651gw

import (
	"bytes"
	"io"
	"net"
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
