package hj212gw

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/shuixiao/shuixiao/hj212"
	"github.com/shuixiao/shuixiao/internal/gateway"
)

// readChunk is the buffer a connection starts with; it grows to hold the largest frame seen.
const readChunk = 512

// conn is one device connection's state; only its own goroutine touches it.
type conn struct {
	s      *Server
	c      net.Conn
	log    *slog.Logger
	buf    []byte
	reasm  *hj212.Reassembler // nil until the first split packet
	closed bool               // decided to close after this frame
	// handled counts the frames found, so a partial frame's timeout starts when it does.
	handled int
}

func (s *Server) serveConn(c net.Conn) {
	defer s.untrack(c)
	defer c.Close()
	if tc, ok := c.(*net.TCPConn); ok && s.cfg.KeepAlive > 0 {
		tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: s.cfg.KeepAlive, Interval: s.cfg.KeepAlive / 4, Count: 4})
	}
	cn := &conn{s: s, c: c, log: s.log.With("remote", c.RemoteAddr().String())}
	defer cn.releaseSplit()
	cn.run()
}

func (cn *conn) run() {
	s := cn.s
	var frameStart time.Time // when the buffered partial frame began
	for {
		if len(cn.buf) == 0 {
			frameStart = time.Time{}
			cn.c.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
		} else {
			if frameStart.IsZero() {
				frameStart = time.Now()
			}
			cn.c.SetReadDeadline(frameStart.Add(s.cfg.FrameTimeout))
		}
		if cap(cn.buf) == 0 {
			cn.buf = make([]byte, 0, readChunk)
		} else if len(cn.buf) == cap(cn.buf) {
			cn.buf = append(cn.buf, make([]byte, len(cn.buf))...)[:len(cn.buf)]
		}
		n, err := cn.c.Read(cn.buf[len(cn.buf):cap(cn.buf)])
		cn.buf = cn.buf[:len(cn.buf)+n]
		if n > 0 {
			before := cn.handled
			if !cn.frames() {
				return
			}
			if cn.handled != before {
				frameStart = time.Time{} // what is left begins a new frame: its own FrameTimeout
			}
		}
		if err != nil {
			cn.readFailed(err, frameStart)
			return
		}
	}
}

// readFailed counts and logs why a connection ended.
func (cn *conn) readFailed(err error, frameStart time.Time) {
	s := cn.s
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded) && !frameStart.IsZero():
		s.n.stalled.Add(1)
		cn.log.Warn("connection closed: frame not completed in time", "buffered", len(cn.buf), "limit", s.cfg.FrameTimeout)
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.n.idle.Add(1)
		cn.log.Info("connection closed: idle", "limit", s.cfg.IdleTimeout)
	case errors.Is(err, net.ErrClosed) || s.isClosed():
	default:
		if len(cn.buf) > 0 {
			s.n.truncated.Add(1)
			cn.log.Warn("connection ended inside a frame", "buffered", len(cn.buf), "err", err)
		}
	}
}

// frames handles every complete frame in the buffer and drops garbage; false: close.
func (cn *conn) frames() bool {
	s := cn.s
	start := 0
	defer func() {
		// Keep what is left at the front of the buffer; give back a grown buffer once empty.
		left := copy(cn.buf, cn.buf[start:])
		cn.buf = cn.buf[:left]
		if left == 0 && cap(cn.buf) > 4*readChunk {
			cn.buf = nil
		}
	}()
	for !cn.closed {
		skip, n, err := hj212.Next(cn.buf[start:], s.cfg.MaxFrame)
		switch {
		case errors.Is(err, hj212.ErrTooLong):
			s.n.oversize.Add(1)
			cn.log.Warn("connection closed: oversize frame", "err", err)
			return false
		case err != nil:
			s.n.badLength.Add(1)
			s.n.garbage.Add(int64(skip))
			cn.log.Warn("frame refused", "err", err)
			start += skip + 1
			continue
		}
		if skip > 0 {
			s.n.garbage.Add(int64(skip))
			cn.log.Debug("garbage between frames", "bytes", skip)
		}
		start += skip
		if n == 0 {
			return true
		}
		raw := cn.buf[start : start+n]
		start += n
		cn.handled++
		cn.handle(raw)
	}
	return false
}

