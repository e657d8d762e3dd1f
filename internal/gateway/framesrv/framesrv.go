// Package framesrv is the TCP side the gateway's length-framed protocol servers share
// (SL 651-2014 in sl651gw, SZY 206-2016 in szy206gw): it accepts device connections up to
// a cap and keeps them, finds frames in each byte stream with the protocol's splitter
// (dropping garbage between frames and resynchronising one byte past a header that is
// not a frame or a frame that fails its checks), hands each candidate frame to the
// connection's Session, writes the Session's reply, and cuts off oversize frames, peers
// that stall inside a frame and connections idle longer than the idle timeout (a
// half-open socket whose device is gone). Every such event is counted in Stats.
package framesrv

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config bounds a server. Zero fields take the defaults.
type Config struct {
	// MaxFrame is the largest frame accepted; a header stating more is counted as
	// oversize and skipped. Default: the protocol's own maximum.
	MaxFrame int
	// MaxConns is the number of connections held at once; one more is closed at accept.
	// Default 10,000.
	MaxConns int
	// IdleTimeout closes a connection that sends nothing for this long between frames.
	// Default 10 min (SL 651 stations keep the link every 1–255 s, 40 s recommended;
	// SZY 206 terminals send keep-alives at a similar period).
	IdleTimeout time.Duration
	// FrameTimeout closes a connection whose frame, once begun, is not complete within
	// it. Default 30 s.
	FrameTimeout time.Duration
	// WriteTimeout bounds writing a reply. Default 10 s.
	WriteTimeout time.Duration
	// DeliverTimeout bounds a Session's work on one frame. Default 30 s.
	DeliverTimeout time.Duration
	// MaxGarbage closes a connection that sends this many bytes without a frame that
	// passes its checks (a peer that is not a device, or a slow stream of noise that
	// would hold its connection forever). Default 64 KiB.
	MaxGarbage int
	// KeepAlive is the TCP keep-alive period of accepted connections; negative: off.
	// Default 60 s.
	KeepAlive time.Duration
	// Registerer receives the server's Prometheus metrics (NewCollector); nil: none.
	Registerer prometheus.Registerer
}

func (c Config) withDefaults(maxFrame int) Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.MaxFrame <= 0 || c.MaxFrame > maxFrame {
		c.MaxFrame = maxFrame
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 10000
	}
	if c.MaxGarbage <= 0 {
		c.MaxGarbage = 64 << 10
	}
	def(&c.IdleTimeout, 10*time.Minute)
	def(&c.FrameTimeout, 30*time.Second)
	def(&c.WriteTimeout, 10*time.Second)
	def(&c.DeliverTimeout, 30*time.Second)
	def(&c.KeepAlive, 60*time.Second)
	return c
}

// Protocol is what a framed protocol gives the server.
type Protocol interface {
	// Split finds the next frame in buf: leading bytes that belong to no frame, the
	// frame's length (0 while more bytes are needed), or an error for a header that
	// cannot be a frame. sl651.Split and szy206.Split are such functions.
	Split(buf []byte) (skip, n int, err error)
	// MaxFrame is the longest frame the protocol allows.
	MaxFrame() int
	// NewSession returns the state of one connection.
	NewSession(remote string) Session
}

// Session handles the frames of one connection, one at a time.
type Session interface {
	// Frame handles one candidate frame (raw is only valid during the call).
	Frame(ctx context.Context, raw []byte) Outcome
	// End is called once when the connection has ended.
	End()
}

// Outcome is what a Session made of a frame.
type Outcome struct {
	// Rejected: the bytes failed the frame's checks; the server skips one byte and looks
	// for a frame again.
	Rejected bool
	// Reply is written to the device when not nil.
	Reply []byte
	// Close ends the connection after the reply.
	Close bool
}

// ErrClosed is returned by Serve after Close.
var ErrClosed = errors.New("framesrv: server closed")

// Stats are a server's connection-level counters since New.
type Stats struct {
	Open      int64 // connections open now
	Accepted  int64 // connections accepted
	Refused   int64 // connections closed at accept: the connection cap was reached
	Frames    int64 // candidate frames handed to sessions
	Rejected  int64 // candidates the session rejected (checks failed)
	Replies   int64 // replies written
	Garbage   int64 // bytes dropped between frames (rejected candidates count one byte each)
	Oversize  int64 // headers stating a frame above MaxFrame
	Idle      int64 // connections closed after IdleTimeout without a byte
	Stalled   int64 // connections closed with a frame begun and not finished in FrameTimeout
	Truncated int64 // connections ended by the peer inside a frame
	Closed    int64 // connections a session closed
	Noise     int64 // connections closed after MaxGarbage bytes without a good frame
}

// Server serves one framed protocol over TCP. Its methods are safe for concurrent use.
type Server struct {
	cfg    Config
	proto  Protocol
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	now    func() time.Time

	mu     sync.Mutex
	closed bool
	lns    map[net.Listener]struct{}
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup

	open                                                                  atomic.Int64
	accepted, refused, frames, rejected, replies, garbage, oversize, idle atomic.Int64
	stalled, truncated, sessionClosed, noise                              atomic.Int64
}

// New returns a server for the protocol.
func New(cfg Config, p Protocol, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{cfg: cfg.withDefaults(p.MaxFrame()), proto: p, log: log, ctx: ctx, cancel: cancel, now: time.Now,
		lns: map[net.Listener]struct{}{}, conns: map[net.Conn]struct{}{}}
}

