package ingest

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/sigcheck"
)

// Device is what ingest needs to know of a registered meter.
type Device struct {
	Meter      string
	Point      string
	Enterprise string
	Revoked    bool
	// num is the meter's number in its directory: 0, 1, 2, … in the
	// order its meters were first put, the same for every later entry of
	// the meter (a new key, a revocation). State kept per meter by it (the
	// pipeline's admission states) is a slice of values with no pointers
	// for the collector to mark, indexed without a map probe. (Next to
	// Revoked, it takes no room of its own.)
	num uint32
	// Channels of the meter's point, for the unknown-channel and
	// plausibility checks.
	Channels map[string]meter.Channel
	// Key is the note verifier key readings were checked with; empty for
	// a meter whose readings Gateway signs.
	Key string
	// Gateway signs the meter's readings with its own key (reading.Via).
	Gateway string
	// Collector may forward the meter's own signed readings on its
	// connection (meter.Meter.Collector).
	Collector string
	// verifier is the meter's key (none if Gateway signs), in the Device
	// rather than an object of its own: SignerOf hands out a pointer to
	// it.
	verifier oneVerifier
}

// Trust is the trust level of the meter's readings.
func (dev *Device) Trust() string {
	if dev.Gateway != "" {
		return reading.TrustGateway
	}
	return reading.TrustMeter
}

// GatewayKey is what ingest knows of a registered gateway.
type GatewayKey struct {
	ID       string
	Key      string
	Revoked  bool
	verifier oneVerifier
}

// Directory is the in-memory key directory: meter ID → key and point, and
// gateway ID → key. It is rebuilt from the store at start and updated by key
// entries as they commit.
type Directory struct {
	mu       sync.RWMutex
	devices  map[string]*Device
	gateways map[string]*GatewayKey
	tables   *sigcheck.Tables // budget of key tables for signature checks
	// channels holds one map per distinct channel list of the points
	// seen (see channelsOf), shared read-only by their devices.
	channels map[string]map[string]meter.Channel
	// gen counts the changes of devices and gateways (made under mu's
	// write lock): a pipeline knows from it which signature checks saw a
	// key entry's effect (see Pipeline.pruneKeys).
	gen atomic.Uint64
	// meters is the number of meter IDs put so far, the next Device.num
	// (under mu's write lock).
	meters uint32
}

// DefaultKeyTables is the number of meter and gateway keys NewDirectory
// gives a precomputed table for their signature checks (sigcheck, about
// 43 KB each: 88 MB in all); other keys are checked correctly, only slower.
const DefaultKeyTables = 2048

// NewDirectory returns an empty directory.
func NewDirectory() *Directory { return NewDirectoryWithKeyTables(DefaultKeyTables) }

// NewDirectoryWithKeyTables returns an empty directory whose keys get at
// most n tables (0: none, every signature checked without a table).
func NewDirectoryWithKeyTables(n int) *Directory {
	return &Directory{devices: map[string]*Device{}, gateways: map[string]*GatewayKey{}, tables: sigcheck.NewTables(n),
		channels: map[string]map[string]meter.Channel{}}
}

// verifier returns the note verifier of a meter's or gateway's key, its
// Ed25519 signatures checked by sigcheck with crypto/ed25519's verdicts.
func (d *Directory) verifier(vkey string) (note.Verifier, error) {
	return sigcheck.NewNoteVerifier(vkey, d.tables)
}

// Put registers (or replaces) a meter's key. The key must be a note verifier
// key named reading.KeyName(m.ID), unless m.Gateway signs for the meter.
func (d *Directory) Put(m meter.Meter, p meter.Point, enterprise string) error {
	d.mu.RLock()
	same := sameDevice(d.devices[m.ID], m, p, enterprise)
	d.mu.RUnlock()
	if same {
		// A reload of what the directory holds (an edge's refresh reads
		// every meter again): nothing to allocate or replace.
		return nil
	}
	dev := &Device{Meter: m.ID, Point: m.Point, Enterprise: enterprise, Revoked: m.Revoked, Channels: d.channelsOf(p.Channels), Key: m.Key, Gateway: m.Gateway, Collector: m.Collector}
	d.mu.RLock()
	old := d.devices[m.ID]
	d.mu.RUnlock()
	switch {
	case m.Gateway != "":
	case old != nil && old.Gateway == "" && old.Key == m.Key:
		// The same key again (a reload): keep its verifier and its table.
		dev.verifier = old.verifier
	default:
		v, err := d.verifier(m.Key)
		if err != nil {
			return fmt.Errorf("meter %s: key: %w", m.ID, err)
		}
		if v.Name() != reading.KeyName(m.ID) {
			return fmt.Errorf("meter %s: key is named %q, want %q", m.ID, v.Name(), reading.KeyName(m.ID))
		}
		dev.verifier = oneVerifier{v}
	}
	d.mu.Lock()
	d.putDevice(dev)
	d.mu.Unlock()
	return nil
}

