package sim

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shuixiao/shuixiao/internal/atomicfile"
	"github.com/shuixiao/shuixiao/reading"
)

// Files in a state directory.
const (
	secretFile   = "secret"      // 32 random bytes (0600): derives meter keys and MQTT passwords
	stateFile    = "state.json"  // snapshot
	journalFile  = "journal.log" // readings signed since the snapshot
	stateVersion = 1
)

// MeterState is what a meter remembers across restarts.
type MeterState struct {
	Seq   uint64    `json:"seq"`
	Prev  string    `json:"prev,omitempty"` // base64 hash of the last signed reading
	Total float64   `json:"total"`          // totaliser, m³
	Time  time.Time `json:"time"`           // time of the last reading
	// Pending are signed readings not yet acknowledged, oldest first.
	Pending [][]byte `json:"pending,omitempty"`
	Revoked bool     `json:"revoked,omitempty"`
}

// Replacement records a meter replaced on a point (fault injection
// "replace"): the new meter and its error and initial register.
type Replacement struct {
	Old  string    `json:"old"`
	New  string    `json:"new"`
	Bias float64   `json:"bias"`
	Base float64   `json:"base"`
	Time time.Time `json:"time"`
}

// State is the persisted simulator state.
type State struct {
	Version int                    `json:"version"`
	Seed    int64                  `json:"seed"`
	Meters  map[string]*MeterState `json:"meters"`
	// Replacements maps a point ID to the meter that now measures it.
	Replacements map[string]Replacement `json:"replacements,omitempty"`
}

// Store keeps the simulator's device state, in a directory or in memory.
// In a directory a restarted simulator continues every meter's seq/prev
// chain and totaliser, keeps its keys (derived from the directory's
// secret) and sends the readings that were never acknowledged. Each signed
// reading is appended to a journal before it is published; Snapshot folds
// the journal into state.json.
type Store struct {
	dir    string
	secret []byte

	mu      sync.Mutex
	state   State
	journal *os.File
	jw      *bufio.Writer
}

// MemoryStore returns a store that persists nothing; its secret is derived
// from the seed, so meter keys are the same in every run with that seed.
func MemoryStore(seed int64) *Store {
	h := sha256.New()
	h.Write([]byte("shuixiao-sim secret v1\x00"))
	binary.Write(h, binary.BigEndian, seed)
	return &Store{secret: h.Sum(nil), state: State{Version: stateVersion, Seed: seed,
		Meters: map[string]*MeterState{}, Replacements: map[string]Replacement{}}}
}

// OpenStore opens or creates a state directory. A new directory gets a
// random secret, so its meter keys cannot be derived from the seed.
func OpenStore(dir string, seed int64) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	s := &Store{dir: dir, state: State{Version: stateVersion, Seed: seed,
		Meters: map[string]*MeterState{}, Replacements: map[string]Replacement{}}}
	secret, err := os.ReadFile(filepath.Join(dir, secretFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
		if err := atomicfile.Write(filepath.Join(dir, secretFile), secret, 0o600); err != nil {
			return nil, fmt.Errorf("state dir: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("state dir: %w", err)
	case len(secret) < 16:
		return nil, fmt.Errorf("state dir: %s is %d bytes, too short", secretFile, len(secret))
	}
	s.secret = secret
	if raw, err := os.ReadFile(filepath.Join(dir, stateFile)); err == nil {
		var st State
		if err := json.Unmarshal(raw, &st); err != nil {
			return nil, fmt.Errorf("state dir: %s: %w", stateFile, err)
		}
		if st.Version != stateVersion {
			return nil, fmt.Errorf("state dir: %s version %d, want %d", stateFile, st.Version, stateVersion)
		}
		if st.Seed != seed {
			return nil, fmt.Errorf("state dir %s belongs to seed %d, not %d (use another --data/--state or the same --seed)", dir, st.Seed, seed)
		}
		if st.Meters == nil {
			st.Meters = map[string]*MeterState{}
		}
		if st.Replacements == nil {
			st.Replacements = map[string]Replacement{}
		}
		s.state = st
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	if err := s.replay(filepath.Join(dir, journalFile)); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, journalFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	s.journal, s.jw = f, bufio.NewWriter(f)
	return s, nil
}

// Dir is the state directory ("" for a memory store).
func (s *Store) Dir() string { return s.dir }

// Secret is the secret meter keys and passwords derive from.
func (s *Store) Secret() []byte { return s.secret }

// replay applies journal lines written after the snapshot. A torn last line
// (a crash mid-write) is ignored.
func (s *Store) replay(path string) error {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("state journal: %w", err)
	}
	lines := bytes.Split(raw, []byte("\n"))
	// The last element is empty when the journal ends in a newline;
	// otherwise it is a line torn by a crash mid-write: ignore it.
	lines = lines[:len(lines)-1]
	for n, line := range lines {
		rec, err := parseJournalLine(line)
		if err != nil {
			return fmt.Errorf("state journal line %d: %w", n+1, err)
		}
		s.apply(rec.meter, rec.seq, rec.total, rec.time, rec.msg)
	}
	return nil
}

// journalRecord is one journal line: a reading signed by a meter.
type journalRecord struct {
	meter string
	seq   uint64
	total float64
	time  time.Time
	msg   []byte
}

// String formats the record as a journal line (without the newline).
func (r journalRecord) String() string {
	return fmt.Sprintf("S %s %d %s %d %s", r.meter, r.seq, strconv.FormatFloat(r.total, 'f', -1, 64),
		r.time.UnixNano(), base64.StdEncoding.EncodeToString(r.msg))
}

// parseJournalLine parses "S <meter> <seq> <total> <unix ns> <base64 reading>"
// and checks that the reading is the meter's and has that seq.
func parseJournalLine(line []byte) (journalRecord, error) {
	f := strings.Fields(string(line))
	if len(f) != 6 || f[0] != "S" {
		return journalRecord{}, errors.New("not a reading record")
	}
	seq, err1 := strconv.ParseUint(f[2], 10, 64)
	total, err2 := strconv.ParseFloat(f[3], 64)
	ns, err3 := strconv.ParseInt(f[4], 10, 64)
	msg, err4 := base64.StdEncoding.DecodeString(f[5])
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return journalRecord{}, err
	}
	if r, err := reading.Parse(msg); err != nil || r.Meter != f[1] || r.Seq != seq {
		return journalRecord{}, errors.New("record does not match its reading")
	}
	return journalRecord{meter: f[1], seq: seq, total: total, time: time.Unix(0, ns), msg: msg}, nil
}

func (s *Store) meter(id string) *MeterState {
	m := s.state.Meters[id]
	if m == nil {
		m = &MeterState{}
		s.state.Meters[id] = m
	}
	return m
}

func (s *Store) apply(id string, seq uint64, total float64, t time.Time, msg []byte) {
	m := s.meter(id)
	if seq <= m.Seq {
		return // already in the snapshot
	}
	h := reading.HashOf(msg)
	m.Seq, m.Prev, m.Total, m.Time = seq, h.String(), total, t
	m.Pending = append(m.Pending, msg)
}

// Meter returns a copy of a meter's state.
func (s *Store) Meter(id string) (MeterState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.state.Meters[id]
	if !ok {
		return MeterState{}, false
	}
	c := *m
	c.Pending = append([][]byte(nil), m.Pending...)
	return c, true
}

// PrevHash decodes a MeterState's prev.
func (m MeterState) PrevHash() (reading.Hash, error) {
	var h reading.Hash
	if m.Prev == "" {
		return h, nil
	}
	b, err := base64.StdEncoding.DecodeString(m.Prev)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("bad prev hash %q", m.Prev)
	}
	copy(h[:], b)
	return h, nil
}

