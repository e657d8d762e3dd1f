package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/transparency-dev/formats/proof"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/tlog"
)

// Proof returns a receipt for the entry at index: a c2sp.org/tlog-proof@v1
// file whose extra line carries the signed entry itself (base64), with the
// inclusion proof against the latest published checkpoint and that
// checkpoint with its log signature and witness cosignatures. A receipt is
// self-contained: `shuixiao verify proof` checks it offline.
//
// If no published checkpoint covers index yet, Proof returns an error
// wrapping ErrNotPublished; AwaitPublished waits for one. Each receipt is
// verified before it is returned (with golang.org/x/mod/sumdb/tlog, an
// implementation independent of the one that built the proof).
func (l *Log) Proof(ctx context.Context, index uint64) ([]byte, error) {
	p, err := l.proof(ctx, index)
	switch {
	case err == nil:
		l.metrics.proofs.WithLabelValues("ok").Inc()
	case errors.Is(err, ErrNotPublished) || errors.Is(err, ErrNoCheckpoint):
		l.metrics.proofs.WithLabelValues("unpublished").Inc()
	default:
		l.metrics.proofs.WithLabelValues("error").Inc()
	}
	return p, err
}

func (l *Log) proof(ctx context.Context, index uint64) ([]byte, error) {
	st, err := l.refresh(ctx)
	if err != nil {
		return nil, err
	}
	if index >= st.size {
		return nil, fmt.Errorf("%w: index %d, published size %d", ErrNotPublished, index, st.size)
	}
	var entry []byte
	err = l.entriesAt(ctx, index, index+1, st.size, func(_ uint64, e []byte) error {
		entry = bytes.Clone(e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	pb, err := client.NewProofBuilder(ctx, st.size, l.reader.ReadTile)
	if err != nil {
		return nil, fmt.Errorf("ledger: proof builder: %w", err)
	}
	hashes, err := pb.InclusionProof(ctx, index)
	if err != nil {
		return nil, fmt.Errorf("ledger: inclusion proof for %d in %d: %w", index, st.size, err)
	}
	receipt := proof.TLogProof{
		Index:      index,
		Hashes:     make([][sha256.Size]byte, len(hashes)),
		Checkpoint: st.checkpoint,
		ExtraData:  entry,
	}
	rp := make(tlog.RecordProof, len(hashes))
	for i, h := range hashes {
		if len(h) != sha256.Size {
			return nil, fmt.Errorf("ledger: inclusion proof for %d: hash %d has %d bytes", index, i, len(h))
		}
		receipt.Hashes[i] = [sha256.Size]byte(h)
		rp[i] = tlog.Hash(h)
	}
	if len(st.root) != sha256.Size {
		return nil, fmt.Errorf("ledger: published checkpoint root has %d bytes", len(st.root))
	}
	if err := tlog.CheckRecord(rp, int64(st.size), tlog.Hash(st.root), int64(index), tlog.RecordHash(entry)); err != nil {
		// The tiles on disk disagree with the signed checkpoint: never hand
		// out a receipt that would not verify.
		return nil, fmt.Errorf("ledger: receipt for %d does not verify against checkpoint %d: %w", index, st.size, err)
	}
	return receipt.Marshal(), nil
}