// putDevice puts dev in the directory with its meter's number: the one
// the meter has if it is there already, else the next. The caller holds
// mu's write lock, so that two Puts of a new meter give it one number.
func (d *Directory) putDevice(dev *Device) {
	if old, ok := d.devices[dev.Meter]; ok {
		dev.num = old.num
	} else {
		dev.num = d.meters
		d.meters++
	}
	d.devices[dev.Meter] = dev
	d.gen.Add(1)
}

// sameDevice reports whether dev is what Put(m, p, enterprise) would make.
func sameDevice(dev *Device, m meter.Meter, p meter.Point, enterprise string) bool {
	if dev == nil || dev.Meter != m.ID || dev.Point != m.Point || dev.Enterprise != enterprise || dev.Revoked != m.Revoked ||
		dev.Key != m.Key || dev.Gateway != m.Gateway || dev.Collector != m.Collector || len(dev.Channels) != len(p.Channels) {
		return false
	}
	for _, c := range p.Channels {
		if old, ok := dev.Channels[c.Name]; !ok || old != c {
			return false
		}
	}
	return true
}

// channelsOf returns the channel map of a point with channels cs: the one
// already made for the same list, if any. The points of a province mostly
// declare the same few standard channel lists; a map for each would cost
// about a kilobyte per meter in every process that holds the directory.
func (d *Directory) channelsOf(cs []meter.Channel) map[string]meter.Channel {
	var k strings.Builder
	for _, c := range cs {
		for _, f := range []string{c.Name, c.Quantity, c.Unit, string(c.Kind)} {
			k.WriteString(strconv.Quote(f))
		}
		for _, x := range []float64{c.Rollover, c.Min, c.Max} {
			k.WriteByte(' ')
			k.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
		}
		k.WriteByte(';')
	}
	key := k.String()
	d.mu.RLock()
	m, ok := d.channels[key]
	d.mu.RUnlock()
	if ok {
		return m
	}
	m = make(map[string]meter.Channel, len(cs))
	for _, c := range cs {
		m[c.Name] = c
	}
	d.mu.Lock()
	if old, ok := d.channels[key]; ok {
		m = old
	} else {
		d.channels[key] = m
	}
	d.mu.Unlock()
	return m
}

// oneVerifier is note.VerifierList of a single verifier, without its map
// (a few hundred bytes per meter of a province).
type oneVerifier struct{ v note.Verifier }

func (o oneVerifier) Verifier(name string, hash uint32) (note.Verifier, error) {
	if name == o.v.Name() && hash == o.v.KeyHash() {
		return o.v, nil
	}
	return nil, &note.UnknownVerifierError{Name: name, KeyHash: hash}
}

// PutGateway registers (or replaces) a gateway's key, named
// reading.GatewayKeyName(g.ID).
func (d *Directory) PutGateway(g meter.Gateway) error {
	d.mu.RLock()
	old := d.gateways[g.ID]
	d.mu.RUnlock()
	var vs oneVerifier
	if old != nil && old.Key == g.Key {
		vs = old.verifier // a reload: keep the verifier and its table
	} else {
		v, err := d.verifier(g.Key)
		if err != nil {
			return fmt.Errorf("gateway %s: key: %w", g.ID, err)
		}
		if v.Name() != reading.GatewayKeyName(g.ID) {
			return fmt.Errorf("gateway %s: key is named %q, want %q", g.ID, v.Name(), reading.GatewayKeyName(g.ID))
		}
		vs = oneVerifier{v}
	}
	d.mu.Lock()
	d.gateways[g.ID] = &GatewayKey{ID: g.ID, Key: g.Key, Revoked: g.Revoked, verifier: vs}
	d.gen.Add(1)
	d.mu.Unlock()
	return nil
}