// handle answers one frame; raw is only valid during the call.
func (cn *conn) handle(raw []byte) {
	s := cn.s
	p, err := hj212.Parse(raw)
	if err != nil {
		cn.refuseFrame(raw, err)
		return
	}
	s.n.frames.Add(1)
	log := cn.log.With("mn", p.MN, "cn", p.CN, "qn", p.QN)
	info, known := s.devices.Device(gateway.ProtocolHJ212, p.MN)
	switch {
	case !known:
		s.n.unknownDevice.Add(1)
		log.Warn("connection closed: unknown device (MN)")
		cn.answer(p, hj212.RequestReply(p, hj212.QnBadMN))
		cn.closed = true
		return
	case subtle.ConstantTimeCompare([]byte(p.PW), []byte(info.Password)) != 1:
		s.n.wrongPassword.Add(1)
		log.Warn("connection closed: wrong password")
		cn.answer(p, hj212.RequestReply(p, hj212.QnBadPW))
		cn.closed = true
		return
	}
	switch {
	case hj212.IsData(p.CN):
		cn.data(p, raw, log)
	case p.CN == hj212.CNTimeRequest:
		// A notice (answered 9013 if asked), then the platform sets the clock (1012), which the
		// data logger answers 9011/9012.
		s.n.notices.Add(1)
		cn.answer(p, hj212.NotifyReply(p))
		cn.send(hj212.SetTime(p, s.cfg.Now()))
	case p.CN == hj212.CNRestart:
		// The data logger's restart time: a notice with no measurement, acknowledged.
		s.n.notices.Add(1)
		cn.answer(p, hj212.DataReply(p))
	case p.CN == hj212.CNRequestReply || p.CN == hj212.CNExecResult || p.CN == hj212.CNNotifyReply || p.CN == hj212.CNDataReply:
		// An answer is not answered; the platform sends no requests a device could be answering
		// yet, so it is counted and logged.
		s.n.answers.Add(1)
		log.Info("answer from device", "cp", p.CP)
	default:
		s.n.unknownCN.Add(1)
		log.Warn("command not supported", "st", p.ST)
		cn.answer(p, hj212.RequestReply(p, hj212.QnBadCN))
	}
}

// refuseFrame counts and logs a frame that failed its checks. A frame whose CRC fails but whose
// data segment reads is answered 9011 QnRtn 9 (CRC error, Table 7) if its Flag asks, so the device
// resends it; no reading comes of it.
func (cn *conn) refuseFrame(raw []byte, err error) {
	s := cn.s
	switch {
	case errors.Is(err, hj212.ErrCRC):
		s.n.badCRC.Add(1)
		cn.log.Warn("frame refused", "err", err)
		if p, perr := hj212.ParseSegment(string(raw[6 : len(raw)-6])); perr == nil {
			cn.answer(p, hj212.RequestReply(p, hj212.QnBadCRC))
		}
	case errors.Is(err, hj212.ErrLength):
		s.n.badLength.Add(1)
		cn.log.Warn("frame refused", "err", err)
	default:
		s.n.badSegment.Add(1)
		cn.log.Warn("frame refused", "err", err)
	}
}

