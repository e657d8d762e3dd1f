// Package store defines how shuixiao keeps its registry (regions, parks,
// enterprises, metering points, meters), the admitted meter readings with
// their ledger indices, the aggregates computed from them, and the records
// around them (rejections, alarms, API tokens, the audit log).
//
// The package holds interfaces and plain types only; it has no SQL. The
// default implementation is store/sqlite (modernc.org/sqlite, pure Go); a
// PostgreSQL one will follow behind the same interfaces. store/storetest is
// the conformance suite every implementation must pass, and store/aggregate
// is the one aggregation engine they all share, so that an aggregate is the
// same number whichever database computed it.
//
// Interfaces are small and named by their consumer: the ingest pipeline needs
// an Ingester, the HTTP API a Registry and a SeriesReader, the console the
// Alarms, the auth middleware the Tokens. Store bundles them.
//
// Times are kept to the millisecond (the reading format's resolution). Every
// method takes a context first; zero values of query structs mean "all" or
// "default" as each field says.
//
// Consumption (fn=delta) follows the rules of store/aggregate: per meter,
// readings are ordered by device time (one value per device time), successive
// register values are differenced with rollover and reset handling, and the
// consumption between two readings is apportioned to buckets in proportion to
// time, so a bucket boundary gets the interpolated register value and a gap is
// filled by an estimate. A point's consumption is the sum over its meters,
// which makes a meter replacement (new meter, new base) harmless.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/rejection"
)

// Errors returned by implementations; test with errors.Is.
var (
	// ErrNotFound: the named record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: a record with that key already exists.
	ErrExists = errors.New("already exists")
	// ErrConflict: the request contradicts stored state (a reading whose
	// (meter, seq) is stored with another hash, a seq that does not grow, an
	// alarm transition from a state that does not allow it).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the request itself is malformed.
	ErrInvalid = errors.New("invalid")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store closed")
)

// Store is everything the server needs from persistent storage.
type Store interface {
	Registry
	DeviceMappings
	Ingester
	SeriesReader
	Rejections
	Quarantines
	Alarms
	Tokens
	Audit
	Production
	QuotaCases
	// Close stops background work and releases the database. Committed data
	// stays durable; Close does not need to be called for that.
	Close() error
}

// Compacter is implemented by stores that keep recent readings in a write
// optimised form and move them into their long-term layout in the
// background. Compact does that move now, for everything committed before the
// call; tests and benchmarks use it to exercise both layouts.
type Compacter interface {
	Compact(ctx context.Context) error
}

// Filter selects registry records for tenant scoping and listing. Empty
// fields do not filter. A field that does not apply to a record kind (Point
// for enterprises, say) is ignored.
type Filter struct {
	// Region is a GB/T 2260 code: a province code ("430000") matches all
	// records inside the province, a city code ("430300") all inside the city,
	// any other code exactly.
	Region     string
	Park       string
	Enterprise string
	Point      string
	Stage      meter.Stage
	Level      meter.Level
}

// Registry keeps the domain model: regions, parks, enterprises, metering
// points and meters. Create fails with ErrExists if the ID is taken, Update
// with ErrNotFound if it is not; both validate the record and its references
// (an enterprise's park, a point's enterprise and parent, a meter's point)
// and fail with ErrInvalid or ErrNotFound. Lists are sorted by ID (regions by
// code).
type Registry interface {
	CreateRegion(ctx context.Context, r meter.Region) error
	UpdateRegion(ctx context.Context, r meter.Region) error
	Region(ctx context.Context, code string) (meter.Region, error)
	Regions(ctx context.Context) ([]meter.Region, error)

	CreatePark(ctx context.Context, p meter.Park) error
	UpdatePark(ctx context.Context, p meter.Park) error
	Park(ctx context.Context, id string) (meter.Park, error)
	Parks(ctx context.Context, f Filter) ([]meter.Park, error)

	CreateEnterprise(ctx context.Context, e meter.Enterprise) error
	UpdateEnterprise(ctx context.Context, e meter.Enterprise) error
	Enterprise(ctx context.Context, id string) (meter.Enterprise, error)
	Enterprises(ctx context.Context, f Filter) ([]meter.Enterprise, error)

	CreatePoint(ctx context.Context, p meter.Point) error
	// UpdatePoint replaces a point. Changing a channel's kind or rollover
	// changes how its stored readings aggregate from then on, history included.
	UpdatePoint(ctx context.Context, p meter.Point) error
	Point(ctx context.Context, id string) (meter.Point, error)
	Points(ctx context.Context, f Filter) ([]meter.Point, error)

	// CreateMeter registers a meter; Registered defaults to the call time if
	// zero. A meter's readings belong to its point for all aggregates, so a
	// replaced meter is a new meter on the same point.
	CreateMeter(ctx context.Context, m meter.Meter) error
	// UpdateMeter replaces a meter's record (serial, model, key, interval …).
	UpdateMeter(ctx context.Context, m meter.Meter) error
	Meter(ctx context.Context, id string) (meter.Meter, error)
	Meters(ctx context.Context, f Filter) ([]meter.Meter, error)
	// RevokeMeter marks the meter's key revoked; its stored readings stay.
	RevokeMeter(ctx context.Context, id string) error

	// CreateGateway registers a protocol gateway's key; UpdateGateway
	// replaces it (a new key); RevokeGateway marks it revoked. Gateways
	// lists them sorted by ID.
	CreateGateway(ctx context.Context, g meter.Gateway) error
	UpdateGateway(ctx context.Context, g meter.Gateway) error
	Gateway(ctx context.Context, id string) (meter.Gateway, error)
	Gateways(ctx context.Context) ([]meter.Gateway, error)
	RevokeGateway(ctx context.Context, id string) error
}

