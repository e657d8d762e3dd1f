package gateway

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/hj212"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// Registry is where a gateway reads device mappings and the meters and
// points they feed: the store in `serve`, a file at an edge box.
// Missing records are store.ErrNotFound.
type Registry interface {
	DeviceMapping(ctx context.Context, protocol, device string) (meter.DeviceMapping, error)
	Meter(ctx context.Context, id string) (meter.Meter, error)
	Point(ctx context.Context, id string) (meter.Point, error)
}

// Submitter hands a signed reading to ingest and calls done once with nil
// when it is acknowledged (in the ledger and the store, or an exact
// duplicate of an acknowledged one) or with the reason it was refused.
type Submitter interface {
	Submit(signed []byte, source string, done func(error))
}

// ErrRefused wraps the reason ingest refused a gateway-signed reading.
var ErrRefused = errors.New("gateway: reading refused")

// SinkOptions configures a SigningSink.
type SinkOptions struct {
	Gateway  string      // the gateway's ID
	Signer   note.Signer // named reading.GatewayKeyName(Gateway)
	Registry Registry
	Archive  *Archive
	Submit   Submitter
	Logger   *slog.Logger
	// CacheTTL bounds how long a device's mapping and its meters are
	// cached (0: 10 s); Invalidate drops one at once.
	CacheTTL time.Duration
	// Now is the receive clock; nil: time.Now.
	Now func() time.Time
}

// SigningSink is the Sink of a gateway: it maps a frame's fields to meters
// and channels (converting units), makes one reading per meter signed with
// the gateway's key (trust level gateway-signed, with protocol, device and
// the raw frame's SHA-256), keeps the frame in the archive, and submits the
// readings to ingest like a native meter's. It keeps each meter's seq and
// prev; they are rebuilt from the archive at start (and may be raised from
// the store's admission state with Seed), so a restart never reuses a seq.
// It also implements Devices for the protocol servers.
type SigningSink struct {
	opts SinkOptions

	mu     sync.Mutex
	states map[string]chainState
	locks  map[string]*sync.Mutex
	seen   map[reading.Hash]struct{}
	ring   []reading.Hash
	next   int

	cacheMu sync.Mutex
	cache   map[string]*cachedDevice

	unmappedMu   sync.Mutex
	unmappedSeen map[string]bool

	stats sinkCounters
}

type chainState struct {
	seq  uint64
	prev reading.Hash
}

type cachedDevice struct {
	at      time.Time
	mapping meter.DeviceMapping
	found   bool
	targets map[string]target
	err     error
}

// target is a mapped meter as the gateway signs for it.
type target struct {
	point    string
	channels map[string]meter.Channel
}

// seenFrames bounds the frames remembered to answer an exact resend.
const seenFrames = 1 << 16

