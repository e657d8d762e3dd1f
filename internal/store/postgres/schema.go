package postgres

// schemaVersion is stored in meta under "schema"; Open refuses a newer one.
const schemaVersion = 1

// schema creates every table in the store's schema (search_path). Times are
// Unix milliseconds, as in store/sqlite, so that both drivers hold the same
// numbers; seqs of readings are below 2⁵³ (the validity rule) and stored as
// they are.
const schema = `
CREATE TABLE meta (
	k TEXT COLLATE "C" PRIMARY KEY,
	v BIGINT NOT NULL
);

CREATE TABLE regions (
	code    TEXT COLLATE "C" PRIMARY KEY,
	name    TEXT COLLATE "C" NOT NULL,
	name_en TEXT COLLATE "C" NOT NULL,
	parent  TEXT COLLATE "C" NOT NULL
);

CREATE TABLE parks (
	id         TEXT COLLATE "C" PRIMARY KEY,
	name       TEXT COLLATE "C" NOT NULL,
	name_en    TEXT COLLATE "C" NOT NULL,
	region     TEXT COLLATE "C" NOT NULL,
	industries JSONB NOT NULL,
	lat        DOUBLE PRECISION NOT NULL,
	lon        DOUBLE PRECISION NOT NULL
);

CREATE TABLE enterprises (
	id       TEXT COLLATE "C" PRIMARY KEY,
	name     TEXT COLLATE "C" NOT NULL,
	name_en  TEXT COLLATE "C" NOT NULL,
	park     TEXT COLLATE "C" NOT NULL,
	region   TEXT COLLATE "C" NOT NULL,
	industry TEXT COLLATE "C" NOT NULL,
	products JSONB NOT NULL
);
CREATE INDEX enterprises_park ON enterprises(park);

CREATE TABLE points (
	id         TEXT COLLATE "C" PRIMARY KEY,
	enterprise TEXT COLLATE "C" NOT NULL,
	name       TEXT COLLATE "C" NOT NULL,
	name_en    TEXT COLLATE "C" NOT NULL,
	level      INTEGER NOT NULL,
	stage      TEXT COLLATE "C" NOT NULL,
	source     TEXT COLLATE "C" NOT NULL,
	parent     TEXT COLLATE "C" NOT NULL,
	channels   JSONB NOT NULL,
	roles      JSONB
);
CREATE INDEX points_enterprise ON points(enterprise);

CREATE TABLE meters (
	mid         INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id          TEXT COLLATE "C" NOT NULL UNIQUE,
	point       TEXT COLLATE "C" NOT NULL,
	serial      TEXT COLLATE "C" NOT NULL,
	model       TEXT COLLATE "C" NOT NULL,
	key         TEXT COLLATE "C" NOT NULL,
	signed      TEXT COLLATE "C" NOT NULL,
	revoked     BOOLEAN NOT NULL,
	registered  BIGINT NOT NULL,
	interval_ms BIGINT NOT NULL,
	gateway     TEXT COLLATE "C" NOT NULL DEFAULT '' -- the gateway whose key signs its readings; '' for the meter's own key
);
CREATE INDEX meters_point ON meters(point);

-- Protocol gateways: keys that sign for legacy devices (meter.Gateway).
CREATE TABLE gateways (
	id         TEXT COLLATE "C" PRIMARY KEY,
	key        TEXT NOT NULL,
	enterprise TEXT COLLATE "C" NOT NULL,
	revoked    BOOLEAN NOT NULL,
	registered BIGINT NOT NULL
);

-- Legacy devices and what their frame fields mean (meter.DeviceMapping, JSON).
CREATE TABLE gateway_devices (
	protocol TEXT COLLATE "C" NOT NULL,
	device   TEXT COLLATE "C" NOT NULL,
	gateway  TEXT COLLATE "C" NOT NULL,
	record   TEXT NOT NULL,
	PRIMARY KEY (protocol, device)
);

CREATE TABLE channels (
	cid  INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name TEXT COLLATE "C" NOT NULL UNIQUE
);

-- Readings, partitioned by device time (one partition per UTC month, made
-- by Commit before it writes into it; the default partition is a safety
-- net). cids and vals are the channel numbers and values, in the reading's
-- order.
CREATE TABLE readings (
	meter INTEGER NOT NULL,
	seq   BIGINT NOT NULL,
	t     BIGINT NOT NULL,
	recv  BIGINT NOT NULL,
	idx   BIGINT NOT NULL,
	hash  BYTEA NOT NULL,
	flags INTEGER NOT NULL,
	cids  INTEGER[] NOT NULL,
	vals  DOUBLE PRECISION[] NOT NULL
) PARTITION BY RANGE (t);
CREATE INDEX readings_time ON readings(meter, t, seq);
CREATE INDEX readings_seq ON readings(meter, seq);
CREATE TABLE readings_default PARTITION OF readings DEFAULT;

-- Last committed reading per meter: the state admission resumes from.
CREATE TABLE meter_state (
	meter INTEGER PRIMARY KEY,
	seq   BIGINT NOT NULL,
	hash  BYTEA NOT NULL,
	idx   BIGINT NOT NULL,
	t     BIGINT NOT NULL
);

CREATE TABLE rejection_counts (
	reason BYTEA NOT NULL,
	meter  BYTEA NOT NULL,
	n      BIGINT NOT NULL,
	last   BIGINT NOT NULL,
	PRIMARY KEY (reason, meter)
);

-- Rejections, quarantine and audit records keep what strangers sent (a
-- made-up meter ID, a detail quoting bad bytes) exactly, NUL bytes and
-- invalid UTF-8 included, so their text columns are BYTEA.

-- The bounded log of recent rejections: one row per (reason, meter,
-- source) with its count, first and last time (t) and last detail.
CREATE TABLE rejections (
	id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	reason BYTEA NOT NULL,
	meter  BYTEA NOT NULL,
	source BYTEA NOT NULL,
	n      BIGINT NOT NULL,
	first  BIGINT NOT NULL,
	t      BIGINT NOT NULL,
	detail BYTEA NOT NULL,
	UNIQUE (reason, meter, source)
);
CREATE INDEX rejections_t ON rejections(t, id);

CREATE TABLE quarantine (
	idx    BIGINT PRIMARY KEY,
	t      BIGINT NOT NULL,
	meter  BYTEA NOT NULL,
	seq    BIGINT NOT NULL, -- seqKey
	reason BYTEA NOT NULL,
	detail BYTEA NOT NULL
);
CREATE INDEX quarantine_meter ON quarantine(meter, idx);

CREATE TABLE alarms (
	id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind        TEXT COLLATE "C" NOT NULL,
	severity    TEXT COLLATE "C" NOT NULL,
	enterprise  TEXT COLLATE "C" NOT NULL,
	point       TEXT COLLATE "C" NOT NULL,
	meter       TEXT COLLATE "C" NOT NULL,
	message     TEXT COLLATE "C" NOT NULL,
	state       TEXT COLLATE "C" NOT NULL,
	raised      BIGINT NOT NULL,
	last_raised BIGINT NOT NULL,
	count       BIGINT NOT NULL,
	acked       BIGINT NOT NULL,
	acked_by    TEXT COLLATE "C" NOT NULL,
	cleared     BIGINT NOT NULL,
	cleared_by  TEXT COLLATE "C" NOT NULL
);
-- At most one open alarm of a kind per subject, whichever server raises it
-- (alarmsOpenUniqueDDL brings an older store here).
CREATE UNIQUE INDEX alarms_open_subject ON alarms(kind, enterprise, point, meter) WHERE state <> 'cleared';
CREATE INDEX alarms_raised ON alarms(raised);

CREATE TABLE alarm_events (
	id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	alarm  BIGINT NOT NULL,
	t      BIGINT NOT NULL,
	action TEXT COLLATE "C" NOT NULL,
	by_    TEXT COLLATE "C" NOT NULL,
	note   TEXT COLLATE "C" NOT NULL
);
CREATE INDEX alarm_events_alarm ON alarm_events(alarm, id);

CREATE TABLE tokens (
	id      TEXT COLLATE "C" PRIMARY KEY,
	hash    BYTEA NOT NULL UNIQUE,
	name    TEXT COLLATE "C" NOT NULL,
	role    TEXT COLLATE "C" NOT NULL,
	scope   TEXT COLLATE "C" NOT NULL,
	created BIGINT NOT NULL,
	revoked BIGINT NOT NULL -- 0 while active
);

-- The append-only audit log: the trigger refuses UPDATE and DELETE
-- underneath the Go code as well.
CREATE TABLE audit (
	id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	t      BIGINT NOT NULL,
	actor  BYTEA NOT NULL,
	role   BYTEA NOT NULL,
	action BYTEA NOT NULL,
	target BYTEA NOT NULL,
	status INTEGER NOT NULL,
	remote BYTEA NOT NULL,
	detail BYTEA NOT NULL
);
CREATE INDEX audit_time ON audit(t);
CREATE INDEX audit_actor ON audit(actor, id);
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS
	$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
	FOR EACH ROW EXECUTE FUNCTION audit_append_only();
`

