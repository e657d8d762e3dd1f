package hj212gw

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/hj212"
	"github.com/shuixiao/shuixiao/internal/gateway"
	"github.com/shuixiao/shuixiao/internal/gateway/gatewaytest"
)

// FuzzConn feeds arbitrary bytes to one connection of the server (over net.Pipe): it never
// panics, every frame it delivers passed its checks and came from the known device with its
// password, and the connection ends.
func FuzzConn(f *testing.F) {
	for _, l := range strings.Split(strings.TrimSpace(string(readSamples(f))), "\n") {
		f.Add([]byte(l + "\r\n" + l + "\r\n"))
	}
	split := "QN=20240101090000000;ST=32;CN=2061;PW=123456;MN=" + mn + ";Flag=7;PNUM=2;PNO=1;CP=&&DataTime=20240101080000;w00000-Cou=1&&"
	b, _ := hj212.Build(hj212.Packet{QN: "20240101090000001", ST: "32", CN: "2061", PW: "123456", MN: mn, Flag: 7, HasFlag: true, PNUM: 2, PNO: 2, CP: "w01018-Avg=2"})
	f.Add([]byte(frameOf(split) + "garbage" + string(b)))
	f.Fuzz(func(t *testing.T, in []byte) {
		sink := &gatewaytest.Sink{}
		s := New(Config{MaxFrame: 2048, FrameTimeout: 50 * time.Millisecond, IdleTimeout: 50 * time.Millisecond},
			gatewaytest.Devices{gateway.ProtocolHJ212: {mn: "123456"}}, sink, nil)
		defer s.Close()
		client, server := net.Pipe()
		if !s.track(server) {
			t.Fatal("server closed")
		}
		go s.serveConn(server)
		go io.Copy(io.Discard, client)
		client.SetWriteDeadline(time.Now().Add(time.Second))
		client.Write(in)
		client.Close()
		s.Close()
		for _, fr := range sink.Frames() {
			if fr.Device != mn || len(fr.Raw) == 0 {
				t.Fatalf("delivered %+v", fr)
			}
			// Every part of what was delivered passes the frame checks with the right password.
			for rest := fr.Raw; len(rest) > 0; {
				skip, n, err := hj212.Next(rest, 1<<20)
				if err != nil || skip != 0 || n == 0 {
					t.Fatalf("delivered raw %q is not whole frames", fr.Raw)
				}
				p, err := hj212.Parse(rest[:n])
				if err != nil || p.PW != "123456" || p.MN != mn {
					t.Fatalf("delivered part %q: %+v %v", rest[:n], p, err)
				}
				rest = rest[n:]
			}
		}
	})
}

func frameOf(seg string) string {
	b, _ := hj212.Build(mustSegment(seg))
	return string(b)
}

func mustSegment(seg string) hj212.Packet {
	p, err := hj212.ParseSegment(seg)
	if err != nil {
		panic(err)
	}
	return p
}
