// Package hj212gw is the HJ 212-2017 TCP server of the gateway: data loggers (数采仪) of online
// monitoring systems connect to it and keep their connection; it finds frames in the byte stream
// (resynchronising on "##" after garbage), checks length and CRC, the device's MN and password,
// puts split packets back together, hands each data upload (2011 real-time, 2051 minute, 2061
// hour, 2031 day, 2021/2041 equipment state and running time) to a gateway.Sink, and answers as
// the standard asks: 9014 once the Sink has taken the data and the packet's Flag asks for an
// answer, 9011 with the QnRtn of Table 7 to a packet it refuses (wrong password, unknown MN,
// unknown command, bad CRC), and sets the clock (1012) of a data logger that asks (1013). Oversize frames, stalled and idle peers and connections beyond the
// cap are cut off; every refusal is counted (Stats, Prometheus) and logged.
package hj212gw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shuixiao/shuixiao/hj212"
	"github.com/shuixiao/shuixiao/internal/gateway"
)

// Config bounds the server. Zero fields take the defaults.
type Config struct {
	// MaxFrame is the largest frame accepted, "##" to CR LF; a length field stating more closes
	// the connection. Default 4096 bytes (the standard allows a 1024-byte data segment; devices
	// in the field send more).
	MaxFrame int
	// MaxConns is the number of connections held at once; one more is closed at accept.
	// Default 10,000.
	MaxConns int
	// IdleTimeout closes a connection that sends nothing for this long between frames (a
	// half-open socket whose peer is gone). Default 15 min: data loggers send minute data every
	// 10 min at the slowest common setting, and a heartbeat or real-time data more often.
	IdleTimeout time.Duration
	// FrameTimeout closes a connection whose frame, once begun, is not complete within it (a
	// stalled peer). Default 30 s.
	FrameTimeout time.Duration
	// WriteTimeout bounds writing an answer. Default 10 s.
	WriteTimeout time.Duration
	// DeliverTimeout bounds the Sink's work on one frame. Default 30 s.
	DeliverTimeout time.Duration
	// MaxDeliveries bounds the frames handed to the Sink at once over all connections; a
	// connection whose frame waits for a slot reads nothing more meanwhile. When the platform
	// behind the Sink lags, this keeps the frames, readings and signatures in flight (and the
	// gateway's memory) bounded instead of one per connection. Default 512.
	MaxDeliveries int
	// KeepAlive is the TCP keep-alive period of accepted connections; negative: off. Default 60 s.
	KeepAlive time.Duration
	// Split bounds the split-packet reassembly of each connection.
	Split hj212.SplitLimits
	// SplitBudget bounds the bytes all connections' pending split packets hold together.
	// Default 16 MiB.
	SplitBudget int
	// Registerer receives the server's Prometheus metrics; nil: none.
	Registerer prometheus.Registerer
	// Now is the clock of the protocol (the time 1012 sets, split-packet timeouts); socket
	// deadlines use the wall clock. Default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.MaxFrame <= 0 {
		c.MaxFrame = 4096
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 10000
	}
	def(&c.IdleTimeout, 15*time.Minute)
	def(&c.FrameTimeout, 30*time.Second)
	def(&c.WriteTimeout, 10*time.Second)
	def(&c.DeliverTimeout, 30*time.Second)
	def(&c.KeepAlive, 60*time.Second)
	if c.MaxDeliveries <= 0 {
		c.MaxDeliveries = 512
	}
	if c.SplitBudget <= 0 {
		c.SplitBudget = 16 << 20
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// ErrClosed is returned by Serve after Close; it is a net.ErrClosed (errors.Is).
var ErrClosed = fmt.Errorf("hj212gw: server closed: %w", net.ErrClosed)

// Server is the HJ 212 TCP server. Its methods are safe for concurrent use.
type Server struct {
	cfg     Config
	devices gateway.Devices
	sink    gateway.Sink
	log     *slog.Logger
	ctx     context.Context
	cancel  context.CancelFunc

	mu     sync.Mutex
	closed bool
	lns    map[net.Listener]struct{}
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup

	deliveries chan struct{} // a slot per frame in the Sink (MaxDeliveries)
	open       atomic.Int64
	splitHeld  atomic.Int64
	n          counters
}

// New returns a server that checks devices against devices and delivers data to sink.
func New(cfg Config, devices gateway.Devices, sink gateway.Sink, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg.withDefaults(), devices: devices, sink: sink, log: log.With("gateway", gateway.ProtocolHJ212),
		ctx: ctx, cancel: cancel, lns: map[net.Listener]struct{}{}, conns: map[net.Conn]struct{}{}}
	s.deliveries = make(chan struct{}, s.cfg.MaxDeliveries)
	if s.cfg.Registerer != nil {
		s.cfg.Registerer.MustRegister(collector{s})
	}
	return s
}

// Serve accepts connections on ln until Close; it returns ErrClosed then, or the listener's
// error.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrClosed
	}
	s.lns[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.lns, ln)
		s.mu.Unlock()
	}()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) || isTemporary(err) {
				// Out of file descriptors and the like: wait and try again, as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed; retrying", "err", err, "in", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		s.n.accepted.Add(1)
		if s.open.Load() >= int64(s.cfg.MaxConns) {
			s.n.refused.Add(1)
			s.log.Warn("connection refused: at the connection cap", "remote", c.RemoteAddr().String(), "cap", s.cfg.MaxConns)
			c.Close()
			continue
		}
		if !s.track(c) {
			c.Close()
			return ErrClosed
		}
		go s.serveConn(c)
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// track registers an accepted connection; false once the server is closed.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.open.Add(1)
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.open.Add(-1)
	s.wg.Done()
}

// Close stops accepting, closes every connection, cancels deliveries in progress and waits for
// the connections' goroutines to end.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for ln := range s.lns {
		ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}