// data reassembles a split upload, delivers it and answers 9014 when the Sink took it.
func (cn *conn) data(p hj212.Packet, raw []byte, log *slog.Logger) {
	s := cn.s
	last := p // the packet the answer is to
	if p.PNUM > 0 {
		msg, ok := cn.split(p, raw, log)
		if !ok {
			return
		}
		if msg == nil { // parts missing: this part is received
			cn.answer(last, hj212.DataReply(last))
			return
		}
		p, raw = msg.Packet, msg.Raw
	}
	d, err := hj212.ParseData(p.CP)
	if err == nil && d.Time.IsZero() {
		err = errors.New("data area: no DataTime")
	}
	if err != nil {
		s.n.badData.Add(1)
		log.Warn("data refused", "err", err)
		return
	}
	f := gateway.Frame{Protocol: gateway.ProtocolHJ212, Device: p.MN, Raw: append([]byte(nil), raw...),
		Time: d.Time, Period: gateway.HJ212Period(p.CN), Values: d.Values, Flags: d.Flags}
	select {
	case s.deliveries <- struct{}{}:
	case <-s.ctx.Done():
		return
	}
	// The Sink runs on a goroutine of its own: its stack (signing, encoding, submitting) grows
	// and goes with it, so the connection's goroutine stays small while it waits for a frame.
	done := make(chan error, 1)
	go func() {
		defer func() { <-s.deliveries }()
		ctx, cancel := context.WithTimeout(s.ctx, s.cfg.DeliverTimeout)
		defer cancel()
		done <- s.sink.Deliver(ctx, f)
	}()
	err = <-done
	if err != nil {
		if errors.Is(err, gateway.ErrUnknownDevice) {
			s.n.unmapped.Add(1)
		} else {
			s.n.sinkErrors.Add(1)
		}
		// No answer: the device resends after its timeout (Table 1) and the data are not lost.
		log.Warn("data not delivered", "err", err)
		return
	}
	s.n.delivered.Add(1)
	cn.answer(last, hj212.DataReply(last))
}

// split adds a part to the connection's reassembly within the server-wide budget.
func (cn *conn) split(p hj212.Packet, raw []byte, log *slog.Logger) (*hj212.Message, bool) {
	s := cn.s
	if cn.reasm == nil {
		cn.reasm = hj212.NewReassembler(s.cfg.Split)
	}
	before := cn.reasm.Held()
	if s.splitHeld.Load()+int64(len(raw)+len(p.CP)) > int64(s.cfg.SplitBudget) {
		s.n.splitRefused.Add(1)
		log.Warn("split packet refused: the gateway's split budget is full", "budget", s.cfg.SplitBudget)
		return nil, false
	}
	msg, dropped, err := cn.reasm.Add(p, raw, s.cfg.Now())
	s.splitHeld.Add(int64(cn.reasm.Held() - before))
	if dropped > 0 {
		s.n.splitDropped.Add(int64(dropped))
		log.Warn("incomplete split messages dropped", "messages", dropped)
	}
	if err != nil {
		s.n.splitRefused.Add(1)
		log.Warn("split packet refused", "err", err)
		return nil, false
	}
	return msg, true
}

func (cn *conn) releaseSplit() {
	if cn.reasm != nil {
		if n := cn.reasm.Pending(); n > 0 {
			cn.s.n.splitDropped.Add(int64(n))
		}
		cn.s.splitHeld.Add(-int64(cn.reasm.Held()))
	}
}

// answer writes reply when req's Flag asks for an answer (bit A).
func (cn *conn) answer(req, reply hj212.Packet) {
	if req.HasFlag && req.Flag.Ack() {
		cn.send(reply)
	}
}

// send writes a packet to the device.
func (cn *conn) send(reply hj212.Packet) {
	if cn.closed {
		return
	}
	b, err := hj212.Build(reply)
	if err != nil { // fields of a parsed packet always build; this would be a bug
		cn.log.Error("answer not built", "err", err)
		return
	}
	cn.c.SetWriteDeadline(time.Now().Add(cn.s.cfg.WriteTimeout))
	if _, err := cn.c.Write(b); err != nil {
		cn.log.Warn("connection closed: answer not written", "err", err)
		cn.closed = true
		cn.c.Close()
		return
	}
	cn.s.n.replies.Add(1)
}