// BulkRegistry creates many points or meters in one transaction, all or
// none (a province's bulk registration: one commit, not one each). Each is
// checked as CreatePoint or CreateMeter checks one; a point's parent may be
// an earlier point of the same call. An item that exists or names a missing
// enterprise, parent or point fails the call with ErrExists, ErrNotFound or
// ErrConflict.
type BulkRegistry interface {
	CreatePoints(ctx context.Context, ps []meter.Point) error
	// CreateMeters creates the meters ms and stores the credential records
	// secrets (DeviceSecrets, each of a meter of ms or of a registered
	// meter or gateway, else ErrNotFound) in the same transaction.
	CreateMeters(ctx context.Context, ms []meter.Meter, secrets []DeviceSecret) error
}

// DeviceMappings keeps what legacy devices' frame fields mean
// (meter.DeviceMapping), keyed by protocol and device.
type DeviceMappings interface {
	// PutDeviceMapping creates or replaces a device's mapping.
	PutDeviceMapping(ctx context.Context, d meter.DeviceMapping) error
	DeviceMapping(ctx context.Context, protocol, device string) (meter.DeviceMapping, error)
	// DeviceMappings lists mappings sorted by protocol and device; a
	// non-empty gateway selects that gateway's.
	DeviceMappings(ctx context.Context, gateway string) ([]meter.DeviceMapping, error)
	DeleteDeviceMapping(ctx context.Context, protocol, device string) error
}

// Ingester is what the ingest pipeline needs: an atomic, durable commit of a
// batch of admitted readings, and the state to resume from after a restart.
type Ingester interface {
	// Commit stores the batch atomically: all of it or, on error, none of it.
	// When Commit returns nil the batch is durable as the implementation's
	// documented sync level promises (store/sqlite: survives kill -9 of the
	// process always; survives power loss with SyncFull, its default).
	//
	// Every reading's meter must be registered (else ErrNotFound) and its seq
	// must exceed the meter's last committed seq, growing within the batch.
	// A reading whose (meter, seq) is already stored with the same hash is
	// skipped, which makes re-committing a batch (a ledger replay after a
	// crash) harmless; with a different hash, or a seq at or below the last
	// one that is not stored, Commit fails with ErrConflict.
	Commit(ctx context.Context, b *Batch) error
	// AdmissionStates returns, for every meter with committed readings, its
	// last committed reading: the state admission resumes from.
	AdmissionStates(ctx context.Context) ([]MeterState, error)
	// LedgerSize returns the largest Batch.LedgerSize committed so far: every
	// ledger entry with a smaller index has had its effects committed.
	LedgerSize(ctx context.Context) (uint64, error)
	// ReadingBySeq returns the committed reading (meter, seq), for answering
	// an exact resubmission with its original ledger index. ErrNotFound if
	// there is none.
	ReadingBySeq(ctx context.Context, meterID string, seq uint64) (Reading, error)
}

// SeriesReader answers queries on stored readings. Readings still in a write
// buffer are included: a query sees every committed reading.
type SeriesReader interface {
	// Readings returns one page of a meter's readings in [From, To) ordered
	// by (device time, seq), oldest first unless Desc.
	Readings(ctx context.Context, q ReadingQuery) (ReadingPage, error)
	// ScanReadings calls fn for every reading q selects, in order, paging
	// internally so that memory stays bounded whatever the range; q.Limit > 0
	// caps the number of readings. An error from fn stops the scan and is
	// returned.
	ScanReadings(ctx context.Context, q ReadingQuery, fn func(*Reading) error) error
	// Aggregate returns one series' buckets over [From, To).
	Aggregate(ctx context.Context, q AggregateQuery) ([]Bucket, error)
	// Consumption returns the consumption (fn=delta) of many series over the
	// same grid from one consistent snapshot: the building block for daily
	// totals of many points or enterprises and for water balances.
	Consumption(ctx context.Context, q ConsumptionQuery) ([]SeriesBuckets, error)
}

