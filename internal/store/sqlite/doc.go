// Package sqlite is the default store.Store: one SQLite database file
// (modernc.org/sqlite, pure Go, so the binary stays static) in WAL mode.
//
// # Layout of the readings
//
// Reference/platform.md §3.3 measured the choice: a series-major B-tree
// (PRIMARY KEY(series, ts)) falls from 120k to 50k rows/s once its working
// set leaves the cache, because every commit dirties one leaf page per
// series; a time-major append is ten times faster but makes per-series reads
// scan. The hybrid used here, like Prometheus' head and blocks, keeps both:
//
//   - hot (the head): one row per committed reading, keyed by an increasing
//     row id, the reading packed into one blob (one bound parameter instead
//     of nine), no secondary index. A commit appends a handful of pages
//     whatever the number of meters. The process also keeps the head in
//     memory, per meter in seq order (≈ 190 bytes a reading; at most
//     CompactRows readings), so queries and compaction never read the hot
//     table back; it is read once, when the database is opened.
//   - chunks: compaction moves head readings, in the background, into rows of
//     up to 256 readings of one meter and one UTC day in seq order, encoded
//     by store/chunk (≈ 47 bytes a reading of five values, 32 of them the
//     note hash). The last chunk of a day is rewritten while it fills. Index
//     (meter, day, seq_first) serves time ranges, (meter, seq_first) lookups
//     by seq.
//   - rollups: per (meter, UTC hour), an aggregate.Summary of every channel
//     (count, sum, min, max, first, last, inner consumption) together with
//     the channel kind and rollover it was built under. Compaction appends to
//     it, or rebuilds the hour from its chunks when late or out-of-order data
//     land in it. Hourly, daily and monthly aggregates read one summary per
//     hour; 15-minute and raw ones read chunks. Hours holding head readings
//     that the summary does not order before, and hours cut by a bucket
//     boundary (time zones off whole hours), are read from the readings.
//   - meter_state: each meter's last compacted reading; with the head it
//     gives the admission state at open without reading any chunk.
//
// Compaction runs when the head holds Options.CompactRows readings or its
// oldest is Options.CompactAge old. It takes the head readings from memory,
// reads the open chunks and rollups through a reading connection, encodes
// outside any lock, and writes in transactions of at most ~512 KiB, so a
// commit waits behind at most one of them. Chunks, rollups and meter_state
// of a group of meters commit together; the head rows are deleted after all
// groups; a crash in between leaves head rows that meter_state shows as
// compacted, and the next run drops them. Queries take their head snapshot
// before their read snapshot and merge head and chunk readings by seq, so
// every committed reading is seen exactly once. When the head holds more
// than 4 × CompactRows readings (ingest outruns compaction, or compaction
// keeps failing) Commit waits for compaction, and returns ErrBehind after 30
// s, rather than let memory grow without bound.
//
// The writing connection never checkpoints the WAL (a checkpoint inside
// COMMIT would land its copy and fsync on one batch's latency): a background
// connection checkpoints PASSIVE every 500 ms, and once the WAL passes 8192
// pages it finishes the copy under the write lock so that the next commit
// restarts the WAL instead of growing it.
//
// # Durability
//
// Commit is one write transaction: the readings, the ledger size and the
// rejection counters are stored together or not at all. With SyncFull (the
// default) SQLite fsyncs the WAL before COMMIT returns, so an acknowledged
// batch survives power loss. With SyncNormal the WAL is written, not synced,
// at commit: the data is in the kernel's page cache when Commit returns, so
// kill -9 of the process loses nothing (the WAL is replayed at the next
// open); only an OS crash or power loss can drop the last commits, and never
// corrupts the database.
//
// # Measured
//
// On the 2-core build machine, shared with other jobs (bench_test.go; figures
// vary by ±30% with the machine's load):
//
//   - 1000 meters × 5 channels paced at 20,000 readings/s (100,000 values/s),
//     background compaction on, SyncFull: commit p50 2 ms, p99 15–30 ms,
//     0.17–0.22 of one core, max RSS of the test process ≈ 120 MB.
//   - flat out, batches of 1000 readings, 5 M readings (25 M values):
//     90–140k readings/s, no decline from the first to the last fifth;
//     ≈ 55–60 bytes on disk per reading of five values, rollups included.
//   - 90 days × 1000 meters (one at 1 min, 999 at 15 min; 8.8 M readings,
//     5000 series): one series' 1-day 15-minute consumption 1–2 ms; 90 days
//     daily 4–5 ms; 100 series × 30 daily consumptions 130–160 ms; 999
//     series' daily consumption 70–90 ms.
//   - reopening with 10,000 meters and 20,000 head readings: 80–140 ms.
//
// # Other tables
//
// regions, parks, enterprises, points (channels as JSON) and meters (with an
// internal number mid used by the reading tables); channels numbers channel
// names once for all meters; rejection_counts and the bounded rejections log
// (one row per reason, meter and source, with a count);
// alarms and alarm_events; tokens (SHA-256 of the secret, never the secret).
// See schema.go for the exact DDL.
package sqlite