// Signed records a reading signed by a meter, before it is published.
func (s *Store) Signed(id string, seq uint64, total float64, t time.Time, msg []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apply(id, seq, total, t, msg)
	if s.jw == nil {
		return nil
	}
	_, err := fmt.Fprintln(s.jw, journalRecord{meter: id, seq: seq, total: total, time: t, msg: msg})
	return err
}

// Sync writes buffered journal lines to the file (the simulator calls it
// once per tick, before publishing that tick's readings).
func (s *Store) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jw == nil {
		return nil
	}
	return s.jw.Flush()
}

// Acked drops an acknowledged reading from a meter's pending list.
func (s *Store) Acked(id string, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.state.Meters[id]
	if m == nil {
		return
	}
	for i, msg := range m.Pending {
		if r, err := reading.Parse(msg); err == nil && r.Seq == seq {
			m.Pending = append(m.Pending[:i], m.Pending[i+1:]...)
			return
		}
	}
}

// SetChain overwrites a meter's chain position (after syncing with the
// server) and drops its pending readings.
func (s *Store) SetChain(id string, seq uint64, prev reading.Hash, total float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.meter(id)
	m.Seq, m.Total, m.Pending = seq, total, nil
	m.Prev = ""
	if !prev.IsZero() {
		m.Prev = prev.String()
	}
}

// SetRevoked marks a meter revoked and forgets its pending readings.
func (s *Store) SetRevoked(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.meter(id)
	m.Revoked, m.Pending = true, nil
}

// Replace records a meter replacement on a point.
func (s *Store) Replace(point string, r Replacement) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.Replacements[point] = r
}

// Replacement returns the current replacement meter of a point.
func (s *Store) Replacement(point string) (Replacement, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.state.Replacements[point]
	return r, ok
}

// Snapshot writes state.json and empties the journal. Between the two a
// crash leaves journal lines the snapshot already holds; replay skips them.
func (s *Store) Snapshot() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir == "" {
		return nil
	}
	raw, err := json.Marshal(&s.state)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(s.dir, stateFile), raw, 0o600); err != nil {
		return fmt.Errorf("state snapshot: %w", err)
	}
	if err := s.jw.Flush(); err != nil {
		return err
	}
	if err := s.journal.Truncate(0); err != nil {
		return fmt.Errorf("state journal: %w", err)
	}
	return nil
}

// Close snapshots and closes the journal.
func (s *Store) Close() error {
	if s.dir == "" {
		return nil
	}
	err := s.Snapshot()
	s.mu.Lock()
	defer s.mu.Unlock()
	if cerr := s.journal.Close(); err == nil {
		err = cerr
	}
	s.jw = nil
	return err
}
