package store

import (
	"fmt"
	"unicode/utf8"

	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/rejection"
)

// RejectionRow is what a batch adds to one row of the rejection counters
// (keyed by reason and meter; Source empty) or of the bounded log of recent
// rejections (keyed by reason, meter and source). Times are Unix
// milliseconds; Detail is the latest one.
type RejectionRow struct {
	Reason, Meter, Source string
	N                     int64
	First, Last           int64
	Detail                string
}

// FoldRejections folds a batch's rejections into the rows it adds to the
// counters and to the log, in first-seen order, so that a stranger
// repeating a refused attempt moves a row's counters instead of adding
// rows. Meter and source are clipped to rejection.MaxKey bytes, the detail
// to rejection.MaxDetail; a rejection's Count of 0 counts once. Every
// driver stores exactly these rows.
func FoldRejections(rejs []rejection.Rejection) (counts, log []RejectionRow) {
	type key struct{ reason, meter, source string }
	fold := func(rows []RejectionRow, at map[key]int, k key, r *rejection.Rejection, n int64) []RejectionRow {
		t := r.Time.UnixMilli()
		i, ok := at[k]
		if !ok {
			i = len(rows)
			at[k] = i
			rows = append(rows, RejectionRow{Reason: k.reason, Meter: k.meter, Source: k.source, First: t, Last: t})
		}
		a := &rows[i]
		a.N += n
		a.First, a.Last = min(a.First, t), max(a.Last, t)
		if t >= a.Last {
			a.Detail = Clip(r.Detail, rejection.MaxDetail)
		}
		return rows
	}
	countAt, logAt := map[key]int{}, map[key]int{}
	for i := range rejs {
		r := &rejs[i]
		n := int64(r.Count)
		if n <= 0 {
			n = 1
		}
		m := Clip(r.Meter, rejection.MaxKey)
		counts = fold(counts, countAt, key{r.Reason, m, ""}, r, n)
		log = fold(log, logAt, key{r.Reason, m, Clip(r.Source, rejection.MaxKey)}, r, n)
	}
	return counts, log
}

// Clip cuts s to at most n bytes without splitting a UTF-8 sequence.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// CheckProductionBatch applies the rules a batch of production records
// must meet before any is stored: each validates (ErrInvalid), says who
// reported it and when (ErrInvalid), and overlaps no other record of the
// batch in the same series (ErrConflict wrapping production.ErrOverlap);
// errors are *production.RecordError naming the record. Overlaps with
// stored records are the driver's to check in its transaction.
func CheckProductionBatch(recs []production.Record) error {
	for i := range recs {
		r := &recs[i]
		if err := r.Validate(); err != nil {
			return &production.RecordError{Index: i, Err: fmt.Errorf("%w: %v", ErrInvalid, err)}
		}
		if r.ReportedBy == "" || r.ReportedAt.IsZero() {
			return &production.RecordError{Index: i, Err: fmt.Errorf("%w: who reported it and when are required", ErrInvalid)}
		}
		for j := 0; j < i; j++ {
			if production.SameSeries(recs[j], *r) && production.Overlaps(recs[j], *r) {
				return &production.RecordError{Index: i, Err: fmt.Errorf("overlaps record %d (%s %s %s): %w: %w", j+1, r.Enterprise, r.Kind, r.Product, ErrConflict, production.ErrOverlap)}
			}
		}
	}
	return nil
}
