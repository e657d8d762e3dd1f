package api

import (
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
)

// A subscriber that stops reading is dropped once its queue is full;
// broadcasting never waits for it, and the others still get every event.
func TestLiveDropsSlowSubscriber(t *testing.T) {
	l := NewLive()
	slow, err := l.subscribe("a", "")
	if err != nil {
		t.Fatal(err)
	}
	other, err := l.subscribe("b", "E2")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < liveQueue+10; i++ {
		l.Alarm(alarm.Alarm{ID: int64(i), Enterprise: "E1"})
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("broadcasting took %v", el)
	}
	select {
	case <-slow.gone:
	default:
		t.Fatal("slow subscriber not dropped")
	}
	if l.Dropped() != 1 || l.Subscribers() != 1 {
		t.Errorf("dropped %d, %d subscribers left", l.Dropped(), l.Subscribers())
	}
	if len(other.ch) != 0 {
		t.Errorf("subscriber of E2 got %d events of E1", len(other.ch))
	}
	l.Alarm(alarm.Alarm{Enterprise: "E2"})
	if len(other.ch) != 1 {
		t.Errorf("subscriber of E2 got %d events", len(other.ch))
	}
	// Unsubscribing after being dropped is harmless, and frees the token's slot.
	l.unsubscribe(slow)
	l.unsubscribe(other)
	if l.Subscribers() != 0 || len(l.perToken) != 0 {
		t.Errorf("%d subscribers, per token %v", l.Subscribers(), l.perToken)
	}
}
