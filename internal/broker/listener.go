package broker

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// connectGuard wraps the broker's net.Listener so that a socket which has
// not yet sent CONNECT costs bounded time and number: each gets a deadline
// of timeout at accept (mochi sets none before CONNECT, and replaces this
// one with the keep-alive deadline once CONNECT is read), and at most
// pending such sockets are open; more are closed as soon as accepted.
// Anything may wrap it in turn (TLS): the deadline covers the handshake
// too, and sent finds the guarded connection under net.Conn wrappers that
// expose NetConn.
type connectGuard struct {
	net.Listener
	timeout time.Duration
	slots   chan struct{}
	stats   *counters
}

func newConnectGuard(ln net.Listener, timeout time.Duration, pending int, stats *counters) *connectGuard {
	return &connectGuard{Listener: ln, timeout: timeout, slots: make(chan struct{}, pending), stats: stats}
}

// Accept returns the next connection that has a pending slot. Errors other
// than a closed listener (too many open files) are waited out, as net/http
// does, rather than ending the broker's accept loop.
func (g *connectGuard) Accept() (net.Conn, error) {
	var wait time.Duration
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			wait = min(max(2*wait, 5*time.Millisecond), time.Second)
			time.Sleep(wait)
			continue
		}
		wait = 0
		select {
		case g.slots <- struct{}{}:
		default:
			g.stats.pendingRefused.Add(1)
			c.Close()
			continue
		}
		_ = c.SetDeadline(time.Now().Add(g.timeout))
		return &guardedConn{Conn: c, g: g}, nil
	}
}

// guardedConn holds a pending slot until CONNECT arrives or it closes.
type guardedConn struct {
	net.Conn
	g        *connectGuard
	released sync.Once
	sent     atomic.Bool // CONNECT arrived
}

func (c *guardedConn) release() { c.released.Do(func() { <-c.g.slots }) }

// Read counts sockets that the deadline closed before CONNECT.
func (c *guardedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	var ne net.Error
	if err != nil && !c.sent.Load() && errors.As(err, &ne) && ne.Timeout() {
		c.g.stats.connectTimeouts.Add(1)
	}
	return n, err
}

func (c *guardedConn) Close() error {
	c.release()
	return c.Conn.Close()
}

// connectSent tells the guard under conn (if any) that CONNECT has arrived.
func connectSent(conn net.Conn) {
	for conn != nil {
		if gc, ok := conn.(*guardedConn); ok {
			gc.sent.Store(true)
			gc.release()
			return
		}
		w, ok := conn.(interface{ NetConn() net.Conn })
		if !ok {
			return
		}
		conn = w.NetConn()
	}
}
