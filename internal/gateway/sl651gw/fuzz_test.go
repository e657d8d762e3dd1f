package sl651gw

import (
	"bytes"
	"testing"

	"github.com/shuixiao/shuixiao/internal/gateway/framesrv"
	"github.com/shuixiao/shuixiao/internal/gateway/gatewaytest"
	"github.com/shuixiao/shuixiao/sl651"
)

// FuzzConn feeds arbitrary bytes to one connection of the server and checks what it
// delivers: every frame's Raw is bytes the peer sent, made of whole frames that pass
// their checks, from a known station. Seeds: testdata/fuzz/FuzzConn.
func FuzzConn(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		sink := &gatewaytest.Sink{}
		srv := New(Config{Config: framesrv.Config{MaxConns: 1}}, devices, sink, nil)
		defer srv.Close()
		gatewaytest.Feed(srv.ServeConn, data)
		for _, fr := range sink.Frames() {
			for raw := fr.Raw; len(raw) > 0; {
				n, err := sl651.FrameLen(raw)
				if err != nil || n == 0 || n > len(raw) {
					t.Fatalf("delivered Raw is not whole frames: %X (%v)", fr.Raw, err)
				}
				if !bytes.Contains(data, raw[:n]) {
					t.Fatalf("delivered bytes the peer did not send: %X", raw[:n])
				}
				p, err := sl651.Parse(raw[:n])
				if err != nil {
					t.Fatalf("delivered a frame that fails its checks: %v", err)
				}
				if _, ok := devices.Device("sl651", p.Station.String()); !ok {
					t.Fatalf("delivered a frame of unknown station %s", p.Station)
				}
				raw = raw[n:]
			}
		}
	})
}
