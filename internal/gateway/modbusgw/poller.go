// Package modbusgw is the gateway's Modbus TCP poller: for each device of a register map
// (Config, JSON) it reads holding or input registers every interval with the
// github.com/simonvetter/modbus client, turns each register's words into a number by its
// data type and word order, applies scale and offset, and hands the poll's values to a
// gateway.Sink as one Frame (protocol "modbus", device "host:port/unit"). A poll whose
// read failed (timeout, exception, connection lost) yields no frame; the connection is
// opened again at the next poll. The frame's Raw is the poll's requests and answers:
// per block, function code, start address and count (big-endian), then the registers'
// bytes as received.
package modbusgw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simonvetter/modbus"

	"github.com/shuixiao/shuixiao/internal/gateway"
)

// maxBlock is the most registers one read asks for (Modbus allows 125).
const maxBlock = 125

// Poller polls the devices of a register map. Run it once.
type Poller struct {
	cfg  Config
	sink gateway.Sink
	log  *slog.Logger
	now  func() time.Time

	polls, delivered, failed, timeouts, exceptions, badValues, sinkErrors, connects atomic.Int64
}

// Stats are the poller's counters since New.
type Stats struct {
	Polls      int64 // polls started
	Delivered  int64 // frames the Sink took
	Failed     int64 // polls that read nothing (timeouts, exceptions, connection errors)
	Timeouts   int64 // failed polls that timed out
	Exceptions int64 // failed polls the device answered with a Modbus exception
	BadValues  int64 // registers whose words were not a finite number (left out of the frame)
	SinkErrors int64 // frames the Sink refused
	Connects   int64 // connections opened
}

// New returns a poller for a checked register map.
func New(cfg Config, sink gateway.Sink, log *slog.Logger) (*Poller, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Poller{cfg: cfg, sink: sink, log: log.With("gateway", gateway.ProtocolModbus), now: time.Now}, nil
}

// Stats returns the counters.
func (p *Poller) Stats() Stats {
	return Stats{Polls: p.polls.Load(), Delivered: p.delivered.Load(), Failed: p.failed.Load(), Timeouts: p.timeouts.Load(),
		Exceptions: p.exceptions.Load(), BadValues: p.badValues.Load(), SinkErrors: p.sinkErrors.Load(), Connects: p.connects.Load()}
}

// Run polls every device until ctx ends; it returns ctx's error.
func (p *Poller) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, d := range p.cfg.Devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.runDevice(ctx, d)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// block is one read: consecutive registers of one function.
type block struct {
	input bool
	start uint16
	count uint16
	regs  []Register
}

// plan groups a device's registers into reads of at most maxBlock registers, joining
// registers of the same function that follow each other without a gap (devices answer a
// read that covers an undefined register with an exception).
func plan(regs []Register) []block {
	sorted := append([]Register(nil), regs...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Function != sorted[j].Function {
			return sorted[i].Function < sorted[j].Function
		}
		return sorted[i].Address < sorted[j].Address
	})
	var out []block
	for _, r := range sorted {
		end := int(r.Address) + width[r.Type]
		if n := len(out); n > 0 {
			b := &out[n-1]
			if b.input == (r.Function == "input") && int(r.Address) <= int(b.start)+int(b.count) && end-int(b.start) <= maxBlock {
				b.count = uint16(max(int(b.count), end-int(b.start)))
				b.regs = append(b.regs, r)
				continue
			}
		}
		out = append(out, block{input: r.Function == "input", start: r.Address, count: uint16(width[r.Type]), regs: []Register{r}})
	}
	return out
}

func (p *Poller) runDevice(ctx context.Context, d Device) {
	log := p.log.With("device", d.ID())
	blocks := plan(d.Registers)
	var client *modbus.ModbusClient
	defer func() {
		if client != nil {
			client.Close()
		}
	}()
	tick := time.NewTicker(time.Duration(d.Interval))
	defer tick.Stop()
	for {
		var err error
		if client, err = p.poll(ctx, d, client, blocks, log); err != nil && client != nil {
			client.Close()
			client = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// poll reads every block and delivers the values. It returns the client to keep (nil
// after a connection error, so the next poll connects again) and the read error.
func (p *Poller) poll(ctx context.Context, d Device, client *modbus.ModbusClient, blocks []block, log *slog.Logger) (*modbus.ModbusClient, error) {
	p.polls.Add(1)
	at := p.now()
	if client == nil {
		c, err := modbus.NewClient(&modbus.ClientConfiguration{URL: "tcp://" + d.Address, Timeout: time.Duration(d.Timeout),
			Logger: slog.NewLogLogger(log.Handler(), slog.LevelDebug)})
		if err == nil {
			err = c.Open()
		}
		if err == nil {
			err = c.SetUnitId(d.Unit)
		}
		if err != nil {
			p.fail(err, log)
			return nil, err
		}
		p.connects.Add(1)
		client = c
	}
	f := gateway.Frame{Protocol: gateway.ProtocolModbus, Device: d.ID(), Time: at, Values: map[string]float64{}}
	for _, b := range blocks {
		kind, fn := modbus.HOLDING_REGISTER, byte(0x03)
		if b.input {
			kind, fn = modbus.INPUT_REGISTER, 0x04
		}
		regs, err := client.ReadRegisters(b.start, b.count, kind)
		if err == nil && len(regs) != int(b.count) {
			err = fmt.Errorf("asked %d registers, got %d", b.count, len(regs))
		}
		if err != nil {
			p.fail(err, log)
			if isException(err) {
				return client, nil // the device answered: the connection is fine
			}
			return client, err
		}
		f.Raw = append(f.Raw, fn, byte(b.start>>8), byte(b.start), byte(b.count>>8), byte(b.count))
		for _, v := range regs {
			f.Raw = append(f.Raw, byte(v>>8), byte(v))
		}
		for _, r := range b.regs {
			off := int(r.Address - b.start)
			v, err := r.Decode(regs[off : off+width[r.Type]])
			if err != nil {
				p.badValues.Add(1)
				log.Warn("register value left out", "err", err)
				continue
			}
			f.Values[r.Name] = v
		}
	}
	if len(f.Values) == 0 {
		return client, nil
	}
	if err := p.sink.Deliver(ctx, f); err != nil {
		p.sinkErrors.Add(1)
		log.Warn("poll not taken", "err", err)
		return client, nil
	}
	p.delivered.Add(1)
	return client, nil
}

func (p *Poller) fail(err error, log *slog.Logger) {
	p.failed.Add(1)
	switch {
	case errors.Is(err, modbus.ErrRequestTimedOut):
		p.timeouts.Add(1)
	case isException(err):
		p.exceptions.Add(1)
	}
	log.Warn("poll failed", "err", err)
}

// isException reports a Modbus exception answer (the device is there and said no).
func isException(err error) bool {
	for _, e := range []error{modbus.ErrIllegalFunction, modbus.ErrIllegalDataAddress, modbus.ErrIllegalDataValue,
		modbus.ErrServerDeviceFailure, modbus.ErrAcknowledge, modbus.ErrServerDeviceBusy, modbus.ErrMemoryParityError,
		modbus.ErrGWPathUnavailable, modbus.ErrGWTargetFailedToRespond} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
