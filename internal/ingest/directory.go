package ingest

import (
	"fmt"
	"sync"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// Device is what ingest needs to know of a registered meter.
type Device struct {
	Meter      string
	Point      string
	Enterprise string
	Revoked    bool
	// Channels of the meter's point, for the unknown-channel and
	// plausibility checks.
	Channels map[string]meter.Channel
	// Key is the note verifier key readings were checked with.
	Key      string
	verifier note.Verifiers
}

// Directory is the in-memory key directory: meter ID → key and point. It is
// rebuilt from the store at start and updated by key entries as they commit.
type Directory struct {
	mu      sync.RWMutex
	devices map[string]*Device
}

// NewDirectory returns an empty directory.
func NewDirectory() *Directory { return &Directory{devices: map[string]*Device{}} }

// Put registers (or replaces) a meter's key. The key must be a note verifier
// key named reading.KeyName(m.ID).
func (d *Directory) Put(m meter.Meter, p meter.Point, enterprise string) error {
	v, err := newMeterVerifier(m.Key)
	if err != nil {
		return fmt.Errorf("meter %s: key: %w", m.ID, err)
	}
	if v.Name() != reading.KeyName(m.ID) {
		return fmt.Errorf("meter %s: key is named %q, want %q", m.ID, v.Name(), reading.KeyName(m.ID))
	}
	chans := make(map[string]meter.Channel, len(p.Channels))
	for _, c := range p.Channels {
		chans[c.Name] = c
	}
	dev := &Device{Meter: m.ID, Point: m.Point, Enterprise: enterprise, Revoked: m.Revoked, Channels: chans, Key: m.Key, verifier: note.VerifierList(v)}
	d.mu.Lock()
	d.devices[m.ID] = dev
	d.mu.Unlock()
	return nil
}

// Revoke marks a meter's key revoked; later readings are rejected.
func (d *Directory) Revoke(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if dev, ok := d.devices[id]; ok {
		cp := *dev
		cp.Revoked = true
		d.devices[id] = &cp
	}
}

// Get returns a meter's entry. The returned value must not be modified.
func (d *Directory) Get(id string) (*Device, bool) {
	d.mu.RLock()
	dev, ok := d.devices[id]
	d.mu.RUnlock()
	return dev, ok
}

// Len returns the number of meters in the directory.
func (d *Directory) Len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.devices)
}