// Config returns the configuration in force (defaults filled in).
func (s *Server) Config() Config { return s.cfg }

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{Open: s.open.Load(), Accepted: s.accepted.Load(), Refused: s.refused.Load(), Frames: s.frames.Load(),
		Rejected: s.rejected.Load(), Replies: s.replies.Load(), Garbage: s.garbage.Load(), Oversize: s.oversize.Load(),
		Idle: s.idle.Load(), Stalled: s.stalled.Load(), Truncated: s.truncated.Load(), Closed: s.sessionClosed.Load(),
		Noise: s.noise.Load()}
}

// Serve accepts connections on ln until Close; it returns ErrClosed then, or the
// listener's error.
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
	var wait time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
				wait = min(max(2*wait, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed; retrying", "err", err, "in", wait)
				time.Sleep(wait)
				continue
			}
			return err
		}
		wait = 0
		s.accepted.Add(1)
		if s.open.Load() >= int64(s.cfg.MaxConns) {
			s.refused.Add(1)
			s.log.Warn("connection refused: connection cap reached", "remote", c.RemoteAddr().String(), "cap", s.cfg.MaxConns)
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

// ServeConn serves one connection accepted elsewhere (an edge box's own listener, a
// test's pipe) until it ends; it counts against the connection cap like any other.
func (s *Server) ServeConn(c net.Conn) {
	s.accepted.Add(1)
	if s.open.Load() >= int64(s.cfg.MaxConns) {
		s.refused.Add(1)
		c.Close()
		return
	}
	if !s.track(c) {
		c.Close()
		return
	}
	s.serveConn(c)
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

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

// Close stops accepting, closes every connection, cancels the work in progress and
// waits for the connections to end.
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

func (s *Server) serveConn(c net.Conn) {
	remote := c.RemoteAddr().String()
	log := s.log.With("remote", remote)
	sess := s.proto.NewSession(remote)
	defer func() {
		sess.End()
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.open.Add(-1)
		s.wg.Done()
	}()
	if tc, ok := c.(*net.TCPConn); ok && s.cfg.KeepAlive > 0 {
		_ = tc.SetKeepAlive(true)
		_ = tc.SetKeepAlivePeriod(s.cfg.KeepAlive)
	}
	// buf holds at most a pending frame (shorter than MaxFrame) and one read, and grows
	// only as far as a connection's frames need: an idle connection holds about 1 KiB.
	chunk := make([]byte, 1024)
	var buf []byte
	var begun time.Time // when the frame now pending in buf began; zero: none
	junk := 0           // bytes dropped since the last good frame
	for {
		rest, dropped, good, done := s.handle(c, sess, buf, log)
		if done {
			s.sessionClosed.Add(1)
			return
		}
		if good {
			junk = 0
		}
		if junk += dropped; junk > s.cfg.MaxGarbage {
			s.noise.Add(1)
			log.Warn("connection closed: no good frame in too many bytes", "bytes", junk)
			return
		}
		if len(rest) != len(buf) {
			begun = time.Time{} // the pending bytes start a new frame, or none
		}
		buf = append(buf[:0], rest...) // rest is the tail of buf: moved to its front
		now := s.now()
		deadline := now.Add(s.cfg.IdleTimeout)
		if len(buf) > 0 {
			if begun.IsZero() {
				begun = now
			}
			deadline = begun.Add(s.cfg.FrameTimeout)
		}
		_ = c.SetReadDeadline(deadline)
		n, err := c.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if err == nil {
			continue
		}
		if n > 0 {
			rest, _, _, done := s.handle(c, sess, buf, log)
			if done {
				s.sessionClosed.Add(1)
				return
			}
			buf = rest
		}
		var ne net.Error
		switch {
		case s.isClosed():
		case errors.As(err, &ne) && ne.Timeout() && len(buf) > 0:
			s.stalled.Add(1)
			log.Warn("connection closed: frame not finished in time", "after", s.cfg.FrameTimeout, "held", len(buf))
		case errors.As(err, &ne) && ne.Timeout():
			s.idle.Add(1)
			log.Info("connection closed: idle", "after", s.cfg.IdleTimeout)
		case len(buf) > 0:
			s.truncated.Add(1)
			log.Warn("connection ended inside a frame", "held", len(buf), "err", err)
		}
		return
	}
}

// handle hands every complete frame in buf to the session. It returns what is left (a
// frame begun, or nothing), the bytes it dropped as garbage, whether a frame passed its
// checks, and whether the session closed the connection.
func (s *Server) handle(c net.Conn, sess Session, buf []byte, log *slog.Logger) (rest []byte, dropped int, good, done bool) {
	drop := func(k int) {
		s.garbage.Add(int64(k))
		dropped += k
		buf = buf[k:]
	}
	for len(buf) > 0 {
		skip, n, err := s.proto.Split(buf)
		if skip > 0 {
			drop(skip)
		}
		switch {
		case err != nil:
			drop(1)
			continue
		case n > s.cfg.MaxFrame:
			s.oversize.Add(1)
			log.Warn("frame header states more than the frame limit; skipped", "length", n, "limit", s.cfg.MaxFrame)
			drop(1)
			continue
		case n == 0 || n > len(buf):
			return buf, dropped, good, false
		}
		s.frames.Add(1)
		ctx, cancel := context.WithTimeout(s.ctx, s.cfg.DeliverTimeout)
		out := sess.Frame(ctx, buf[:n])
		cancel()
		if out.Rejected {
			s.rejected.Add(1)
			drop(1)
			continue
		}
		good = true
		buf = buf[n:]
		if out.Reply != nil {
			_ = c.SetWriteDeadline(s.now().Add(s.cfg.WriteTimeout))
			if _, err := c.Write(out.Reply); err != nil {
				log.Warn("reply not written; connection closed", "err", err)
				return nil, dropped, good, true
			}
			s.replies.Add(1)
		}
		if out.Close {
			return nil, dropped, good, true
		}
	}
	return buf[:0], dropped, good, false
}
