// Package gatewaytest holds what the protocol servers' tests share: a Sink that records
// the frames delivered to it (and can be told to refuse them) and a fixed device list.
package gatewaytest

import (
	"context"
	"io"
	"net"
	"sync"
	"time"

	"github.com/shuixiao/shuixiao/internal/gateway"
)

// Sink records delivered frames. Its zero value takes everything.
type Sink struct {
	mu     sync.Mutex
	frames []gateway.Frame
	err    error
	signal chan struct{}
}

// Deliver records f, or returns the error set by Fail without recording it.
func (s *Sink) Deliver(ctx context.Context, f gateway.Frame) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.frames = append(s.frames, f)
	if s.signal != nil {
		close(s.signal)
		s.signal = nil
	}
	return nil
}

// Fail makes every later Deliver return err (nil: take frames again).
func (s *Sink) Fail(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

// Frames returns the frames delivered so far.
func (s *Sink) Frames() []gateway.Frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]gateway.Frame(nil), s.frames...)
}

// Wait returns the frames once at least n were delivered, or what there is after d.
func (s *Sink) Wait(n int, d time.Duration) []gateway.Frame {
	deadline := time.Now().Add(d)
	for {
		s.mu.Lock()
		if len(s.frames) >= n || time.Now().After(deadline) {
			out := append([]gateway.Frame(nil), s.frames...)
			s.mu.Unlock()
			return out
		}
		if s.signal == nil {
			s.signal = make(chan struct{})
		}
		ch := s.signal
		s.mu.Unlock()
		select {
		case <-ch:
		case <-time.After(time.Until(deadline)):
		}
	}
}

// Devices is a fixed device list: protocol → device ID → password.
type Devices map[string]map[string]string

// Device reports whether the device is listed and its password.
func (d Devices) Device(protocol, id string) (gateway.DeviceInfo, bool) {
	pw, ok := d[protocol][id]
	return gateway.DeviceInfo{Password: pw}, ok
}

// Feed sends data to a server over one in-memory connection (net.Pipe), discarding
// its replies, and returns once the server has ended the connection.
func Feed(serveConn func(net.Conn), data []byte) {
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() {
		serveConn(server)
		close(done)
	}()
	go io.Copy(io.Discard, client)
	client.Write(data)
	client.Close()
	<-done
}