// networkSchema holds the pipe networks, their leak events and the repair
// work orders (store.Networks).
const networkSchema = `
CREATE TABLE networks (
	id         TEXT COLLATE "C" PRIMARY KEY,
	name       TEXT NOT NULL,
	name_en    TEXT NOT NULL,
	park       TEXT COLLATE "C" NOT NULL,
	enterprise TEXT COLLATE "C" NOT NULL,
	inp        TEXT NOT NULL,
	config     TEXT NOT NULL,
	created    BIGINT NOT NULL,
	updated    BIGINT NOT NULL
);
CREATE TABLE leak_events (
	alarm      BIGINT PRIMARY KEY,
	network    TEXT COLLATE "C" NOT NULL,
	start      BIGINT NOT NULL,
	detected   BIGINT NOT NULL,
	raised     BIGINT NOT NULL,
	flow       DOUBLE PRECISION NOT NULL,
	candidates JSONB NOT NULL
);
CREATE INDEX leak_events_network ON leak_events(network, raised);
CREATE TABLE work_orders (
	id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	network       TEXT COLLATE "C" NOT NULL,
	alarm         BIGINT NOT NULL,
	park          TEXT COLLATE "C" NOT NULL,
	enterprise    TEXT COLLATE "C" NOT NULL,
	title         TEXT NOT NULL,
	state         TEXT NOT NULL,
	created       BIGINT NOT NULL,
	created_by    TEXT NOT NULL,
	assignee      TEXT NOT NULL,
	assigned      BIGINT NOT NULL,
	closed        BIGINT NOT NULL,
	closed_by     TEXT NOT NULL,
	repaired_link TEXT NOT NULL,
	note          TEXT NOT NULL,
	leak_start    BIGINT NOT NULL,
	leak_flow     DOUBLE PRECISION NOT NULL,
	water_lost    DOUBLE PRECISION NOT NULL
);
CREATE INDEX work_orders_network ON work_orders(network, id);
CREATE UNIQUE INDEX work_orders_open_alarm ON work_orders(alarm) WHERE alarm <> 0 AND state <> 'closed';
CREATE TABLE work_order_events (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	work_order BIGINT NOT NULL,
	t          BIGINT NOT NULL,
	action     TEXT NOT NULL,
	by_        TEXT NOT NULL,
	assignee   TEXT NOT NULL,
	link       TEXT NOT NULL,
	note       TEXT NOT NULL
);
CREATE INDEX work_order_events_order ON work_order_events(work_order, id);
`

