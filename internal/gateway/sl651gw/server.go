// Package sl651gw is the SL 651-2014 TCP server of the gateway: hydrological and
// water-intake RTUs connect and keep their link (keep-alive 2FH); it finds HEX/BCD and
// ASCII frames in the stream (internal/gateway/framesrv: garbage, oversize, stalled and
// idle peers, connection cap), checks length and CRC, the station's password, joins
// multi-packet (M3) messages, decodes each report's elements and hands every observation
// time's values to a gateway.Sink as one Frame; once the Sink has taken them it sends the
// confirmation the standard defines for M2/M3 (a downlink echoing serial and send time,
// ended by ESC to keep the station online or EOT to release it). A frame that failed a
// check yields no reading and no confirmation, so the station sends it again.
package sl651gw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/shuixiao/shuixiao/internal/gateway"
	"github.com/shuixiao/shuixiao/internal/gateway/framesrv"
	"github.com/shuixiao/shuixiao/sl651"
)

// Config bounds the server. Zero fields take the defaults.
type Config struct {
	framesrv.Config
	// Release ends confirmations with EOT (the station may go offline) instead of ESC
	// (keep online, the default as in the published confirmations).
	Release bool
	// PacketBytes bounds a multi-packet message's bytes (default 64 KiB) and
	// PacketTimeout the wait for its next packet (default 5 min).
	PacketBytes   int
	PacketTimeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// ErrClosed is returned by Serve after Close.
var ErrClosed = framesrv.ErrClosed

// Server is the SL 651 TCP server: Serve(ln), Close(), Stats().
type Server struct {
	*framesrv.Server
	cfg     Config
	devices gateway.Devices
	sink    gateway.Sink
	log     *slog.Logger
	n       counters
}

// Stats are the server's counters since New: the connection-level ones and SL 651's.
type Stats struct {
	framesrv.Stats
	Checked       int64 // frames that passed length and CRC checks
	BadCRC        int64 // frames whose CRC did not match
	BadLength     int64 // frames shorter or longer than their header states
	BadFormat     int64 // frames with a malformed field (direction, end character, packet numbers)
	BadBody       int64 // checked frames whose body did not decode
	Downlinks     int64 // downlink frames received (ignored)
	KeepAlives    int64 // link keep-alive frames (2FH)
	Unsupported   int64 // functions without elements (configuration, pictures, …): counted, not answered
	UnknownDevice int64 // frames from a station the gateway does not know (connection closed)
	WrongPassword int64 // frames with a wrong password (connection closed)
	Packets       int64 // packets of multi-packet messages
	PacketErrors  int64 // multi-packet messages dropped (over the byte bound, expired, connection ended)
	Delivered     int64 // frames (one per observation time) the Sink took
	Unmapped      int64 // frames the Sink refused with gateway.ErrUnknownDevice
	SinkErrors    int64 // frames the Sink failed to take otherwise (not confirmed)
	Confirmed     int64 // confirmations sent
}

type counters struct {
	checked, badCRC, badLength, badFormat, badBody, downlinks, keepAlives, unsupported, unknownDevice,
	wrongPassword, packets, packetErrors, delivered, unmapped, sinkErrors, confirmed atomic.Int64
}

// New returns a server that checks stations against devices (protocol "sl651", the
// station address as ten hex digits, the password as four hex digits; an empty password
// is not checked) and delivers report values to sink.
func New(cfg Config, devices gateway.Devices, sink gateway.Sink, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, devices: devices, sink: sink, log: log.With("gateway", gateway.ProtocolSL651)}
	s.Server = framesrv.New(cfg.Config, protocol{s}, s.log)
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(framesrv.NewCollector("sl651", func() any { return s.Stats() }))
	}
	return s
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	n := &s.n
	return Stats{Stats: s.Server.Stats(), Checked: n.checked.Load(), BadCRC: n.badCRC.Load(), BadLength: n.badLength.Load(),
		BadFormat: n.badFormat.Load(), BadBody: n.badBody.Load(), Downlinks: n.downlinks.Load(), KeepAlives: n.keepAlives.Load(),
		Unsupported: n.unsupported.Load(), UnknownDevice: n.unknownDevice.Load(), WrongPassword: n.wrongPassword.Load(),
		Packets: n.packets.Load(), PacketErrors: n.packetErrors.Load(), Delivered: n.delivered.Load(),
		Unmapped: n.unmapped.Load(), SinkErrors: n.sinkErrors.Load(), Confirmed: n.confirmed.Load()}
}

type protocol struct{ s *Server }

func (protocol) Split(buf []byte) (int, int, error) { return sl651.Split(buf) }
func (protocol) MaxFrame() int                      { return sl651.MaxFrame }

func (p protocol) NewSession(remote string) framesrv.Session {
	return &session{s: p.s, log: p.s.log.With("remote", remote),
		packets: sl651.Reassembler{MaxBytes: p.s.cfg.PacketBytes, Timeout: p.s.cfg.PacketTimeout}}
}

