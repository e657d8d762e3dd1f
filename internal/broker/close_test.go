package broker

import (
	"testing"
	"time"
)

// TestCloseWhileClientsLeave: Close returns while the client list's write
// lock is taken again and again, as clients leaving take it
// (Clients.Delete). Mochi's own way of disconnecting a listener's clients
// read-locked the list and, holding it, read-locked it again; a writer
// arriving in between made the second read lock wait behind it, and Close
// hung for ever (closingNet).
func TestCloseWhileClientsLeave(t *testing.T) {
	const rounds = 200
	for r := range rounds {
		b, err := New(Options{Addr: "127.0.0.1:0",
			Authenticate: func(string, []byte) bool { return true },
			OnReading:    func(_ Reading, ack func(Ack)) { ack(Ack{Code: CodeSuccess}) }})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Start(); err != nil {
			t.Fatal(err)
		}
		closed, leaving := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(leaving)
			for {
				select {
				case <-closed:
					return
				default:
				}
				b.srv.Clients.Lock() // a client leaving
				b.srv.Clients.Unlock()
			}
		}()
		go func() { b.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: Close did not return while clients left", r)
		}
		<-leaving
	}
}