// controlSchema holds the control loops' plants, commands and overrides
// (store.Controls); records are the JSON of their Go types, as in
// store/sqlite.
const controlSchema = `
CREATE TABLE control_plants (
	id         TEXT COLLATE "C" PRIMARY KEY,
	enterprise TEXT COLLATE "C" NOT NULL REFERENCES enterprises(id),
	config     TEXT NOT NULL,
	updated    BIGINT NOT NULL
);
CREATE TABLE control_commands (
	id         TEXT COLLATE "C" PRIMARY KEY,
	plant      TEXT COLLATE "C" NOT NULL,
	enterprise TEXT COLLATE "C" NOT NULL,
	device     TEXT COLLATE "C" NOT NULL,
	actuator   TEXT COLLATE "C" NOT NULL,
	kind       TEXT COLLATE "C" NOT NULL,
	issued     BIGINT NOT NULL,
	record     TEXT NOT NULL
);
CREATE INDEX control_commands_plant ON control_commands(plant, issued);
CREATE INDEX control_commands_issued ON control_commands(issued);
CREATE TABLE control_overrides (
	plant    TEXT COLLATE "C" NOT NULL,
	actuator TEXT COLLATE "C" NOT NULL,
	record   TEXT NOT NULL,
	PRIMARY KEY (plant, actuator)
);
`

