package sqlite

// schemaVersion is stored in meta under "schema"; Open migrates older
// versions (migrations) and refuses newer ones.
const schemaVersion = 7

// migrations[v] brings a version v store to version v+1, in the transaction
// that records the new version.
var migrations = map[int64]string{
	// 1 → 2: the rejection log keeps one row per (reason, meter, source)
	// with a count instead of one row per refusal.
	1: `
ALTER TABLE rejections RENAME TO rejections_v1;
` + rejectionsDDL + `WITH k AS (SELECT id, t, reason, substr(meter, 1, 64) AS m, substr(source, 1, 64) AS s, detail FROM rejections_v1),
	latest AS (SELECT reason, m, s, detail, row_number() OVER (PARTITION BY reason, m, s ORDER BY t DESC, id DESC) AS rn FROM k)
INSERT INTO rejections(reason, meter, source, n, first, t, detail)
	SELECT k.reason, k.m, k.s, count(*), min(k.t), max(k.t),
		(SELECT l.detail FROM latest l WHERE l.reason = k.reason AND l.m = k.m AND l.s = k.s AND l.rn = 1)
	FROM k GROUP BY k.reason, k.m, k.s;
DROP TABLE rejections_v1;
`,
	// 2 → 3: a point's balance roles (meter.Point's purpose, reuse kind,
	// cascade origin and outflow) as a JSON object; '' for none.
	2: `ALTER TABLE points ADD COLUMN roles TEXT NOT NULL DEFAULT '';`,
	// 3 → 4: production records and retrofit cases (production.go).
	3: managementDDL,
	// 4 → 5: the gateway that signs a meter's readings (meter.Meter.Gateway);
	// the gateways and device-mapping tables are new and made by schema.
	4: `ALTER TABLE meters ADD COLUMN gateway TEXT NOT NULL DEFAULT '';`,
	// 5 → 6: an enterprise's above-scale flag (meter.Enterprise.AboveScale).
	// The table is rebuilt rather than altered, so that the step holds
	// whether or not the column is there already (a store whose version was
	// set back by hand, as tests of older steps do).
	5: `
CREATE TABLE enterprises_v6 (
	id       TEXT PRIMARY KEY,
	name     TEXT NOT NULL,
	name_en  TEXT NOT NULL,
	park     TEXT NOT NULL,
	region   TEXT NOT NULL,
	industry TEXT NOT NULL,
	products TEXT NOT NULL,
	above_scale INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO enterprises_v6(id, name, name_en, park, region, industry, products)
	SELECT id, name, name_en, park, region, industry, products FROM enterprises;
DROP TABLE enterprises;
ALTER TABLE enterprises_v6 RENAME TO enterprises;
CREATE INDEX IF NOT EXISTS enterprises_park ON enterprises(park);
`,
	// 6 → 7: reserved for consumption pre-totals; nothing yet.
	6: `SELECT 1;`,
}

// featureDDL holds the tables a feature file adds (CREATE TABLE/INDEX IF NOT
// EXISTS only), each appended by that file's init; Open runs them after the
// base schema on every start, so a new table needs no migration step.
var featureDDL []string

// rejectionsDDL is the bounded log of recent rejections: one row per
// (reason, meter, source) with its count, first and last time (t) and last
// detail; the rows seen last are kept (Options.RecentRejections).
const rejectionsDDL = `
CREATE TABLE IF NOT EXISTS rejections (
	id     INTEGER PRIMARY KEY,
	reason TEXT NOT NULL,
	meter  TEXT NOT NULL,
	source TEXT NOT NULL,
	n      INTEGER NOT NULL,
	first  INTEGER NOT NULL,
	t      INTEGER NOT NULL,
	detail TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS rejections_key ON rejections(reason, meter, source);
CREATE INDEX IF NOT EXISTS rejections_t ON rejections(t, id);
`

