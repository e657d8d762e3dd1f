package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

// An edge box (`shuixiao edge`) runs the protocol servers next to the
// devices, signs their readings with its own gateway key, keeps the raw
// frames, and forwards the signed readings to the central broker over MQTT
// as its gateway ID (the server takes a reading from the gateway that
// signed it). Its registry is a file: the devices' mappings and the meters
// and points they feed, as registered centrally.

// FileRegistry is an edge box's Registry, read from a JSON file:
//
//	{"devices": [meter.DeviceMapping…], "meters": [meter.Meter…], "points": [meter.Point…]}
type FileRegistry struct {
	devices map[string]meter.DeviceMapping
	meters  map[string]meter.Meter
	points  map[string]meter.Point
}

// LoadFileRegistry reads and checks an edge box's registry file.
func LoadFileRegistry(path string) (*FileRegistry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := ParseFileRegistry(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// ParseFileRegistry parses and checks an edge box's registry file: points
// valid, every meter's point and every mapped meter in the file.
func ParseFileRegistry(b []byte) (*FileRegistry, error) {
	var f struct {
		Devices []meter.DeviceMapping `json:"devices"`
		Meters  []meter.Meter         `json:"meters"`
		Points  []meter.Point         `json:"points"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	r := &FileRegistry{devices: map[string]meter.DeviceMapping{}, meters: map[string]meter.Meter{}, points: map[string]meter.Point{}}
	for i, p := range f.Points {
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("points[%d]: %w", i, err)
		}
		r.points[p.ID] = p
	}
	for i, m := range f.Meters {
		if _, ok := r.points[m.Point]; !ok {
			return nil, fmt.Errorf("meters[%d] (%s): point %q is not in the file", i, m.ID, m.Point)
		}
		r.meters[m.ID] = m
	}
	for i, d := range f.Devices {
		if err := d.Validate(); err != nil {
			return nil, fmt.Errorf("devices[%d]: %w", i, err)
		}
		for _, fm := range d.Fields {
			if _, ok := r.meters[fm.Meter]; !ok {
				return nil, fmt.Errorf("devices[%d] (%s): meter %q is not in the file", i, d.Device, fm.Meter)
			}
		}
		r.devices[d.Protocol+"\x00"+d.Device] = d
	}
	return r, nil
}

// DeviceMapping implements Registry.
func (r *FileRegistry) DeviceMapping(_ context.Context, protocol, device string) (meter.DeviceMapping, error) {
	d, ok := r.devices[protocol+"\x00"+device]
	if !ok {
		return d, fmt.Errorf("device %s/%s: %w", protocol, device, store.ErrNotFound)
	}
	return d, nil
}

// Meter implements Registry.
func (r *FileRegistry) Meter(_ context.Context, id string) (meter.Meter, error) {
	m, ok := r.meters[id]
	if !ok {
		return m, fmt.Errorf("meter %s: %w", id, store.ErrNotFound)
	}
	return m, nil
}

// Point implements Registry.
func (r *FileRegistry) Point(_ context.Context, id string) (meter.Point, error) {
	p, ok := r.points[id]
	if !ok {
		return p, fmt.Errorf("point %s: %w", id, store.ErrNotFound)
	}
	return p, nil
}

// readingsTopic is the broker's topic of a device's readings (docs/mqtt.md).
const readingsTopic = "shuixiao/v1/readings/"

// MQTTSubmitter forwards gateway-signed readings to the central broker
// (MQTT 5, QoS 1) on the gateway's own topic, one at a time so that each
// meter's readings arrive in seq order, and reports the broker's PUBACK:
// success once the reading is in the central ledger and store, or the
// reason it was refused. A broken connection is dialled again on the next
// reading; the device, unanswered, sends its frame again.
type MQTTSubmitter struct {
	Broker   string // host:port or tcp://host:port
	Username string // the gateway ID
	Password string
	Timeout  time.Duration // per publish; default 30 s

	mu     sync.Mutex
	client *paho.Client
}

// Submit implements Submitter. It blocks until the broker answers.
func (m *MQTTSubmitter) Submit(signed []byte, _ string, done func(error)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := m.connect(ctx)
	if err != nil {
		done(err)
		return
	}
	pr, err := c.Publish(ctx, &paho.Publish{Topic: readingsTopic + m.Username, QoS: 1, Payload: signed})
	switch {
	case err != nil && pr == nil:
		m.drop()
		done(fmt.Errorf("中心代理不可达 / central broker: %w", err))
	case pr.ReasonCode >= 0x80:
		reason := ""
		if pr.Properties != nil {
			reason = pr.Properties.ReasonString
		}
		done(fmt.Errorf("%w: broker reason 0x%02X %s", ErrRefused, pr.ReasonCode, reason))
	default:
		done(nil)
	}
}

// connect returns the connection, dialling it if there is none.
func (m *MQTTSubmitter) connect(ctx context.Context) (*paho.Client, error) {
	if m.client != nil {
		select {
		case <-m.client.Done():
			m.client = nil
		default:
			return m.client, nil
		}
	}
	addr := m.Broker
	if u, err := url.Parse(addr); err == nil && u.Host != "" {
		addr = u.Host
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("中心代理不可达 / central broker %s: %w", addr, err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: conn, OnClientError: func(error) {}})
	ca, err := c.Connect(ctx, &paho.Connect{KeepAlive: 60, ClientID: "edge-" + m.Username, CleanStart: true,
		Username: m.Username, UsernameFlag: true, Password: []byte(m.Password), PasswordFlag: true})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("中心代理拒绝登录 / central broker login as %s: %w", m.Username, err)
	}
	if ca.ReasonCode != 0 {
		conn.Close()
		return nil, fmt.Errorf("中心代理拒绝登录 / central broker refused login as %s: reason 0x%02X", m.Username, ca.ReasonCode)
	}
	m.client = c
	return c, nil
}

func (m *MQTTSubmitter) drop() {
	if m.client != nil {
		_ = m.client.Disconnect(&paho.Disconnect{})
		m.client = nil
	}
}

// Close disconnects from the broker.
func (m *MQTTSubmitter) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.drop()
}
