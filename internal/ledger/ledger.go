// Package ledger is shuixiao's tamper-evident log of signed meter readings: a
// tile-based transparency log (RFC 6962 Merkle tree served as C2SP
// tlog-tiles, c2sp.org/tlog-tiles) built on github.com/transparency-dev/tessera
// v1.0.4 with its POSIX storage driver. Checkpoints (c2sp.org/tlog-checkpoint)
// are signed with an Ed25519 note key generated on first start; when a
// witness policy is configured, a checkpoint is published only once k of n
// witnesses (c2sp.org/tlog-witness) have cosigned it. Receipts are
// c2sp.org/tlog-proof@v1 files that carry the signed entry itself, so that
// package verify can check them offline.
//
// Durability contract: Append returns an entry's index only after the entry
// and the tree that contains it are synced to disk (tessera's "durably
// sequenced"; the POSIX driver integrates each batch before it acknowledges
// it). Such an entry survives kill -9 and power loss; after a restart it is
// at the same index with the same bytes, Size covers it and Entries returns
// it. It becomes visible to verifiers when a checkpoint covering it is
// published (AwaitPublished), normally within CheckpointInterval.
//
// Crash recovery: the POSIX driver sequences and integrates a batch in one
// step and acknowledges it only after the tree state is synced, so there is
// no "sequenced but not integrated" state to repair. A batch interrupted by
// a crash was never acknowledged; its partly written files lie beyond the
// tree and are overwritten by the next batch (Handler never serves them).
// After a restart tessera publishes a checkpoint for the whole integrated
// tree, which extends the last one published before the crash. A store that
// derives rows from the ledger keeps the highest index it applied and, on
// start, applies Entries(applied+1, Size()): that replays every entry the
// ledger holds but the store missed (acknowledged, or written just before
// the crash without an acknowledgement). Admission state (per-meter last
// seq and hash, the (meter, seq) → index map for idempotent resubmission)
// must be rebuilt after that replay, so a device retrying an
// unacknowledged reading gets the index it already has.
//
// The package also runs a witness (OpenWitness) for `shuixiao witness`.
//
// Layout of Options.Dir:
//
//	log/        the tessera POSIX log (tlog-tiles tree served by Handler; log/.state is private)
//	log.key     the log's note private key (mode 0600)
//	log.vkey    the log's note verifier key
//	ledger.lock held while a process has the ledger open
package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	f_log "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"
)

// Defaults for Options fields left zero. They were chosen with
// BenchmarkAppend on a 2-core VM (see the package tests).
const (
	DefaultOrigin             = "ledger.shuixiao.local/hunan-industrial-water/v1"
	DefaultCheckpointInterval = time.Second
	DefaultBatchMaxSize       = 4096
	DefaultBatchMaxAge        = 2 * time.Millisecond
	DefaultWitnessTimeout     = 5 * time.Second
)

// gcInterval is how often tessera removes the partial tiles and entry
// bundles the tree has outgrown. Its POSIX driver removes at most about 100
// bundles' worth per run; at the default of one run a minute it falls
// behind above ~430 entries/s (at 20,000 readings/s, 5,000 stale files after
// a minute) and then deletes in one large burst. Once a second keeps up to
// ~25,000 entries/s in small steps.
const gcInterval = time.Second

// MaxEntrySize is the largest entry the log accepts (C2SP tlog-tiles entry
// bundles use a 16-bit length prefix).
const MaxEntrySize = tessera.DefaultEntrySizeLimit

// NotSequenced marks, in the indices returned with an Append error, an entry
// that was not sequenced.
const NotSequenced = ^uint64(0)

// Errors returned by Log methods.
var (
	ErrClosed       = errors.New("ledger: closed")
	ErrNoCheckpoint = errors.New("ledger: no checkpoint published yet")
	ErrNotPublished = errors.New("ledger: entry not yet covered by a published checkpoint")
	ErrBeyondSize   = errors.New("ledger: index beyond the integrated tree")
)