// Rejections answers questions about readings and messages that were refused.
// They are recorded through Batch.Rejections.
type Rejections interface {
	// RejectionCounts returns the counters by (reason, meter) that match f,
	// sorted by reason then meter, a page of them when f.Limit is set;
	// Meter is empty where no meter was known.
	RejectionCounts(ctx context.Context, f rejection.Filter) ([]rejection.Count, error)
	// RecentRejections returns the newest rejections that match f, newest
	// first, at most limit (0: 100). Only a bounded number are kept.
	RecentRejections(ctx context.Context, f rejection.Filter, limit int) ([]rejection.Rejection, error)
}

// Alarms keeps alarm records and their history. An alarm is open while
// active or acknowledged; cleared is final.
type Alarms interface {
	// RaiseAlarm opens an alarm, or, if an open alarm of the same kind and
	// subject (enterprise, point, meter) exists, counts a repeat on it and
	// returns that one with created false.
	RaiseAlarm(ctx context.Context, a alarm.Alarm) (stored alarm.Alarm, created bool, err error)
	// RaiseAlarms raises each of as in order, in one transaction, exactly
	// as RaiseAlarm would one after the other: each is deduplicated against
	// the open alarms of its kind and subject, those stored before it in
	// the batch included, and gets the same history event (raise or
	// repeat). It returns one RaisedAlarm per alarm, in order, each the
	// alarm as stored right after its own raise. An invalid alarm fails the
	// whole batch with ErrInvalid before anything is stored; any other
	// error stores none of them. A batch holds the store's writer for its
	// length: callers raise many alarms in batches of about a thousand.
	RaiseAlarms(ctx context.Context, as []alarm.Alarm) ([]RaisedAlarm, error)
	// AckAlarm acknowledges an active alarm (ErrConflict otherwise).
	AckAlarm(ctx context.Context, id int64, by string, at time.Time, note string) (alarm.Alarm, error)
	// ClearAlarm clears an open alarm (ErrConflict if already cleared).
	ClearAlarm(ctx context.Context, id int64, by string, at time.Time, note string) (alarm.Alarm, error)
	// ClearAlarms clears each alarm of ids in order, in one transaction,
	// exactly as ClearAlarm would one after the other (the same history
	// event each). It returns one ClearedAlarm per id, in order. An id that
	// names no alarm (ErrNotFound) or an alarm already cleared
	// (ErrConflict; so is an id named twice, the second time) is skipped:
	// its ClearedAlarm carries the error ClearAlarm would have returned and
	// the others are still cleared. Any other error clears none of them.
	ClearAlarms(ctx context.Context, ids []int64, by string, at time.Time, note string) ([]ClearedAlarm, error)
	Alarm(ctx context.Context, id int64) (alarm.Alarm, error)
	// Alarms lists alarms matching f, newest raised first.
	Alarms(ctx context.Context, f alarm.Filter) ([]alarm.Alarm, error)
	// AlarmHistory lists an alarm's events, oldest first.
	AlarmHistory(ctx context.Context, id int64) ([]alarm.Event, error)
}

// RaisedAlarm is an alarm of a RaiseAlarms batch as stored, and whether
// the raise opened it (else it counted a repeat on an open one).
type RaisedAlarm struct {
	Alarm   alarm.Alarm
	Created bool
}

// ClearedAlarm is an alarm of a ClearAlarms batch: as stored once cleared,
// or, when Err is set (wrapping ErrNotFound or ErrConflict), skipped.
type ClearedAlarm struct {
	Alarm alarm.Alarm
	Err   error
}

// Tokens keeps API tokens. Only SHA-256 hashes of the secrets are stored
// (see HashToken); the secret is shown once, when created.
type Tokens interface {
	// CreateToken stores a token under the hash of its secret.
	CreateToken(ctx context.Context, t Token, hash [32]byte) error
	// TokenByHash finds the active token with that secret hash; revoked and
	// unknown tokens give ErrNotFound.
	TokenByHash(ctx context.Context, hash [32]byte) (Token, error)
	// Tokens lists all tokens, revoked ones included, sorted by ID.
	Tokens(ctx context.Context) ([]Token, error)
	// RevokeToken revokes a token; revoking twice is not an error.
	RevokeToken(ctx context.Context, id string, at time.Time) error
}