// NewSigningSink returns a sink whose chains continue from the archive.
func NewSigningSink(opts SinkOptions) (*SigningSink, error) {
	if opts.Signer == nil || opts.Registry == nil || opts.Archive == nil || opts.Submit == nil {
		return nil, errors.New("gateway: Signer, Registry, Archive and Submit are required")
	}
	if opts.Signer.Name() != reading.GatewayKeyName(opts.Gateway) {
		return nil, fmt.Errorf("gateway %s: signer is named %q, want %q", opts.Gateway, opts.Signer.Name(), reading.GatewayKeyName(opts.Gateway))
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &SigningSink{opts: opts, states: map[string]chainState{}, locks: map[string]*sync.Mutex{},
		seen: map[reading.Hash]struct{}{}, ring: make([]reading.Hash, seenFrames), cache: map[string]*cachedDevice{},
		unmappedSeen: map[string]bool{}}
	err := ScanArchive(opts.Archive.Dir(), func(rec *reading.FrameRecord) error {
		if rec.Gateway != opts.Gateway {
			return nil
		}
		s.remember(frameKey(reading.FrameHash(rec.Raw), rec.Time))
		for _, r := range rec.Readings {
			hash, err := reading.ParseHash(r.Hash)
			if err != nil {
				return fmt.Errorf("frame archive: reading %s/%d: %w", r.Meter, r.Seq, err)
			}
			if st := s.states[r.Meter]; r.Seq > st.seq {
				s.states[r.Meter] = chainState{seq: r.Seq, prev: hash}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Seed raises a meter's chain to a state known elsewhere (the store's last
// admitted reading), so that a lost archive still cannot make the gateway
// reuse a seq.
func (s *SigningSink) Seed(meterID string, seq uint64, prev reading.Hash) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq > s.states[meterID].seq {
		s.states[meterID] = chainState{seq: seq, prev: prev}
	}
}

// Invalidate drops a device's cached mapping (after it changed).
func (s *SigningSink) Invalidate(protocol, device string) {
	s.cacheMu.Lock()
	delete(s.cache, protocol+"\x00"+device)
	s.cacheMu.Unlock()
}

// Device implements Devices: a device is known when it has a mapping for
// this gateway.
func (s *SigningSink) Device(protocol, id string) (DeviceInfo, bool) {
	c := s.device(context.Background(), protocol, id)
	if !c.found {
		return DeviceInfo{}, false
	}
	return DeviceInfo{Password: c.mapping.Password}, true
}

// device returns a device's mapping and its meters, cached.
func (s *SigningSink) device(ctx context.Context, protocol, id string) *cachedDevice {
	key := protocol + "\x00" + id
	now := time.Now()
	s.cacheMu.Lock()
	c := s.cache[key]
	s.cacheMu.Unlock()
	if c != nil && now.Sub(c.at) < s.opts.CacheTTL {
		return c
	}
	c = &cachedDevice{at: now, targets: map[string]target{}}
	m, err := s.opts.Registry.DeviceMapping(ctx, protocol, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		c.err = err
		return c // not cached: a store error is retried on the next frame
	case m.Gateway != s.opts.Gateway:
		// Mapped to another gateway (an edge box): not this one's device.
	default:
		c.mapping, c.found = m, true
		for _, f := range m.Fields {
			if _, ok := c.targets[f.Meter]; ok {
				continue
			}
			t, err := s.target(ctx, f.Meter)
			if err != nil {
				c.err = err
				return c
			}
			c.targets[f.Meter] = t
		}
	}
	s.cacheMu.Lock()
	if len(s.cache) > 100_000 {
		clear(s.cache)
	}
	s.cache[key] = c
	s.cacheMu.Unlock()
	return c
}

func (s *SigningSink) target(ctx context.Context, meterID string) (target, error) {
	m, err := s.opts.Registry.Meter(ctx, meterID)
	if err != nil {
		return target{}, fmt.Errorf("mapped meter %s: %w", meterID, err)
	}
	if m.Gateway != s.opts.Gateway || m.Revoked {
		return target{}, fmt.Errorf("mapped meter %s is not signed by gateway %s (gateway %q, revoked %v)", meterID, s.opts.Gateway, m.Gateway, m.Revoked)
	}
	p, err := s.opts.Registry.Point(ctx, m.Point)
	if err != nil {
		return target{}, fmt.Errorf("point of mapped meter %s: %w", meterID, err)
	}
	chans := make(map[string]meter.Channel, len(p.Channels))
	for _, c := range p.Channels {
		chans[c.Name] = c
	}
	return target{point: p.ID, channels: chans}, nil
}

// usableFlag reports whether a value with this data flag is a measurement.
// Flags are HJ 212-2017's (Table 8, also used in a push body): the
// quality hj212.FlagQuality gives a flag decides — good (N) and uncertain
// (T, above the instrument's range) values are measurements; manual (S),
// invalid (F, M, C), bad (D, B) and unknown flags are left out (counted as
// flagged). A value without a flag is a measurement.
func usableFlag(flag string) bool {
	if flag == "" {
		return true
	}
	q := hj212.FlagQuality(flag)
	return q == hj212.QualityGood || q == hj212.QualityUncertain
}

// Deliver implements Sink.
func (s *SigningSink) Deliver(ctx context.Context, f Frame) error {
	s.stats.frames.Add(1)
	dev := s.device(ctx, f.Protocol, f.Device)
	if dev.err != nil {
		s.stats.failed.Add(1)
		return fmt.Errorf("gateway %s: device %s/%s: %w", s.opts.Gateway, f.Protocol, f.Device, dev.err)
	}
	if !dev.found {
		s.stats.unknownDevice.Add(1)
		return fmt.Errorf("%w: %s/%s", ErrUnknownDevice, f.Protocol, f.Device)
	}
	fh := reading.FrameHash(f.Raw)
	key := frameKey(fh, f.Time)
	if s.wasSeen(key) {
		s.stats.resent.Add(1)
		return nil // the same bytes again: its readings were made already
	}
	mapped := map[string]bool{}
	readings := map[string]*reading.Reading{}
	var order []string
	at := f.Time.Add(f.Period).UTC().Truncate(time.Millisecond)
	via := &reading.Via{Gateway: s.opts.Gateway, Protocol: f.Protocol, Device: f.Device, Frame: fh}
	for _, fm := range dev.mapping.Fields {
		v, ok := f.Values[fm.Field]
		if !ok {
			continue
		}
		mapped[fm.Field] = true
		if !usableFlag(f.Flags[fm.Field]) {
			s.stats.flagged.Add(1)
			continue
		}
		t := dev.targets[fm.Meter]
		ch, ok := t.channels[fm.Channel]
		if !ok || ch.Kind != fm.Kind {
			s.stats.failed.Add(1)
			return fmt.Errorf("device %s/%s field %s: point %s has no %s channel %s", f.Protocol, f.Device, fm.Field, t.point, fm.Kind, fm.Channel)
		}
		k, err := fm.ConvertFactor(ch.Unit)
		if err != nil {
			s.stats.failed.Add(1)
			return fmt.Errorf("device %s/%s: %w", f.Protocol, f.Device, err)
		}
		val := roundSignificant(v * k)
		if err := reading.CheckValue(fm.Channel, val); err != nil {
			s.stats.failed.Add(1)
			return fmt.Errorf("device %s/%s field %s: %w", f.Protocol, f.Device, fm.Field, err)
		}
		r := readings[fm.Meter]
		if r == nil {
			r = &reading.Reading{Meter: fm.Meter, Time: at, Point: t.point, Via: via}
			readings[fm.Meter] = r
			order = append(order, fm.Meter)
		}
		r.Values = append(r.Values, reading.Value{Channel: fm.Channel, Value: val, Text: strconv.FormatFloat(val, 'f', -1, 64)})
	}
	s.countUnmapped(f, mapped)
	if len(order) == 0 {
		s.remember(key)
		return nil
	}
	sort.Strings(order)
	unlock := s.lockMeters(order)
	signed := make([][]byte, len(order))
	rec := &reading.FrameRecord{SHA256: fh.String(), Protocol: f.Protocol, Device: f.Device, Gateway: s.opts.Gateway,
		Time: f.Time, Received: s.opts.Now().UTC(), Raw: f.Raw, Values: f.Values}
	next := make([]chainState, len(order))
	for i, id := range order {
		s.mu.Lock()
		st := s.states[id]
		s.mu.Unlock()
		r := readings[id]
		r.Seq, r.Prev = st.seq+1, st.prev
		msg, err := reading.SignGateway(r, s.opts.Signer)
		if err != nil {
			unlock()
			s.stats.failed.Add(1)
			return fmt.Errorf("gateway %s: %w", s.opts.Gateway, err)
		}
		signed[i] = msg
		next[i] = chainState{seq: r.Seq, prev: reading.HashOf(msg)}
		rec.Readings = append(rec.Readings, reading.FrameReading{Meter: id, Seq: r.Seq, Hash: next[i].prev.String()})
	}
	// The frame is kept before any reading made from it can be acknowledged.
	if err := s.opts.Archive.Append(rec); err != nil {
		unlock()
		s.stats.failed.Add(1)
		return fmt.Errorf("gateway %s: %w", s.opts.Gateway, err)
	}
	s.mu.Lock()
	for i, id := range order {
		s.states[id] = next[i]
	}
	s.mu.Unlock()
	s.remember(key)
	results := make(chan error, len(order))
	source := "gateway:" + s.opts.Gateway + ":" + f.Protocol + ":" + f.Device
	for _, msg := range signed {
		s.opts.Submit.Submit(msg, source, func(err error) { results <- err })
	}
	unlock() // submitted in seq order; the next frame of these meters may go
	var errs []error
	for range order {
		select {
		case err := <-results:
			if err != nil {
				errs = append(errs, err)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if len(errs) > 0 {
		s.stats.refused.Add(uint64(len(errs)))
		return errors.Join(errs...)
	}
	s.stats.readings.Add(uint64(len(order)))
	return nil
}

// lockMeters takes the locks of meters (sorted, so two frames never wait
// for each other in a cycle) and returns their release.
func (s *SigningSink) lockMeters(ids []string) func() {
	ls := make([]*sync.Mutex, len(ids))
	s.mu.Lock()
	for i, id := range ids {
		l := s.locks[id]
		if l == nil {
			l = &sync.Mutex{}
			s.locks[id] = l
		}
		ls[i] = l
	}
	s.mu.Unlock()
	for _, l := range ls {
		l.Lock()
	}
	return func() {
		for _, l := range ls {
			l.Unlock()
		}
	}
}

func (s *SigningSink) wasSeen(h reading.Hash) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.seen[h]
	return ok
}

// frameKey identifies a frame for answering a resend: its bytes and the
// time it states. A device resending a frame it had no answer for sends
// both again; a Modbus poll of unchanged registers sends the same bytes at
// another time, and is a new reading.
func frameKey(h reading.Hash, t time.Time) reading.Hash {
	return sha256.Sum256(append(h[:], t.UTC().Format(time.RFC3339Nano)...))
}

// remember keeps a frame key among the last seenFrames.
func (s *SigningSink) remember(h reading.Hash) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[h]; ok {
		return
	}
	if old := s.ring[s.next]; !old.IsZero() {
		delete(s.seen, old)
	}
	s.ring[s.next] = h
	s.next = (s.next + 1) % len(s.ring)
	s.seen[h] = struct{}{}
}

// countUnmapped counts a frame's fields no mapping names, logging each
// (protocol, device, field) the first time it is seen.
func (s *SigningSink) countUnmapped(f Frame, mapped map[string]bool) {
	for field := range f.Values {
		if mapped[field] {
			continue
		}
		s.stats.unmapped.Add(1)
		key := f.Protocol + "/" + f.Device + "/" + field
		s.unmappedMu.Lock()
		first := !s.unmappedSeen[key]
		if first && len(s.unmappedSeen) < 100_000 {
			s.unmappedSeen[key] = true
		}
		s.unmappedMu.Unlock()
		if first {
			s.opts.Logger.Info("未映射的字段，已计数未存储 / unmapped field counted, not stored", "gateway", s.opts.Gateway,
				"protocol", f.Protocol, "device", f.Device, "field", field)
		}
	}
}

// roundSignificant rounds to 12 significant digits, so that a converted
// value (1234 L × 0.001) is written as the decimal it is (1.234), not as
// the binary product's 17 digits.
func roundSignificant(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	if err != nil {
		return v
	}
	return r
}

// SinkStats are a sink's counters since start.
type SinkStats struct {
	Frames        uint64 `json:"frames"`         // frames delivered
	Readings      uint64 `json:"readings"`       // readings acknowledged
	UnknownDevice uint64 `json:"unknown_device"` // frames of devices without a mapping
	Unmapped      uint64 `json:"unmapped"`       // field values no mapping names (not stored)
	Flagged       uint64 `json:"flagged"`        // values left out for their data flag
	Resent        uint64 `json:"resent"`         // frames received again byte for byte
	Refused       uint64 `json:"refused"`        // readings ingest refused
	Failed        uint64 `json:"failed"`         // frames that failed before signing (registry, archive, mapping)
}

type sinkCounters struct {
	frames, readings, unknownDevice, unmapped, flagged, resent, refused, failed atomic.Uint64
}

// Stats returns the sink's counters.
func (s *SigningSink) Stats() SinkStats {
	c := &s.stats
	return SinkStats{Frames: c.frames.Load(), Readings: c.readings.Load(), UnknownDevice: c.unknownDevice.Load(),
		Unmapped: c.unmapped.Load(), Flagged: c.flagged.Load(), Resent: c.resent.Load(), Refused: c.refused.Load(), Failed: c.failed.Load()}
}