// Options configure Open. Only Dir is required.
type Options struct {
	// Dir holds the log, its keys and its lock (see the package comment).
	Dir string
	// Origin names the log in its checkpoints (a schema-less URL, e.g.
	// "ledger.example.gov.cn/hunan-industrial-water/v1"). It is the name of
	// the log key, fixed when the key is generated on first start; later
	// starts may leave it empty. Default DefaultOrigin.
	Origin string
	// CheckpointInterval is the most often a new checkpoint is signed,
	// witnessed and published. Default 1 s; minimum 100 ms (POSIX driver).
	CheckpointInterval time.Duration
	// BatchMaxSize bounds the entries written by one storage flush. Default 4096.
	BatchMaxSize int
	// BatchMaxAge is how long the storage waits for a flush to fill before
	// writing it. Append already groups concurrent calls, so this is short.
	// Default 2 ms.
	BatchMaxAge time.Duration
	// WitnessPolicy, if set, is a witness policy (Sigsum policy format with
	// cosignature/v1 vkeys and witness URLs, as read by
	// tessera.NewWitnessGroupFromPolicy). No checkpoint is published until
	// the policy's quorum has cosigned it.
	WitnessPolicy []byte
	// WitnessTimeout bounds one round of witness requests. Default 5 s.
	WitnessTimeout time.Duration
	// HTTPClient is used to reach witnesses. Default http.DefaultClient.
	HTTPClient *http.Client
	// Registerer receives the ledger's Prometheus metrics; nil registers none.
	Registerer prometheus.Registerer
	// Logger receives operational messages. Default slog.Default().
	Logger *slog.Logger
}

// Log is an open ledger. Its methods are safe for concurrent use.
type Log struct {
	opts     Options
	root     string // tessera log directory
	signer   note.Signer
	verifier note.Verifier
	vkey     string
	log      *slog.Logger
	metrics  *metrics

	appender *tessera.Appender
	shutdown func(context.Context) error
	reader   tessera.LogReader

	ctx    context.Context // lifetime of background work
	cancel context.CancelFunc
	lock   *os.File

	// Append → committer.
	closeMu       sync.RWMutex
	closed        bool
	requests      chan *appendRequest
	committerDone chan struct{}
	integrated    atomic.Uint64 // highest index+1 acknowledged by this process (or size at Open)

	// Published checkpoint, refreshed by the watcher and on demand.
	pubMu       sync.Mutex
	pub         atomic.Pointer[publishedState]
	watcherDone chan struct{}
	closeOnce   sync.Once
	closeErr    error
}

// publishedState is a published checkpoint; changed is closed when a newer
// one replaces it.
type publishedState struct {
	size       uint64
	root       []byte
	checkpoint []byte
	changed    chan struct{}
}

// Open opens the ledger in opts.Dir, creating the log and its key on first
// start. ctx bounds only the opening; background work lives until Close.
func Open(ctx context.Context, opts Options) (*Log, error) {
	if opts.Dir == "" {
		return nil, errors.New("ledger: Options.Dir is required")
	}
	if opts.CheckpointInterval == 0 {
		opts.CheckpointInterval = DefaultCheckpointInterval
	}
	if opts.BatchMaxSize <= 0 {
		opts.BatchMaxSize = DefaultBatchMaxSize
	}
	if opts.BatchMaxAge <= 0 {
		opts.BatchMaxAge = DefaultBatchMaxAge
	}
	if opts.WitnessTimeout <= 0 {
		opts.WitnessTimeout = DefaultWitnessTimeout
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("ledger: create %s: %w", opts.Dir, err)
	}
	lock, err := lockDir(filepath.Join(opts.Dir, "ledger.lock"))
	if err != nil {
		return nil, err
	}
	l, err := open(ctx, opts, lock)
	if err != nil {
		lock.Close()
		return nil, err
	}
	return l, nil
}

