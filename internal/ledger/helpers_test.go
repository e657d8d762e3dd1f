package ledger

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/reading"
)

// testMeter is a simulated meter with its own key and chain state.
type testMeter struct {
	id     string
	signer note.Signer
	vkey   string
	mu     sync.Mutex
	seq    uint64
	prev   reading.Hash
	total  float64
}

func newTestMeter(t testing.TB, id string) *testMeter {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, reading.KeyName(id))
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return &testMeter{id: id, signer: s, vkey: vkey, seq: 0, total: 1000}
}

// next signs the meter's next reading and advances its chain.
func (m *testMeter) next(t testing.TB) []byte {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq++
	m.total += 1.25
	r := &reading.Reading{
		Meter: m.id, Seq: m.seq, Prev: m.prev, Point: "P-" + m.id,
		Time: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC).Add(time.Duration(m.seq) * time.Minute),
		Values: []reading.Value{
			{Channel: "total_m3", Value: m.total, Text: strconv.FormatFloat(m.total, 'f', 3, 64)},
			{Channel: "flow_m3h", Value: 12.5, Text: "12.500"},
			{Channel: "pressure_mpa", Value: 0.42, Text: "0.420"},
			{Channel: "cod_mg_l", Value: 41.5, Text: "41.50"},
		},
	}
	msg, err := reading.Sign(r, m.signer)
	if err != nil {
		t.Fatal(err)
	}
	m.prev = reading.HashOf(msg)
	return msg
}

func newTestMeters(t testing.TB, n int) []*testMeter {
	ms := make([]*testMeter, n)
	for i := range ms {
		ms[i] = newTestMeter(t, fmt.Sprintf("HN-430300-%04d", i+1))
	}
	return ms
}

// keyEntry returns a log-signed registration of m.
func keyEntry(t testing.TB, l *Log, m *testMeter) []byte {
	t.Helper()
	k := &reading.KeyEntry{
		Action: reading.ActionRegister, Meter: m.id, Enterprise: "E-1", Point: "P-" + m.id,
		Key: m.vkey, Signed: "meter", Time: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC),
	}
	if err := k.Validate(); err != nil {
		t.Fatal(err)
	}
	msg, err := l.SignNote(k.Text())
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// testOptions are fast settings for tests.
func testOptions(dir string) Options {
	return Options{Dir: dir, Origin: "test.shuixiao.local/ledger", CheckpointInterval: 100 * time.Millisecond}
}

func openTestLog(t testing.TB, opts Options) *Log {
	t.Helper()
	l, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		l.Close(ctx)
	})
	return l
}

// populate registers the meters and appends perMeter readings of each, in
// batches, and returns every entry by index.
func populate(t testing.TB, l *Log, meters []*testMeter, perMeter int) map[uint64][]byte {
	t.Helper()
	ctx := context.Background()
	all := map[uint64][]byte{}
	var keys [][]byte
	for _, m := range meters {
		keys = append(keys, keyEntry(t, l, m))
	}
	idx, err := l.Append(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range keys {
		all[idx[i]] = e
	}
	for r := 0; r < perMeter; r++ {
		batch := make([][]byte, len(meters))
		for i, m := range meters {
			batch[i] = m.next(t)
		}
		idx, err := l.Append(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range batch {
			all[idx[i]] = e
		}
	}
	return all
}

// awaitSize waits for a published checkpoint of at least size entries.
func awaitSize(t testing.TB, l *Log, size uint64) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cp, err := l.AwaitPublished(ctx, size-1)
	if err != nil {
		t.Fatalf("await checkpoint of size %d: %v", size, err)
	}
	return cp
}

func mustVerifier(t testing.TB, vkey string) note.Verifier {
	t.Helper()
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
