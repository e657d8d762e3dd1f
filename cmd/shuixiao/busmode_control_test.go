package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/shuixiao/shuixiao/internal/broker"
)

// lockedBuffer is a log sink tests read while the server writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestBusReceiptsCommandsRefusals: a device connected to an edge gets the
// receipts of its readings with the sequencer's ledger index, and of a
// reading the edge refused; what the edge refused (a forged reading, a bad
// login) is counted in the sequencer's store; a command the sequencer's
// control plane publishes reaches the device at its edge, and the device's
// acknowledgement reaches the sequencer's actuation layer.
func TestBusReceiptsCommandsRefusals(t *testing.T) {
	nats := startEmbeddedNATS(t)
	dir := t.TempDir()
	logs := &lockedBuffer{}
	s, err := openServer(context.Background(), serverConfig{Data: dir, HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(logs, nil)), Bus: busConfig{Role: roleSequencer, NATS: nats.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	admin := s.client(s.token)
	m1, _ := province(t, admin)
	e := startTestEdge(t, dir, "", nats.URL())

	cli := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + e.broker.Addr()).SetClientID(m1.id).
		SetUsername(m1.id).SetPassword(m1.password).SetCleanSession(true))
	if tok := cli.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect to the edge: %v", tok.Error())
	}
	defer cli.Disconnect(0)
	receipts := make(chan string, 16)
	commands := make(chan string, 4)
	for topic, ch := range map[string]chan string{broker.ReceiptsPrefix + m1.id: receipts, broker.CommandsPrefix + m1.id: commands} {
		if tok := cli.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) { ch <- string(m.Payload()) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe %s: %v", topic, tok.Error())
		}
	}
	pub := func(msg []byte) {
		t.Helper()
		if tok := cli.Publish(broker.ReadingsPrefix+m1.id, 1, false, msg); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	next := func(ch chan string, what string) string {
		t.Helper()
		select {
		case r := <-ch:
			return r
		case <-time.After(15 * time.Second):
			t.Fatalf("no %s", what)
			return ""
		}
	}

	// Receipts carry the index the sequencer gave each reading.
	for i := 1; i <= 3; i++ {
		pub(m1.next(t, float64(10*i)))
	}
	for i := 1; i <= 3; i++ {
		got := next(receipts, fmt.Sprintf("receipt of reading %d", i))
		r, err := s.store.ReadingBySeq(context.Background(), m1.id, uint64(i))
		must(t, err)
		if want := fmt.Sprintf("seq %d index %d", i, r.Index); got != want {
			t.Fatalf("receipt %q, want %q", got, want)
		}
	}

	// A forged reading: refused at the edge, a receipt saying so, and the
	// refusal counted in the sequencer's store.
	forged := bytes.Replace(m1.next(t, 500), []byte("total_m3 500"), []byte("total_m3 501"), 1)
	m1.seq--
	pub(forged)
	if got := next(receipts, "receipt of the forged reading"); got != "rejected bad-signature" {
		t.Fatalf("receipt of a forged reading %q", got)
	}
	// A login with a wrong password at the edge is counted too.
	bad := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + e.broker.Addr()).SetClientID("intruder").
		SetUsername(m1.id).SetPassword("wrong").SetProtocolVersion(4))
	if tok := bad.Connect(); tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
		t.Fatal("a wrong password logged in at the edge")
	}
	var rej struct {
		ByReason map[string]uint64 `json:"by_reason"`
	}
	for end := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		must(t, admin.get("/api/v1/rejections", &rej))
		if rej.ByReason["bad-signature"] == 1 && rej.ByReason["bad-credentials"] == 1 || time.Now().After(end) {
			break
		}
	}
	if rej.ByReason["bad-signature"] != 1 || rej.ByReason["bad-credentials"] != 1 {
		t.Fatalf("the sequencer's store counts %v, want the edge's bad-signature and bad-credentials once each", rej.ByReason)
	}

	// A command published by the sequencer's control plane (the actuation
	// layer's publisher) reaches the device at its edge.
	if err := (brokerPublisher{s}).Publish(broker.CommandsPrefix+m1.id, []byte(`{"id":"C1"}`), 1); err != nil {
		t.Fatal(err)
	}
	if got := next(commands, "command at the edge"); got != `{"id":"C1"}` {
		t.Fatalf("command %q", got)
	}
	// The device's answer reaches the sequencer's actuation layer (which
	// logs one it cannot read).
	if tok := cli.Publish(broker.AcksPrefix+m1.id, 1, false, "not an ack"); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish ack: %v", tok.Error())
	}
	for end := time.Now().Add(30 * time.Second); !strings.Contains(logs.String(), "actuation: bad ack"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the device's acknowledgement did not reach the sequencer's actuation layer")
		}
	}
	if l := logs.String(); !strings.Contains(l, "device="+m1.id) {
		t.Fatalf("actuation got the ack from another device:\n%s", l)
	}
}