func open(ctx context.Context, opts Options, lock *os.File) (*Log, error) {
	privPath, pubPath := filepath.Join(opts.Dir, "log.key"), filepath.Join(opts.Dir, "log.vkey")
	name := opts.Origin
	if name == "" {
		if _, err := os.Stat(privPath); errors.Is(err, fs.ErrNotExist) {
			name = DefaultOrigin
		}
	}
	if name != "" {
		if err := validOrigin(name); err != nil {
			return nil, err
		}
	}
	kp, err := loadOrCreateKey(privPath, pubPath, name, nil)
	if err != nil {
		return nil, fmt.Errorf("ledger: log key: %w", err)
	}
	signer, err := note.NewSigner(kp.skey)
	if err != nil {
		return nil, fmt.Errorf("ledger: log key: %w", err)
	}
	verifier, err := note.NewVerifier(kp.vkey)
	if err != nil {
		return nil, fmt.Errorf("ledger: log key: %w", err)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("ledger: metrics: %w", err)
	}

	root := filepath.Join(opts.Dir, "log")
	_, statErr := os.Stat(filepath.Join(root, ".state", "treeState"))
	firstStart := errors.Is(statErr, fs.ErrNotExist)
	driver, err := posix.New(ctx, posix.Config{Path: root, HTTPClient: opts.HTTPClient})
	if err != nil {
		return nil, fmt.Errorf("ledger: storage: %w", err)
	}
	aopts := tessera.NewAppendOptions().
		WithCheckpointSigner(signer).
		WithCheckpointInterval(opts.CheckpointInterval).
		WithBatching(uint(opts.BatchMaxSize), opts.BatchMaxAge).
		WithGarbageCollectionInterval(gcInterval)
	if len(opts.WitnessPolicy) > 0 {
		group, err := tessera.NewWitnessGroupFromPolicy(opts.WitnessPolicy)
		if err != nil {
			return nil, fmt.Errorf("ledger: witness policy: %w", err)
		}
		aopts = aopts.WithWitnesses(group, &tessera.WitnessOptions{Timeout: opts.WitnessTimeout})
	}
	// Antispam stays off: the application enforces (meter, seq) uniqueness,
	// strictly, which tessera's best-effort antispam cannot.

	lctx, cancel := context.WithCancel(context.Background())
	appender, shutdown, reader, err := tessera.NewAppender(lctx, driver, aopts)
	if err != nil && firstStart && len(opts.WitnessPolicy) > 0 {
		// On first start the driver publishes the empty checkpoint while
		// initialising, and that publication needs the witnesses. The tree
		// state is written by then, so a second attempt opens the log; the
		// first checkpoint appears once the witnesses answer.
		opts.Logger.Warn("ledger: first checkpoint not witnessed; continuing without it", "err", err)
		appender, shutdown, reader, err = tessera.NewAppender(lctx, driver, aopts)
	}
	if err != nil {
		cancel()
		return nil, fmt.Errorf("ledger: open log in %s: %w", root, err)
	}
	l := &Log{
		opts: opts, root: root, signer: signer, verifier: verifier, vkey: kp.vkey,
		log: opts.Logger, metrics: m,
		appender: appender, shutdown: shutdown, reader: reader,
		ctx: lctx, cancel: cancel, lock: lock,
		requests:      make(chan *appendRequest, 1024),
		committerDone: make(chan struct{}),
		watcherDone:   make(chan struct{}),
	}
	l.pub.Store(&publishedState{changed: make(chan struct{})})
	size, err := reader.IntegratedSize(ctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("ledger: read tree size: %w", err)
	}
	l.integrated.Store(size)
	m.integratedSize.Set(float64(size))
	if _, err := l.refresh(ctx); err != nil && !errors.Is(err, ErrNoCheckpoint) {
		cancel()
		return nil, err
	}
	go l.commitLoop()
	go l.watch()
	return l, nil
}

// validOrigin checks an origin: a valid note key name that cannot be
// mistaken for the first line of another kind of note the log key signs.
func validOrigin(origin string) error {
	if !validKeyName(origin) {
		return fmt.Errorf("ledger: origin %q must be non-empty UTF-8 without spaces or '+'", origin)
	}
	if strings.HasPrefix(origin, "hn-water-") {
		return fmt.Errorf("ledger: origin %q is reserved for entry headers", origin)
	}
	return nil
}

// lockDir takes an exclusive advisory lock so that two processes never
// append to one ledger. The kernel drops it when the process dies.
func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ledger: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("ledger: %s is in use by another process: %w", filepath.Dir(path), err)
	}
	return f, nil
}

// Origin returns the log's checkpoint origin (the name of its key).
func (l *Log) Origin() string { return l.signer.Name() }

// VerifierKey returns the log's note verifier key (vkey). Verifiers pin it.
func (l *Log) VerifierKey() string { return l.vkey }

