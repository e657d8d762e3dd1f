package ledger

import (
	"context"
	"fmt"
	"math"

	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
)

// Entries calls fn for each integrated entry with index in [from, to), in
// index order, and stops at the first error fn returns. to may not exceed
// Size. This is how the store catches up after a restart: every index Append
// ever returned is below Size, including entries not yet covered by a
// published checkpoint. The entry slice is only valid during the call.
func (l *Log) Entries(ctx context.Context, from, to uint64, fn func(index uint64, entry []byte) error) error {
	if from >= to {
		return nil
	}
	size, err := l.Size(ctx)
	if err != nil {
		return err
	}
	if to > size {
		return fmt.Errorf("%w: entries [%d, %d) requested, tree size %d", ErrBeyondSize, from, to, size)
	}
	return l.entriesAt(ctx, from, to, size, fn)
}

// entriesAt reads entries [from, to) from the bundles of the tree of the
// given size.
func (l *Log) entriesAt(ctx context.Context, from, to, size uint64, fn func(uint64, []byte) error) error {
	for ri := range layout.Range(from, to-from, size) {
		if err := ctx.Err(); err != nil {
			return err
		}
		raw, err := l.reader.ReadEntryBundle(ctx, ri.Index, ri.Partial)
		if err != nil {
			return fmt.Errorf("ledger: read entry bundle %d: %w", ri.Index, err)
		}
		var b api.EntryBundle
		if err := b.UnmarshalText(raw); err != nil {
			return fmt.Errorf("ledger: entry bundle %d: %w", ri.Index, err)
		}
		if uint(len(b.Entries)) < ri.First+ri.N {
			return fmt.Errorf("ledger: entry bundle %d has %d entries, want at least %d", ri.Index, len(b.Entries), ri.First+ri.N)
		}
		first := ri.Index*layout.EntryBundleWidth + uint64(ri.First)
		for i, e := range b.Entries[ri.First : ri.First+ri.N] {
			if err := fn(first+uint64(i), e); err != nil {
				return err
			}
		}
	}
	return nil
}

// Entry returns the integrated entry at index i, or ErrBeyondSize.
func (l *Log) Entry(ctx context.Context, i uint64) ([]byte, error) {
	if i == math.MaxUint64 {
		// i+1 below would wrap to 0 and read nothing.
		return nil, fmt.Errorf("%w: entry %d requested", ErrBeyondSize, i)
	}
	var out []byte
	err := l.Entries(ctx, i, i+1, func(_ uint64, e []byte) error {
		out = append([]byte(nil), e...)
		return nil
	})
	return out, err
}
