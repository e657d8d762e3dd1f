package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"syscall"
)

// portSearch is how many ports above a taken default demo tries before it
// lets the system pick one.
const portSearch = 20

// listenAddr is an address demo listens on: the one it chose and, when that
// differs, the one asked for.
type listenAddr struct {
	Addr  string
	Taken string // the default address that was in use ("" if none)
}

// chooseAddr decides where demo listens: addr itself when it is free. When
// addr is taken and the user did not name it (explicit false: it is the
// default), the next free port of the same host up to portSearch above it,
// else a port the system picks. A taken address the user named is an error
// that says which flag changes it, Chinese first, then English; serve never
// calls this, it fails on any taken address.
//
// Free means a listener could be opened and closed again: the caller binds
// the address moments later, and loses only if another process takes it in
// between.
func chooseAddr(flagName, what, addr string, explicit bool) (listenAddr, error) {
	err := probe(addr)
	if err == nil {
		return listenAddr{Addr: addr}, nil
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		return listenAddr{}, fmt.Errorf("%s 地址 %s 无法监听 / cannot listen on %s address %s: %w", what, addr, what, addr, err)
	}
	if explicit {
		zh, en := "", ""
		if flagName == "mqtt" {
			zh, en = "（是否已有 Mosquitto 等 MQTT 代理在运行？）", " (is another broker such as Mosquitto running?)"
		}
		return listenAddr{}, fmt.Errorf("%s 地址 %s 已被占用%s，请用 --%s 另选地址 / %s address %s is already in use%s; choose another with --%s",
			what, addr, zh, flagName, what, addr, en, flagName)
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return listenAddr{}, fmt.Errorf("%s address %s: %w", what, addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return listenAddr{}, fmt.Errorf("%s address %s: port %q is not a number", what, addr, portStr)
	}
	for p := port + 1; p <= port+portSearch && p <= 65535; p++ {
		next := net.JoinHostPort(host, strconv.Itoa(p))
		if probe(next) == nil {
			return listenAddr{Addr: next, Taken: addr}, nil
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return listenAddr{}, fmt.Errorf("%s: no free port on %s: %w", what, host, err)
	}
	picked := ln.Addr().String()
	ln.Close()
	return listenAddr{Addr: picked, Taken: addr}, nil
}

// probe opens and closes a listener on addr.
func probe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return ln.Close()
}

// maxHeldLog bounds what a heldLog keeps before it is released.
const maxHeldLog = 1 << 20

// heldLog keeps what is written to it until Release, then writes through
// to w: demo's start-up log lines come after the console URL and token.
type heldLog struct {
	mu      sync.Mutex
	w       io.Writer
	held    bool
	buf     bytes.Buffer
	dropped int
}

func newHeldLog(w io.Writer) *heldLog { return &heldLog{w: w, held: true} }

func (h *heldLog) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.held {
		return h.w.Write(p)
	}
	if h.buf.Len()+len(p) > maxHeldLog {
		h.dropped += len(p)
		return len(p), nil
	}
	return h.buf.Write(p)
}

// Release writes what was held and lets later writes through.
func (h *heldLog) Release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.held {
		return
	}
	h.held = false
	h.w.Write(h.buf.Bytes())
	if h.dropped > 0 {
		fmt.Fprintf(h.w, "(%d bytes of start-up log not kept)\n", h.dropped)
	}
	h.buf = bytes.Buffer{}
}
