package certificate

import (
	"fmt"
	"testing"
)

// events makes n entries: certificates of 1,000 m³ issued on their own
// statements, each followed by three transfers and a retirement.
func events(n int) []Event {
	out := make([]Event, 0, n)
	for i := 0; len(out) < n; i++ {
		cert, stmt := fmt.Sprintf("wrc-%d", i), fmt.Sprintf("mvs-%d", i)
		base := uint64(len(out)) + 10
		out = append(out,
			Event{base, issue(fmt.Sprintf("op-%d-i", i), cert, stmt, 1000, 1000)},
			Event{base + 1, transfer(fmt.Sprintf("op-%d-t1", i), cert, "ent-a", "ent-b", 400)},
			Event{base + 2, transfer(fmt.Sprintf("op-%d-t2", i), cert, "ent-b", "ent-c", 100)},
			Event{base + 3, transfer(fmt.Sprintf("op-%d-t3", i), cert, "ent-a", "ent-c", 100)},
			Event{base + 4, retire(fmt.Sprintf("op-%d-r", i), cert, "ent-c", 50)})
	}
	return out[:n]
}

// BenchmarkFold folds 10,000 entries (2,000 certificates): what every
// certificate operation and read costs (internal/rights folds the stored
// entries each time).
func BenchmarkFold(b *testing.B) {
	evs := events(10000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Fold(evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000, "ns/entry")
}

// BenchmarkParse parses one transfer entry.
func BenchmarkParse(b *testing.B) {
	text := []byte(transfer("op-2", "wrc-1", "ent-a", "ent-b", 300).Text())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(text); err != nil {
			b.Fatal(err)
		}
	}
}