// RevokeGateway marks a gateway's key revoked: the readings it signs after
// that are refused.
func (d *Directory) RevokeGateway(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if g, ok := d.gateways[id]; ok {
		cp := *g
		cp.Revoked = true
		d.gateways[id] = &cp
		d.gen.Add(1)
	}
}

// Gateway returns a gateway's entry. The returned value must not be modified.
func (d *Directory) Gateway(id string) (*GatewayKey, bool) {
	d.mu.RLock()
	g, ok := d.gateways[id]
	d.mu.RUnlock()
	return g, ok
}

// SignerOf is the rule of who signs a meter's readings. It returns the
// verifiers a reading rd of dev must verify with — the meter's own key for a
// meter-signed reading, the registered key of the meter's gateway for a
// gateway-signed one — with the gateway's entry (nil for a meter-signed
// reading); or, when no key may sign it, the rejection reason and detail.
func (d *Directory) SignerOf(dev *Device, rd *reading.Reading) (note.Verifiers, *GatewayKey, string, string) {
	if rd.Via == nil {
		if dev.Gateway != "" {
			return nil, nil, ReasonWrongGateway, fmt.Sprintf("meter %s is signed by gateway %s; its readings must name it", dev.Meter, dev.Gateway)
		}
		return &dev.verifier, nil, "", ""
	}
	if dev.Gateway != rd.Via.Gateway {
		if dev.Gateway == "" {
			return nil, nil, ReasonWrongGateway, fmt.Sprintf("meter %s signs its own readings; gateway %s may not", dev.Meter, rd.Via.Gateway)
		}
		return nil, nil, ReasonWrongGateway, fmt.Sprintf("meter %s is signed by gateway %s, not %s", dev.Meter, dev.Gateway, rd.Via.Gateway)
	}
	g, ok := d.Gateway(rd.Via.Gateway)
	if !ok {
		return nil, nil, ReasonUnknownMeter, "no key registered for gateway " + rd.Via.Gateway
	}
	if g.Revoked {
		return nil, nil, ReasonRevokedKey, "the key of gateway " + rd.Via.Gateway + " was revoked"
	}
	return &g.verifier, g, "", ""
}

// Forwards reports whether sender may send rd on its connection: the meter
// itself, the gateway that signed it (reading.Via), or the data collector
// the meter is registered behind (its own signature is checked as always).
func (d *Directory) Forwards(sender string, rd *reading.Reading) bool {
	if rd.Meter == sender || (rd.Via != nil && rd.Via.Gateway == sender) {
		return true
	}
	if rd.Via != nil {
		return false
	}
	dev, ok := d.Get(rd.Meter)
	return ok && dev.Collector != "" && dev.Collector == sender
}

// Revoke marks a meter's key revoked; later readings are rejected.
func (d *Directory) Revoke(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if dev, ok := d.devices[id]; ok {
		cp := *dev
		cp.Revoked = true
		d.putDevice(&cp)
	}
}

// Get returns a meter's entry. The returned value must not be modified.
func (d *Directory) Get(id string) (*Device, bool) {
	d.mu.RLock()
	dev, ok := d.devices[id]
	d.mu.RUnlock()
	return dev, ok
}

// generation returns the count of device and gateway changes so far.
func (d *Directory) generation() uint64 { return d.gen.Load() }

// reflects returns whether the directory holds what key entry ke says of
// its meter or gateway — the registered key, gateway and point, or the
// revocation — and the generation at which it was seen to. A reading
// checked against the directory from then on was checked as
// keyChange.recheck would check it again.
func (d *Directory) reflects(ke *reading.KeyEntry) (bool, uint64) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	revoke := ke.Action == reading.ActionRevoke
	if ke.IsGateway() {
		g, ok := d.gateways[ke.Gateway]
		return ok && g.Revoked == revoke && (revoke || g.Key == ke.Key), d.gen.Load()
	}
	dev, ok := d.devices[ke.Meter]
	return ok && dev.Revoked == revoke && (revoke || dev.Key == ke.Key && dev.Gateway == ke.Gateway && dev.Point == ke.Point), d.gen.Load()
}

// Len returns the number of meters in the directory.
func (d *Directory) Len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.devices)
}