// session is one station connection.
type session struct {
	s       *Server
	log     *slog.Logger
	packets sl651.Reassembler
}

func (c *session) End() {
	if n := c.packets.Pending(); n > 0 {
		c.s.n.packetErrors.Add(int64(n))
		c.log.Warn("connection ended with multi-packet messages incomplete", "messages", n)
	}
}

func (c *session) Frame(ctx context.Context, raw []byte) framesrv.Outcome {
	s := c.s
	f, err := sl651.Parse(raw)
	if err != nil {
		switch {
		case errors.Is(err, sl651.ErrCRC):
			s.n.badCRC.Add(1)
		case errors.Is(err, sl651.ErrLength), errors.Is(err, sl651.ErrShort):
			s.n.badLength.Add(1)
		default:
			s.n.badFormat.Add(1)
		}
		c.log.Warn("frame refused", "err", err, "bytes", len(raw))
		return framesrv.Outcome{Rejected: true}
	}
	s.n.checked.Add(1)
	log := c.log.With("station", f.Station.String(), "fn", fmt.Sprintf("%02X", f.Func))
	if f.Down {
		s.n.downlinks.Add(1)
		log.Info("downlink frame from a device ignored")
		return framesrv.Outcome{}
	}
	info, ok := s.devices.Device(gateway.ProtocolSL651, f.Station.String())
	if !ok {
		s.n.unknownDevice.Add(1)
		log.Warn("unknown station; connection closed")
		return framesrv.Outcome{Close: true}
	}
	if info.Password != "" && !strings.EqualFold(info.Password, fmt.Sprintf("%04X", f.Password)) {
		s.n.wrongPassword.Add(1)
		log.Warn("wrong password; connection closed", "password", fmt.Sprintf("%04X", f.Password))
		return framesrv.Outcome{Close: true}
	}
	if f.Func == sl651.FnLinkKeep {
		s.n.keepAlives.Add(1)
		return framesrv.Outcome{}
	}
	if !sl651.CarriesElements(f.Func) {
		s.n.unsupported.Add(1)
		log.Info("function not handled")
		return framesrv.Outcome{}
	}
	whole := sl651.Whole{Frame: f, Raw: append([]byte(nil), raw...)}
	if f.Packets > 0 {
		s.n.packets.Add(1)
		now := s.cfg.Now()
		if n := c.packets.Expire(now); n > 0 {
			s.n.packetErrors.Add(int64(n))
			log.Warn("multi-packet messages expired", "messages", n)
		}
		w, done, err := c.packets.Add(f, raw, now)
		if err != nil {
			s.n.packetErrors.Add(1)
			log.Warn("multi-packet message dropped", "err", err)
			return framesrv.Outcome{}
		}
		if !done {
			return framesrv.Outcome{}
		}
		whole = w
	}
	m, err := sl651.Decode(whole.Frame)
	if err != nil {
		s.n.badBody.Add(1)
		log.Warn("report body refused", "err", err)
		return framesrv.Outcome{}
	}
	for _, fr := range frames(f.Station.String(), whole.Raw, m) {
		if err := s.sink.Deliver(ctx, fr); err != nil {
			if errors.Is(err, gateway.ErrUnknownDevice) {
				s.n.unmapped.Add(1)
			} else {
				s.n.sinkErrors.Add(1)
			}
			log.Warn("report not taken; not confirmed", "err", err, "time", fr.Time)
			return framesrv.Outcome{}
		}
		s.n.delivered.Add(1)
	}
	end := byte(sl651.ESC)
	if s.cfg.Release {
		end = sl651.EOT
	}
	confirm, err := sl651.Confirm(whole.Frame, end)
	if err != nil {
		s.n.badBody.Add(1)
		log.Warn("no confirmation possible", "err", err)
		return framesrv.Outcome{}
	}
	reply, err := confirm.Encode()
	if err != nil {
		log.Error("confirmation not encoded", "err", err)
		return framesrv.Outcome{}
	}
	s.n.confirmed.Add(1)
	return framesrv.Outcome{Reply: reply}
}

// frames turns a report into one gateway frame per observation time, in order, with the
// numeric values measured at it (missing, series and text elements left out).
func frames(station string, raw []byte, m sl651.Message) []gateway.Frame {
	var out []gateway.Frame
	index := map[time.Time]int{}
	for _, e := range m.Elements {
		if e.Missing || e.Series != nil || e.Text != nil {
			continue
		}
		t := e.Time
		if t.IsZero() {
			t = m.SendTime
		}
		i, ok := index[t]
		if !ok {
			i = len(out)
			index[t] = i
			out = append(out, gateway.Frame{Protocol: gateway.ProtocolSL651, Device: station, Raw: raw, Time: t,
				Values: map[string]float64{}})
		}
		out[i].Values[e.Name()] = e.Value
	}
	return out
}
