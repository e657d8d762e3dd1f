package broker

import (
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
)

// TestCommandAndAck: a device receives a command on its own commands topic
// at QoS 1, answers on its acks topic at QoS 1, gets the PUBACK, and the
// server sees the acknowledgement; it cannot read another device's commands.
func TestCommandAndAck(t *testing.T) {
	acks := make(chan string, 4)
	b, err := New(Options{
		Addr:         "127.0.0.1:0",
		Authenticate: func(dev string, pw []byte) bool { return string(pw) == "pw-"+dev },
		OnReading:    func(r Reading, ack func(Ack)) { ack(Ack{Code: CodeSuccess}) },
		OnDeviceMessage: func(dev, topic string, payload []byte) {
			acks <- dev + " " + topic + " " + string(payload)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cli := paho3.NewClient(paho3.NewClientOptions().AddBroker("tcp://" + b.Addr()).SetClientID("v1").
		SetUsername("valve1").SetPassword("pw-valve1").SetCleanSession(true))
	if tok := cli.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer cli.Disconnect(0)
	got := make(chan string, 4)
	tok := cli.Subscribe(CommandsPrefix+"valve1", 1, func(_ paho3.Client, m paho3.Message) { got <- string(m.Payload()) })
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	foreign := cli.Subscribe(CommandsPrefix+"valve2", 1, func(paho3.Client, paho3.Message) { t.Error("read another device's commands") })
	foreign.WaitTimeout(5 * time.Second)
	if err := b.Publish(CommandsPrefix+"valve1", []byte(`{"id":"C1"}`), 1); err != nil {
		t.Fatal(err)
	}
	_ = b.Publish(CommandsPrefix+"valve2", []byte(`{"id":"C2"}`), 1)
	select {
	case m := <-got:
		if m != `{"id":"C1"}` {
			t.Fatalf("command %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no command delivered")
	}
	pub := cli.Publish(AcksPrefix+"valve1", 1, false, `{"id":"C1","ok":true}`)
	if !pub.WaitTimeout(5*time.Second) || pub.Error() != nil {
		t.Fatalf("QoS 1 ack not confirmed with a PUBACK: %v", pub.Error())
	}
	select {
	case a := <-acks:
		if a != `valve1 shuixiao/v1/acks/valve1 {"id":"C1","ok":true}` {
			t.Fatalf("server got %q", a)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not get the ack")
	}
	time.Sleep(100 * time.Millisecond) // a foreign command would have arrived by now
}
