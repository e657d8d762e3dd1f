package bus

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Embedded is a NATS server with JetStream run inside this process, for a
// single machine (the edges and the sequencer on one host, or tests).
type Embedded struct {
	srv *server.Server
}

// StartEmbedded starts a NATS server with JetStream storing in dir and
// listening on addr (host:port; port 0 picks a free one). Every write to
// the stream is synced to disk before the server acknowledges it (the
// server's sync_interval "always", Options.SyncAlways): its one replica
// holds an acknowledged reading through a power loss.
func StartEmbedded(dir, addr string) (*Embedded, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS listen address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS listen address %q: %w", addr, err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	opts := &server.Options{
		ServerName: "shuixiao-embedded",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   filepath.Clean(dir),
		SyncAlways: true,
		NoSigs:     true,
		NoLog:      true,
		// The HTTP monitor and cluster ports stay closed.
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(15 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("embedded NATS did not start within 15 s (address in use?)")
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		return nil, errors.New("embedded NATS: JetStream did not start")
	}
	return &Embedded{srv: srv}, nil
}

// URL is the nats:// URL clients connect to.
func (e *Embedded) URL() string { return e.srv.ClientURL() }

// Close stops the server and waits until it has stopped.
func (e *Embedded) Close() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}
