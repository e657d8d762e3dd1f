package szy206gw

import (
	"bytes"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/gateway/framesrv"
	"github.com/shuixiao/shuixiao/internal/gateway/gatewaytest"
	"github.com/shuixiao/shuixiao/szy206"
)

// FuzzConn feeds arbitrary bytes to one connection of the server and checks what it
// delivers: every frame's Raw is frames the peer sent that pass their checks, from a
// known terminal, and its values are finite. Seeds: testdata/fuzz/FuzzConn.
func FuzzConn(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		sink := &gatewaytest.Sink{}
		srv := New(Config{Config: framesrv.Config{MaxConns: 1}, Now: func() time.Time { return now }}, devices, sink, nil)
		defer srv.Close()
		gatewaytest.Feed(srv.ServeConn, data)
		for _, fr := range sink.Frames() {
			for raw := fr.Raw; len(raw) > 0; {
				n, err := szy206.FrameLen(raw)
				if err != nil || n == 0 || n > len(raw) || !bytes.Contains(data, raw[:n]) {
					t.Fatalf("delivered Raw is not frames the peer sent: %X (%v)", fr.Raw, err)
				}
				p, err := szy206.Parse(raw[:n])
				if err != nil {
					t.Fatalf("delivered a frame that fails its checks: %v", err)
				}
				if _, ok := devices.Device("szy206", p.Address.String()); !ok {
					t.Fatalf("delivered a frame of unknown terminal %s", p.Address)
				}
				raw = raw[n:]
			}
			for k, v := range fr.Values {
				if v != v || v > 1e15 || v < -1e15 {
					t.Fatalf("%s = %v", k, v)
				}
			}
		}
	})
}
