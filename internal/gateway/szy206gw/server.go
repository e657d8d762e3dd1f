// Package szy206gw is the SZY 206-2016 TCP server of the gateway: water-resources
// terminals at intake points connect, log in and keep the link (AFN 02H); it finds
// frames in the stream (internal/gateway/framesrv: garbage, oversize, stalled and idle
// peers, connection cap), checks length and CRC-8, joins split frames, knows the terminal
// by its address, decodes each self-report (AFN C0H: flow, cumulative volume, water
// level, … with the time label) and hands its values to a gateway.Sink as one Frame;
// once the Sink has taken them it answers the report, as it answers link checks
// (szy206.Reply). A frame that failed a check yields no reading and no answer.
package szy206gw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/shuixiao/shuixiao/internal/gateway"
	"github.com/shuixiao/shuixiao/internal/gateway/framesrv"
	"github.com/shuixiao/shuixiao/szy206"
)

// Config bounds the server. Zero fields take the defaults.
type Config struct {
	framesrv.Config
	// Options are the terminals' time-label length and flow layout (szy206.Options).
	Options szy206.Options
	// SplitBytes bounds a split message's bytes (default 64 KiB).
	SplitBytes int
	// Now is the clock the five-byte time label's month and year are taken from;
	// default time.Now.
	Now func() time.Time
}

// ErrClosed is returned by Serve after Close.
var ErrClosed = framesrv.ErrClosed

// Server is the SZY 206 TCP server: Serve(ln), Close(), Stats().
type Server struct {
	*framesrv.Server
	cfg     Config
	devices gateway.Devices
	sink    gateway.Sink
	log     *slog.Logger
	n       counters
}

// Stats are the server's counters since New: the connection-level ones and SZY 206's.
type Stats struct {
	framesrv.Stats
	Checked       int64 // frames that passed length and CRC checks
	BadCRC        int64 // frames whose CS did not match
	BadLength     int64 // frames shorter or longer than L states
	BadFormat     int64 // frames with a malformed field (end byte, DIVS)
	BadData       int64 // self-reports whose data did not decode
	Downlinks     int64 // downlink frames received (ignored)
	LinkChecks    int64 // link checks (login, logout, keep-alive) answered
	Unsupported   int64 // AFNs or control functions the gateway does not handle
	UnknownDevice int64 // frames from a terminal the gateway does not know (connection closed)
	SplitErrors   int64 // split messages dropped (out of turn, over the byte bound)
	Delivered     int64 // reports the Sink took
	Unmapped      int64 // reports the Sink refused with gateway.ErrUnknownDevice
	SinkErrors    int64 // reports the Sink failed to take otherwise (not answered)
	Answered      int64 // reports answered
}

type counters struct {
	checked, badCRC, badLength, badFormat, badData, downlinks, linkChecks, unsupported, unknownDevice,
	splitErrors, delivered, unmapped, sinkErrors, answered atomic.Int64
}

// New returns a server that knows terminals from devices (protocol "szy206", the
// address as ten hex digits; SZY 206 uplinks carry no password) and delivers report
// values to sink.
func New(cfg Config, devices gateway.Devices, sink gateway.Sink, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, devices: devices, sink: sink, log: log.With("gateway", gateway.ProtocolSZY206)}
	s.Server = framesrv.New(cfg.Config, protocol{s}, s.log)
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(framesrv.NewCollector("szy206", func() any { return s.Stats() }))
	}
	return s
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	n := &s.n
	return Stats{Stats: s.Server.Stats(), Checked: n.checked.Load(), BadCRC: n.badCRC.Load(), BadLength: n.badLength.Load(),
		BadFormat: n.badFormat.Load(), BadData: n.badData.Load(), Downlinks: n.downlinks.Load(), LinkChecks: n.linkChecks.Load(),
		Unsupported: n.unsupported.Load(), UnknownDevice: n.unknownDevice.Load(), SplitErrors: n.splitErrors.Load(),
		Delivered: n.delivered.Load(), Unmapped: n.unmapped.Load(), SinkErrors: n.sinkErrors.Load(), Answered: n.answered.Load()}
}

