package store

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"
)

// WriteReadingsCSV streams the readings q selects as CSV with the columns
// time (RFC 3339 with milliseconds, in loc; nil: UTC), seq, index, flags
// (names joined by "|"), then one column per channel in the given order
// (empty where a reading lacks the channel). Memory stays bounded whatever
// the range: it reads through ScanReadings.
func WriteReadingsCSV(ctx context.Context, w io.Writer, src SeriesReader, q ReadingQuery, channels []string, loc *time.Location) error {
	if loc == nil {
		loc = time.UTC
	}
	cw := csv.NewWriter(w)
	header := append([]string{"time", "seq", "index", "flags"}, channels...)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("write csv header: %w", err)
	}
	row := make([]string, len(header))
	n := 0
	err := src.ScanReadings(ctx, q, func(r *Reading) error {
		row[0] = r.Time.In(loc).Format("2006-01-02T15:04:05.000Z07:00")
		row[1] = strconv.FormatUint(r.Seq, 10)
		row[2] = strconv.FormatUint(r.Index, 10)
		row[3] = r.Flags.String()
		for i, c := range channels {
			row[4+i] = ""
			if v, ok := r.Value(c); ok {
				row[4+i] = strconv.FormatFloat(v, 'f', -1, 64)
			}
		}
		if err := cw.Write(row); err != nil {
			return err
		}
		if n++; n%4096 == 0 {
			cw.Flush()
			return cw.Error()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("export readings of %s: %w", q.Meter, err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("export readings of %s: %w", q.Meter, err)
	}
	return nil
}

// WriteBucketsCSV writes buckets as CSV with the columns time (RFC 3339 in
// loc; nil: UTC), n and value (empty when the bucket has no value).
func WriteBucketsCSV(w io.Writer, buckets []Bucket, loc *time.Location) error {
	if loc == nil {
		loc = time.UTC
	}
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"time", "n", "value"}); err != nil {
		return fmt.Errorf("write csv header: %w", err)
	}
	row := make([]string, 3)
	for _, b := range buckets {
		row[0] = b.Start.In(loc).Format(time.RFC3339)
		row[1] = strconv.Itoa(b.N)
		row[2] = ""
		if b.Valid {
			row[2] = strconv.FormatFloat(b.Value, 'f', -1, 64)
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}
