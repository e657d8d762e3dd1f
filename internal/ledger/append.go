package ledger

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/transparency-dev/tessera"
)

// appendRequest is one Append call waiting for the committer.
type appendRequest struct {
	entries []*tessera.Entry
	start   time.Time
	indices []uint64
	err     error
	done    chan struct{}
}

// maxInFlight is how many groups may be inside the storage at once. Tessera's
// POSIX driver writes one batch at a time; with two groups in flight the next
// group fills (and waits out BatchMaxAge) while the previous one is being
// synced, and a third waits here, so a slow disk makes groups larger instead
// of making an unbounded queue.
const maxInFlight = 2

// Append adds entries to the log and returns the index of each once it is
// durably sequenced: written and synced, with the tree that contains it, so
// that it survives a crash at the same index. Concurrent calls are grouped
// into one storage write (group commit).
//
// ctx bounds only the wait for room in the queue. Once the entries are handed
// to storage, Append waits for the outcome, so the caller always learns what
// became of them. The entries must not be modified until Append returns.
//
// Entries of one call currently receive consecutive indices in call order
// (tessera's POSIX driver sequences in arrival order); per-meter order must
// nevertheless be read from each reading's seq, not from log order.
//
// On error, the returned slice (if not nil) has one element per entry: the
// index of each entry that was sequenced regardless, NotSequenced for the
// others. Callers that keep state derived from the log (the store) should
// reconcile with Size and Entries after an error.
func (l *Log) Append(ctx context.Context, entries [][]byte) ([]uint64, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	req := &appendRequest{
		entries: make([]*tessera.Entry, len(entries)),
		start:   time.Now(),
		done:    make(chan struct{}),
	}
	for i, e := range entries {
		if len(e) == 0 || len(e) > MaxEntrySize {
			return nil, fmt.Errorf("ledger: entry %d has %d bytes, want 1 to %d", i, len(e), MaxEntrySize)
		}
		// NewEntry hashes the entry; doing it here spreads that work over
		// the callers' goroutines instead of the single committer.
		req.entries[i] = tessera.NewEntry(e)
	}
	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		return nil, ErrClosed
	}
	select {
	case l.requests <- req:
	case <-ctx.Done():
		l.closeMu.RUnlock()
		return nil, ctx.Err()
	}
	l.closeMu.RUnlock()
	<-req.done
	l.metrics.appendDuration.Observe(time.Since(req.start).Seconds())
	return req.indices, req.err
}

// commitLoop hands groups of requests to tessera. It runs until the request
// channel is closed and every group it started has been resolved.
func (l *Log) commitLoop() {
	defer close(l.committerDone)
	var wg sync.WaitGroup
	slots := make(chan struct{}, maxInFlight)
	for first := range l.requests {
		slots <- struct{}{}
		// While we waited for a slot, more requests queued up: take them
		// all into this group, up to one storage batch.
		group := []*appendRequest{first}
		n := len(first.entries)
	collect:
		for n < l.opts.BatchMaxSize {
			select {
			case r, ok := <-l.requests:
				if !ok {
					break collect
				}
				group = append(group, r)
				n += len(r.entries)
			default:
				break collect
			}
		}
		futures := make([][]tessera.IndexFuture, len(group))
		for i, r := range group {
			futures[i] = make([]tessera.IndexFuture, len(r.entries))
			for j, e := range r.entries {
				futures[i][j] = l.appender.Add(l.ctx, e)
			}
		}
		wg.Add(1)
		go func(group []*appendRequest, futures [][]tessera.IndexFuture, n int, start time.Time) {
			defer wg.Done()
			l.resolve(group, futures)
			l.metrics.groupEntries.Observe(float64(n))
			l.metrics.groupDuration.Observe(time.Since(start).Seconds())
			<-slots
		}(group, futures, n, time.Now())
	}
	wg.Wait()
}

// resolve waits for every future of a group and completes its requests.
func (l *Log) resolve(group []*appendRequest, futures [][]tessera.IndexFuture) {
	for i, r := range group {
		r.indices = make([]uint64, len(r.entries))
		failed := 0
		var firstErr error
		for j, f := range futures[i] {
			idx, err := f()
			if err != nil {
				r.indices[j] = NotSequenced
				if failed++; firstErr == nil {
					firstErr = err
				}
				continue
			}
			r.indices[j] = idx.Index
			for {
				cur := l.integrated.Load()
				if idx.Index < cur || l.integrated.CompareAndSwap(cur, idx.Index+1) {
					break
				}
			}
		}
		if failed > 0 {
			r.err = fmt.Errorf("ledger: %d of %d entries not sequenced: %w", failed, len(r.entries), firstErr)
			l.metrics.appendErrors.Add(float64(failed))
		}
		l.metrics.appendEntries.Add(float64(len(r.entries) - failed))
		close(r.done)
	}
	l.metrics.integratedSize.Set(float64(l.integrated.Load()))
}