// schema creates every table. All times are Unix milliseconds; seqs are
// stored order-preserving as seq XOR 2⁶³ (see seqKey) because SQLite
// integers are signed. The layout is described in the package doc.
const schema = `
CREATE TABLE IF NOT EXISTS meta (
	k TEXT PRIMARY KEY,
	v INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS regions (
	code    TEXT PRIMARY KEY,
	name    TEXT NOT NULL,
	name_en TEXT NOT NULL,
	parent  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS parks (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	name_en    TEXT NOT NULL,
	region     TEXT NOT NULL,
	industries TEXT NOT NULL, -- JSON array
	lat        REAL NOT NULL,
	lon        REAL NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS enterprises (
	id       TEXT PRIMARY KEY,
	name     TEXT NOT NULL,
	name_en  TEXT NOT NULL,
	park     TEXT NOT NULL,
	region   TEXT NOT NULL,
	industry TEXT NOT NULL,
	products TEXT NOT NULL, -- JSON array
	above_scale INTEGER NOT NULL DEFAULT 0 -- 规模以上工业企业: 1, else 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS enterprises_park ON enterprises(park);

CREATE TABLE IF NOT EXISTS points (
	id         TEXT PRIMARY KEY,
	enterprise TEXT NOT NULL,
	name       TEXT NOT NULL,
	name_en    TEXT NOT NULL,
	level      INTEGER NOT NULL,
	stage      TEXT NOT NULL,
	source     TEXT NOT NULL,
	parent     TEXT NOT NULL,
	channels   TEXT NOT NULL, -- JSON array of meter.Channel
	roles      TEXT NOT NULL DEFAULT '' -- JSON object of the balance roles (pointRoles), '' for none
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS points_enterprise ON points(enterprise);

CREATE TABLE IF NOT EXISTS meters (
	mid         INTEGER PRIMARY KEY, -- internal number used by the reading tables
	id          TEXT NOT NULL UNIQUE,
	point       TEXT NOT NULL,
	serial      TEXT NOT NULL,
	model       TEXT NOT NULL,
	key         TEXT NOT NULL,
	signed      TEXT NOT NULL,
	revoked     INTEGER NOT NULL,
	registered  INTEGER NOT NULL,
	interval_ms INTEGER NOT NULL,
	gateway     TEXT NOT NULL DEFAULT '' -- the gateway whose key signs its readings; '' for the meter's own key
);
CREATE INDEX IF NOT EXISTS meters_point ON meters(point);

-- Protocol gateways: keys that sign for legacy devices (meter.Gateway).
CREATE TABLE IF NOT EXISTS gateways (
	id         TEXT PRIMARY KEY,
	key        TEXT NOT NULL,
	enterprise TEXT NOT NULL,
	revoked    INTEGER NOT NULL,
	registered INTEGER NOT NULL
) WITHOUT ROWID;

-- Legacy devices and what their frame fields mean (meter.DeviceMapping, JSON).
CREATE TABLE IF NOT EXISTS gateway_devices (
	protocol TEXT NOT NULL,
	device   TEXT NOT NULL,
	gateway  TEXT NOT NULL,
	record   TEXT NOT NULL,
	PRIMARY KEY (protocol, device)
) WITHOUT ROWID;

-- Channel names are numbered once for all meters.
CREATE TABLE IF NOT EXISTS channels (
	cid  INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE
);

-- Write-optimised head: one row per committed reading, appended in commit
-- order (rid), the reading packed in one blob (see encodeHot). No secondary
-- index: the process keeps the head in memory too, reloaded from here by one
-- scan at open.
CREATE TABLE IF NOT EXISTS hot (
	rid   INTEGER PRIMARY KEY,
	meter INTEGER NOT NULL,
	rec   BLOB NOT NULL
);

-- Long-term layout: one row per block of up to chunkMax readings of one
-- meter, all from one UTC day (day = t / 86400000), in seq order, encoded by
-- store/chunk.
CREATE TABLE IF NOT EXISTS chunks (
	id        INTEGER PRIMARY KEY,
	meter     INTEGER NOT NULL,
	day       INTEGER NOT NULL,
	seq_first INTEGER NOT NULL,
	seq_last  INTEGER NOT NULL,
	t_min     INTEGER NOT NULL,
	t_max     INTEGER NOT NULL,
	n         INTEGER NOT NULL,
	data      BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS chunks_time ON chunks(meter, day, seq_first);
CREATE UNIQUE INDEX IF NOT EXISTS chunks_seq ON chunks(meter, seq_first);

-- Per-(meter, UTC hour) summaries of the compacted readings of every channel
-- (store/aggregate.Summary plus the kind and rollover they were built with),
-- maintained by compaction; long-range hourly, daily and monthly aggregates
-- read these instead of the readings.
CREATE TABLE IF NOT EXISTS rollups (
	meter   INTEGER NOT NULL,
	hour    INTEGER NOT NULL,
	seq_max INTEGER NOT NULL,
	data    BLOB NOT NULL,
	PRIMARY KEY (meter, hour)
) WITHOUT ROWID;

-- Last compacted reading per meter (admission state of compacted data).
CREATE TABLE IF NOT EXISTS meter_state (
	meter INTEGER PRIMARY KEY,
	seq   INTEGER NOT NULL,
	hash  BLOB NOT NULL,
	idx   INTEGER NOT NULL,
	t     INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS rejection_counts (
	reason TEXT NOT NULL,
	meter  TEXT NOT NULL,
	n      INTEGER NOT NULL,
	last   INTEGER NOT NULL,
	PRIMARY KEY (reason, meter)
) WITHOUT ROWID;

` + rejectionsDDL + `
-- Ledger entries set aside instead of committed (quarantine.Record), one row
-- per ledger index.
CREATE TABLE IF NOT EXISTS quarantine (
	idx    INTEGER PRIMARY KEY,
	t      INTEGER NOT NULL,
	meter  TEXT NOT NULL,
	seq    INTEGER NOT NULL, -- seqKey
	reason TEXT NOT NULL,
	detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS quarantine_meter ON quarantine(meter, idx);

CREATE TABLE IF NOT EXISTS alarms (
	id          INTEGER PRIMARY KEY,
	kind        TEXT NOT NULL,
	severity    TEXT NOT NULL,
	enterprise  TEXT NOT NULL,
	point       TEXT NOT NULL,
	meter       TEXT NOT NULL,
	message     TEXT NOT NULL,
	state       TEXT NOT NULL,
	raised      INTEGER NOT NULL,
	last_raised INTEGER NOT NULL,
	count       INTEGER NOT NULL,
	acked       INTEGER NOT NULL,
	acked_by    TEXT NOT NULL,
	cleared     INTEGER NOT NULL,
	cleared_by  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alarms_subject ON alarms(kind, enterprise, point, meter) WHERE state != 'cleared';
CREATE INDEX IF NOT EXISTS alarms_raised ON alarms(raised);

CREATE TABLE IF NOT EXISTS alarm_events (
	id     INTEGER PRIMARY KEY,
	alarm  INTEGER NOT NULL,
	t      INTEGER NOT NULL,
	action TEXT NOT NULL,
	by     TEXT NOT NULL,
	note   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alarm_events_alarm ON alarm_events(alarm, id);

CREATE TABLE IF NOT EXISTS tokens (
	id      TEXT PRIMARY KEY,
	hash    BLOB NOT NULL UNIQUE,
	name    TEXT NOT NULL,
	role    TEXT NOT NULL,
	scope   TEXT NOT NULL,
	created INTEGER NOT NULL,
	revoked INTEGER NOT NULL -- 0 while active
) WITHOUT ROWID;
`

// auditSchema is the append-only audit log (store.Audit). The triggers make
// it append-only underneath the Go code as well: no statement may change or
// remove a row.
const auditSchema = `
CREATE TABLE IF NOT EXISTS audit (
	id     INTEGER PRIMARY KEY AUTOINCREMENT,
	t      INTEGER NOT NULL,
	actor  TEXT NOT NULL,
	role   TEXT NOT NULL,
	action TEXT NOT NULL,
	target TEXT NOT NULL,
	status INTEGER NOT NULL,
	remote TEXT NOT NULL,
	detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_time ON audit(t);
CREATE INDEX IF NOT EXISTS audit_actor ON audit(actor, id);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
	BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
	BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
`