type protocol struct{ s *Server }

func (protocol) Split(buf []byte) (int, int, error) { return szy206.Split(buf) }
func (protocol) MaxFrame() int                      { return szy206.MaxFrame }

func (p protocol) NewSession(remote string) framesrv.Session {
	return &session{s: p.s, log: p.s.log.With("remote", remote), split: szy206.Joiner{MaxBytes: p.s.cfg.SplitBytes}}
}

// session is one terminal connection.
type session struct {
	s     *Server
	log   *slog.Logger
	split szy206.Joiner
}

func (c *session) End() {}

func (c *session) Frame(ctx context.Context, raw []byte) framesrv.Outcome {
	s := c.s
	f, err := szy206.Parse(raw)
	if err != nil {
		switch {
		case errors.Is(err, szy206.ErrCRC):
			s.n.badCRC.Add(1)
		case errors.Is(err, szy206.ErrLength), errors.Is(err, szy206.ErrShort):
			s.n.badLength.Add(1)
		default:
			s.n.badFormat.Add(1)
		}
		c.log.Warn("frame refused", "err", err, "bytes", len(raw))
		return framesrv.Outcome{Rejected: true}
	}
	s.n.checked.Add(1)
	log := c.log.With("address", f.Address.String(), "afn", fmt.Sprintf("%02X", f.AFN))
	if !f.Control.Up() {
		s.n.downlinks.Add(1)
		log.Info("downlink frame from a device ignored")
		return framesrv.Outcome{}
	}
	if _, ok := s.devices.Device(gateway.ProtocolSZY206, f.Address.String()); !ok {
		s.n.unknownDevice.Add(1)
		log.Warn("unknown terminal; connection closed")
		return framesrv.Outcome{Close: true}
	}
	f, whole, done, err := c.split.Add(f, append([]byte(nil), raw...))
	if err != nil {
		s.n.splitErrors.Add(1)
		log.Warn("split message dropped", "err", err)
		if !done {
			return framesrv.Outcome{}
		}
	}
	if !done {
		return framesrv.Outcome{}
	}
	switch f.AFN {
	case szy206.AFNLink:
		s.n.linkChecks.Add(1)
		return c.answer(f, log)
	case szy206.AFNSelfRT:
	default:
		s.n.unsupported.Add(1)
		log.Info("function not handled")
		return framesrv.Outcome{}
	}
	r, err := szy206.DecodeReport(f, s.cfg.Options, s.cfg.Now())
	if err != nil {
		if errors.Is(err, szy206.ErrUnsupported) {
			s.n.unsupported.Add(1)
		} else {
			s.n.badData.Add(1)
		}
		log.Warn("report refused", "err", err)
		return framesrv.Outcome{}
	}
	fr := gateway.Frame{Protocol: gateway.ProtocolSZY206, Device: f.Address.String(), Raw: whole, Time: r.Time,
		Values: map[string]float64{}}
	for _, v := range r.Values {
		if !v.Missing {
			fr.Values[v.Name] = v.Value
		}
	}
	if len(fr.Values) > 0 {
		if err := s.sink.Deliver(ctx, fr); err != nil {
			if errors.Is(err, gateway.ErrUnknownDevice) {
				s.n.unmapped.Add(1)
			} else {
				s.n.sinkErrors.Add(1)
			}
			log.Warn("report not taken; not answered", "err", err)
			return framesrv.Outcome{}
		}
		s.n.delivered.Add(1)
	}
	s.n.answered.Add(1)
	return c.answer(f, log)
}

func (c *session) answer(f szy206.Frame, log *slog.Logger) framesrv.Outcome {
	reply, ok := szy206.Reply(f)
	if !ok {
		return framesrv.Outcome{}
	}
	b, err := reply.Encode()
	if err != nil {
		log.Error("answer not encoded", "err", err)
		return framesrv.Outcome{}
	}
	return framesrv.Outcome{Reply: b}
}
