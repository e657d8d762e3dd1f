package bus

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"

	"github.com/shuixiao/shuixiao/rejection"
)

// Besides the stream, bus mode carries the traffic between the sequencer's
// control plane and the devices connected to edges over core NATS: at most
// once, as MQTT QoS 0 receipts and the commands' own retry (actuate) already
// assume. A receipt lost with an edge is one the device would not have had
// from a dead server either.
const (
	// CommandsSubject carries commands from the sequencer to every edge;
	// the edge the device is connected to delivers it.
	CommandsSubject = "shuixiao.commands"
	// DeviceSubject carries what devices publish besides readings (command
	// acknowledgements) from their edge to the sequencer.
	DeviceSubject = "shuixiao.device"
	// RefusalsSubject carries what an edge refused (readings, logins) to
	// the sequencer, which counts them in the store.
	RefusalsSubject = "shuixiao.refusals"
	// KeysSubject carries from the sequencer to every edge the IDs of the
	// devices (meters, gateways) whose key, revocation or MQTT password
	// changed in the store: each edge loads those again. A message lost is
	// caught by the edge's full reload (periodic, and on reconnecting).
	KeysSubject = "shuixiao.keys"

	// MaxKeyChangeBytes bounds the body of a KeysSubject message; a longer
	// list of IDs travels in several.
	MaxKeyChangeBytes = 32 << 10

	headerReceipts = "Shuixiao-Receipts" // the edge's receipts inbox, on a readings message
	headerTopic    = "Shuixiao-Topic"
	headerQoS      = "Shuixiao-Qos"
	headerDevice   = "Shuixiao-Device"
)

// Receipt is a reading's final outcome for the device that sent it.
type Receipt struct {
	Device string
	Text   string // e.g. "seq 42 index 1234", as in --role all
}

// ListenReceipts makes this edge's readings carry a reply subject (an inbox
// of this connection) and calls handle with the receipts the sequencer sends
// there, one call per message it acknowledged. Call it before the first
// Publish.
func (c *Conn) ListenReceipts(handle func([]Receipt)) error {
	inbox := c.nc.NewInbox()
	_, err := c.nc.Subscribe(inbox, func(m *nats.Msg) {
		rs, err := DecodeReceipts(m.Data)
		if err == nil {
			handle(rs)
		}
	})
	if err != nil {
		return fmt.Errorf("subscribe to receipts: %w", err)
	}
	c.receipts.Store(&inbox)
	return nil
}

// SendReceipts answers the edge that published d with the outcomes of its
// readings that asked for one. It does nothing if the edge did not ask.
func (c *Conn) SendReceipts(d *Delivery, rs []Receipt) error {
	if d.receiptsTo == "" || len(rs) == 0 {
		return nil
	}
	return c.nc.Publish(d.receiptsTo, EncodeReceipts(rs))
}

// EncodeReceipts is the body of a receipts message: for each receipt its
// device and text, each a uvarint length and its bytes.
func EncodeReceipts(rs []Receipt) []byte {
	var b []byte
	for _, r := range rs {
		b = binary.AppendUvarint(b, uint64(len(r.Device)))
		b = append(b, r.Device...)
		b = binary.AppendUvarint(b, uint64(len(r.Text)))
		b = append(b, r.Text...)
	}
	return b
}

// DecodeReceipts parses a receipts message.
func DecodeReceipts(b []byte) ([]Receipt, error) {
	var rs []Receipt
	str := func(i int, field string) (string, error) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return "", fmt.Errorf("bus: receipt %d: %s: bad length", i, field)
		}
		s := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return s, nil
	}
	for i := 0; len(b) > 0; i++ {
		dev, err := str(i, "device")
		if err != nil {
			return nil, err
		}
		text, err := str(i, "text")
		if err != nil {
			return nil, err
		}
		rs = append(rs, Receipt{Device: dev, Text: text})
	}
	return rs, nil
}

// PublishCommand sends an MQTT message for a device (a command on its
// commands topic) to every edge; the edge it is connected to delivers it.
func (c *Conn) PublishCommand(topic string, payload []byte, qos byte) error {
	m := nats.NewMsg(CommandsSubject)
	m.Header.Set(headerTopic, topic)
	m.Header.Set(headerQoS, strconv.Itoa(int(qos)))
	m.Data = payload
	return c.nc.PublishMsg(m)
}