// deviceSchema holds the MQTT credential records of meters
// (store.DeviceSecrets).
const deviceSchema = `
CREATE TABLE device_secrets (
	meter  TEXT COLLATE "C" PRIMARY KEY, -- a meter's or a gateway's ID
	record TEXT NOT NULL
);
`

// rollupSchema holds the per-(meter, hour, channel) summaries long-range
// aggregates read instead of the readings (store/aggregate.Summary plus the
// kind and rollover modulus they were built with), and the meter-hours
// whose readings changed since their summaries were built. An hour is
// keyed by effective time (aggregate.EffectiveTime).
const rollupSchema = `
CREATE TABLE rollups (
	meter   INTEGER NOT NULL,
	hour    BIGINT NOT NULL,
	cid     INTEGER NOT NULL,
	kind    TEXT NOT NULL,
	modulus DOUBLE PRECISION NOT NULL,
	n       INTEGER NOT NULL,
	sum     DOUBLE PRECISION NOT NULL,
	min     DOUBLE PRECISION NOT NULL,
	max     DOUBLE PRECISION NOT NULL,
	first_t BIGINT NOT NULL,
	first   DOUBLE PRECISION NOT NULL,
	last_t  BIGINT NOT NULL,
	last    DOUBLE PRECISION NOT NULL,
	inc     DOUBLE PRECISION NOT NULL,
	PRIMARY KEY (meter, cid, hour)
);
CREATE TABLE rollup_dirty (
	meter INTEGER NOT NULL,
	hour  BIGINT NOT NULL,
	PRIMARY KEY (meter, hour)
);
`

// managementSchema holds the production records (production.Record) and
// the retrofit cases with their events (quotacase), as store/sqlite does; a
// record's period is [t_from, t_to).
const managementSchema = `
CREATE TABLE production (
	id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	enterprise  TEXT COLLATE "C" NOT NULL,
	kind        TEXT COLLATE "C" NOT NULL,
	product     TEXT COLLATE "C" NOT NULL,
	quantity    DOUBLE PRECISION NOT NULL,
	unit        TEXT NOT NULL,
	t_from      BIGINT NOT NULL,
	t_to        BIGINT NOT NULL,
	reported_by TEXT NOT NULL,
	reported_at BIGINT NOT NULL,
	note        TEXT NOT NULL
);
CREATE INDEX production_series ON production(enterprise, kind, product, t_from);
CREATE INDEX production_period ON production(t_from, t_to);

CREATE TABLE quota_cases (
	id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	enterprise      TEXT COLLATE "C" NOT NULL,
	enterprise_name TEXT NOT NULL,
	park            TEXT NOT NULL,
	region          TEXT NOT NULL,
	product         TEXT COLLATE "C" NOT NULL,
	unit            TEXT NOT NULL,
	value           DOUBLE PRECISION NOT NULL,
	qlimit          DOUBLE PRECISION NOT NULL,
	grade           TEXT NOT NULL,
	standard        TEXT NOT NULL,
	verified        BOOLEAN NOT NULL,
	period_from     BIGINT NOT NULL,
	period_to       BIGINT NOT NULL,
	state           TEXT NOT NULL,
	opened_at       BIGINT NOT NULL,
	deadline        BIGINT NOT NULL,
	owner           TEXT NOT NULL,
	evidence_months INTEGER NOT NULL,
	closed_at       BIGINT NOT NULL
);
CREATE UNIQUE INDEX quota_cases_live ON quota_cases(enterprise, product) WHERE state <> 'closed';
CREATE INDEX quota_cases_state ON quota_cases(state, id);

CREATE TABLE quota_case_events (
	id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	qcase  BIGINT NOT NULL,
	t      BIGINT NOT NULL,
	from_s TEXT NOT NULL,
	to_s   TEXT NOT NULL,
	actor  TEXT NOT NULL,
	note   TEXT NOT NULL
);
CREATE INDEX quota_case_events_case ON quota_case_events(qcase, id);
`