// SignNote signs text with the log key and returns the signed note. text
// must end in a newline and must not look like a checkpoint of this log
// (its first line may not be the origin), so that an entry signed by the log
// can never be replayed as a checkpoint.
func (l *Log) SignNote(text string) ([]byte, error) {
	if text == "" || !strings.HasSuffix(text, "\n") {
		return nil, errors.New("ledger: note text must be non-empty and end in a newline")
	}
	first, _, _ := strings.Cut(text, "\n")
	if first == l.Origin() {
		return nil, errors.New("ledger: refusing to sign a note that starts like a checkpoint")
	}
	var cp f_log.Checkpoint
	if _, err := cp.Unmarshal([]byte(text)); err == nil {
		return nil, errors.New("ledger: refusing to sign a note that parses as a checkpoint")
	}
	msg, err := note.Sign(&note.Note{Text: text}, l.signer)
	if err != nil {
		return nil, fmt.Errorf("ledger: sign note: %w", err)
	}
	return msg, nil
}

// Size returns the size of the integrated tree: every index Append has
// returned, in this or any earlier process, is below it. Entries up to Size
// may not be covered by a published checkpoint yet.
func (l *Log) Size(ctx context.Context) (uint64, error) {
	n, err := l.reader.IntegratedSize(ctx)
	if err != nil {
		return 0, fmt.Errorf("ledger: tree size: %w", err)
	}
	return n, nil
}

// Checkpoint returns the latest published checkpoint (a signed note carrying
// the log signature and any witness cosignatures), or ErrNoCheckpoint.
func (l *Log) Checkpoint(ctx context.Context) ([]byte, error) {
	st, err := l.refresh(ctx)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(st.checkpoint), nil
}

// AwaitPublished blocks until a published checkpoint covers index and
// returns it. With a witness policy, published means witnessed.
func (l *Log) AwaitPublished(ctx context.Context, index uint64) ([]byte, error) {
	for {
		st := l.pub.Load()
		if st.size > index {
			return bytes.Clone(st.checkpoint), nil
		}
		select {
		case <-st.changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-l.watcherDone:
			return nil, ErrClosed
		}
	}
}

// watchInterval is how often the published checkpoint is re-read. Tessera
// publishes by atomically replacing a file, so polling is cheap and exact.
const watchInterval = 20 * time.Millisecond

func (l *Log) watch() {
	defer close(l.watcherDone)
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-t.C:
		}
		if _, err := l.refresh(l.ctx); err != nil && !errors.Is(err, ErrNoCheckpoint) && l.ctx.Err() == nil {
			l.log.Warn("ledger: read published checkpoint", "err", err)
		}
	}
}

// refresh reads the published checkpoint and, if it is new, makes it the
// current published state.
func (l *Log) refresh(ctx context.Context) (*publishedState, error) {
	raw, err := l.reader.ReadCheckpoint(ctx)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoCheckpoint
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: read checkpoint: %w", err)
	}
	cur := l.pub.Load()
	if bytes.Equal(raw, cur.checkpoint) {
		return cur, nil
	}
	cp, _, _, err := f_log.ParseCheckpoint(raw, l.Origin(), l.verifier)
	if err != nil {
		return nil, fmt.Errorf("ledger: published checkpoint: %w", err)
	}
	l.pubMu.Lock()
	defer l.pubMu.Unlock()
	cur = l.pub.Load()
	if cp.Size < cur.size || bytes.Equal(raw, cur.checkpoint) {
		// A concurrent refresh already installed this or a newer one.
		return cur, nil
	}
	next := &publishedState{size: cp.Size, root: cp.Hash, checkpoint: raw, changed: make(chan struct{})}
	l.pub.Store(next)
	close(cur.changed)
	if cp.Size > cur.size || cur.checkpoint == nil {
		l.metrics.published(cp.Size, time.Now())
	}
	return next, nil
}

// Close stops accepting appends, waits for every accepted Append to finish,
// waits (bounded by ctx) for a checkpoint covering everything appended to be
// published, and releases the ledger. With witnesses unreachable the last
// entries stay integrated but unpublished; they are published after the
// next Open.
func (l *Log) Close(ctx context.Context) error {
	l.closeOnce.Do(func() {
		l.closeMu.Lock()
		l.closed = true
		close(l.requests)
		l.closeMu.Unlock()
		<-l.committerDone
		if err := l.shutdown(ctx); err != nil {
			l.closeErr = fmt.Errorf("ledger: final checkpoint: %w", err)
		}
		l.cancel()
		<-l.watcherDone
		if err := l.lock.Close(); err != nil && l.closeErr == nil {
			l.closeErr = fmt.Errorf("ledger: unlock: %w", err)
		}
	})
	return l.closeErr
}