// ListenCommands calls deliver with every command the sequencer publishes.
func (c *Conn) ListenCommands(deliver func(topic string, payload []byte, qos byte)) error {
	_, err := c.nc.Subscribe(CommandsSubject, func(m *nats.Msg) {
		topic := m.Header.Get(headerTopic)
		qos, err := strconv.Atoi(m.Header.Get(headerQoS))
		if topic == "" || err != nil || qos < 0 || qos > 2 {
			return
		}
		deliver(topic, m.Data, byte(qos))
	})
	if err != nil {
		return fmt.Errorf("subscribe to commands: %w", err)
	}
	return nil
}

// PublishDeviceMessage forwards what an authenticated device published on
// topic (not a reading) to the sequencer.
func (c *Conn) PublishDeviceMessage(device, topic string, payload []byte) error {
	m := nats.NewMsg(DeviceSubject)
	m.Header.Set(headerDevice, device)
	m.Header.Set(headerTopic, topic)
	m.Data = payload
	return c.nc.PublishMsg(m)
}

// ListenDeviceMessages calls handle with every device message the edges
// forward.
func (c *Conn) ListenDeviceMessages(handle func(device, topic string, payload []byte)) error {
	_, err := c.nc.Subscribe(DeviceSubject, func(m *nats.Msg) {
		dev, topic := m.Header.Get(headerDevice), m.Header.Get(headerTopic)
		if dev == "" || topic == "" {
			return
		}
		handle(dev, topic, m.Data)
	})
	if err != nil {
		return fmt.Errorf("subscribe to device messages: %w", err)
	}
	return nil
}

// PublishRefusal tells the sequencer what an edge refused, to be counted
// with the refusals of the whole platform.
func (c *Conn) PublishRefusal(r rejection.Rejection) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return c.nc.Publish(RefusalsSubject, b)
}

// ListenRefusals calls handle with every refusal the edges publish; one
// that does not parse is dropped.
func (c *Conn) ListenRefusals(handle func(rejection.Rejection)) error {
	_, err := c.nc.Subscribe(RefusalsSubject, func(m *nats.Msg) {
		var r rejection.Rejection
		if err := json.Unmarshal(m.Data, &r); err != nil || r.Reason == "" {
			return
		}
		handle(r)
	})
	if err != nil {
		return fmt.Errorf("subscribe to refusals: %w", err)
	}
	return nil
}

// PublishKeyChanges tells every edge that the devices ids changed in the
// store, in messages of at most MaxKeyChangeBytes (an ID longer than that
// travels alone).
func (c *Conn) PublishKeyChanges(ids []string) error {
	for _, body := range EncodeKeyChanges(ids, MaxKeyChangeBytes) {
		if err := c.nc.Publish(KeysSubject, body); err != nil {
			return fmt.Errorf("publish key changes: %w", err)
		}
	}
	return nil
}

// ListenKeyChanges calls handle with the device IDs of every key-change
// message the sequencer publishes, one call per message, in order; one
// that does not parse is dropped. It returns once the server has the
// subscription: a change published after that is delivered.
func (c *Conn) ListenKeyChanges(handle func(ids []string)) error {
	_, err := c.nc.Subscribe(KeysSubject, func(m *nats.Msg) {
		ids, err := DecodeKeyChanges(m.Data)
		if err == nil && len(ids) > 0 {
			handle(ids)
		}
	})
	if err == nil {
		err = c.nc.Flush()
	}
	if err != nil {
		return fmt.Errorf("subscribe to key changes: %w", err)
	}
	return nil
}

// EncodeKeyChanges returns the bodies of the key-change messages of ids:
// each ID a uvarint length and its bytes, at most limit bytes a body unless
// one ID alone is longer.
func EncodeKeyChanges(ids []string, limit int) [][]byte {
	var bodies [][]byte
	var b []byte
	for _, id := range ids {
		n := binary.AppendUvarint(nil, uint64(len(id)))
		if len(b) > 0 && len(b)+len(n)+len(id) > limit {
			bodies = append(bodies, b)
			b = nil
		}
		b = append(append(b, n...), id...)
	}
	if len(b) > 0 {
		bodies = append(bodies, b)
	}
	return bodies
}

// DecodeKeyChanges parses the body of a key-change message.
func DecodeKeyChanges(b []byte) ([]string, error) {
	var ids []string
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, fmt.Errorf("bus: key change %d: bad length", len(ids))
		}
		ids = append(ids, string(b[k:k+int(n)]))
		b = b[k+int(n):]
	}
	return ids, nil
}
