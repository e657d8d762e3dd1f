// Package devicecred keeps what a meter connects and signs with in step
// with the registry: the key directory the ingest pipeline verifies
// readings against (ingest.Directory) and the meter's MQTT password, kept
// in the store as a salted SHA-256 hash and checked when the meter
// connects to the broker. Registered and Revoked follow the registry's
// changes in ledger order (see internal/registry).
package devicecred

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// MinPasswordLen is the shortest MQTT password a meter may be given.
const MinPasswordLen = 12

// CheckPassword applies the password rule.
func CheckPassword(password string) error {
	if len(password) < MinPasswordLen {
		return fmt.Errorf("mqtt_password must have at least %d characters", MinPasswordLen)
	}
	return nil
}

// Store is what the credentials need of the store.
type Store interface {
	Gateway(ctx context.Context, id string) (meter.Gateway, error)
	Gateways(ctx context.Context) ([]meter.Gateway, error)
	Meter(ctx context.Context, id string) (meter.Meter, error)
	Meters(ctx context.Context, f store.Filter) ([]meter.Meter, error)
	Point(ctx context.Context, id string) (meter.Point, error)
	Points(ctx context.Context, f store.Filter) ([]meter.Point, error)
	store.DeviceSecrets
}

// Credentials keeps the key directory and MQTT credentials in step with the
// registry. Its methods are safe for concurrent use.
type Credentials struct {
	store Store
	dir   *ingest.Directory
	// OnRevoke, if set before use, is called after a meter is revoked (the
	// server disconnects it from the broker).
	OnRevoke func(id string)
	// OnChange, if set before use, is called with the meters whose
	// registry records a registration or revocation changed, once the
	// change is stored (the alarm monitor's meter list follows it).
	OnChange func(ids ...string)
	// OnCredentialChange, if set before use, is called with the devices
	// (meters and gateways) whose key, revocation or MQTT password changed,
	// once the change is stored: what another process's copy of these
	// credentials must Reload (bus mode's edges).
	OnCredentialChange func(ids ...string)

	mu    sync.Mutex
	cache map[string][32]byte // meter → hash of a password that was accepted
}

// New returns the credentials of the meters in st, kept in dir.
func New(st Store, dir *ingest.Directory) *Credentials {
	return &Credentials{store: st, dir: dir}
}

// LoadAll puts every registered meter and gateway in the key directory (one
// it already holds as it is costs no allocation); one it held that the
// registry now has revoked is passed to OnRevoke.
func (c *Credentials) LoadAll(ctx context.Context) error {
	ms, err := c.store.Meters(ctx, store.Filter{})
	if err != nil {
		return err
	}
	pts, err := c.store.Points(ctx, store.Filter{})
	if err != nil {
		return err
	}
	byID := map[string]meter.Point{}
	for _, p := range pts {
		byID[p.ID] = p
	}
	var revoked []string
	for _, m := range ms {
		now, err := c.putMeter(m, byID[m.Point])
		if err != nil {
			return err
		}
		if now {
			revoked = append(revoked, m.ID)
		}
	}
	gs, err := c.store.Gateways(ctx)
	if err != nil {
		return err
	}
	for _, g := range gs {
		now, err := c.putGateway(g)
		if err != nil {
			return err
		}
		if now {
			revoked = append(revoked, g.ID)
		}
	}
	c.revoked(revoked...)
	return nil
}

// Reload puts the devices ids (meters or gateways) in the key directory as
// the store has them now and forgets the passwords accepted before of each
// (one may have changed): what LoadAll does for every device, for those the
// registry changed (OnCredentialChange elsewhere). A device it held that the
// registry now has revoked is passed to OnRevoke; an ID the store does not
// hold is skipped. A device that fails to load does not stop the others.
func (c *Credentials) Reload(ctx context.Context, ids ...string) error {
	var errs []error
	var revoked []string
	for _, id := range ids {
		now, err := c.reload(ctx, id)
		if err != nil {
			errs = append(errs, fmt.Errorf("reload %s: %w", id, err))
		}
		if now {
			revoked = append(revoked, id)
		}
	}
	c.mu.Lock()
	for _, id := range ids {
		delete(c.cache, id)
	}
	c.mu.Unlock()
	c.revoked(revoked...)
	return errors.Join(errs...)
}

// reload puts device id in the key directory as the store has it, and
// reports whether the registry revoked it since.
func (c *Credentials) reload(ctx context.Context, id string) (revokedNow bool, err error) {
	m, err := c.store.Meter(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		// Meters and gateways log in by their IDs: one namespace.
		g, err := c.store.Gateway(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		} else if err != nil {
			return false, err
		}
		return c.putGateway(g)
	} else if err != nil {
		return false, err
	}
	p, err := c.store.Point(ctx, m.Point)
	if err != nil {
		return false, err
	}
	return c.putMeter(m, p)
}

// putMeter puts meter m of point p in the key directory, and reports
// whether it held m unrevoked and the registry has it revoked now.
func (c *Credentials) putMeter(m meter.Meter, p meter.Point) (revokedNow bool, err error) {
	old, had := c.dir.Get(m.ID)
	return m.Revoked && had && !old.Revoked, c.dir.Put(m, p, p.Enterprise)
}

// putGateway is putMeter for a gateway.
func (c *Credentials) putGateway(g meter.Gateway) (revokedNow bool, err error) {
	old, had := c.dir.Gateway(g.ID)
	return g.Revoked && had && !old.Revoked, c.dir.PutGateway(g)
}

// revoked passes the devices just revoked to OnRevoke.
func (c *Credentials) revoked(ids ...string) {
	if c.OnRevoke != nil {
		for _, id := range ids {
			c.OnRevoke(id)
		}
	}
}

// KeyApplied follows a key entry applied to the registry (a meter's or a
// gateway's registration or revocation) into the key directory. secret,
// for a registration, is the record (HashSecret's) of the MQTT password
// registered with it, or "": stored first, so that the device's change is
// told once.
func (c *Credentials) KeyApplied(ctx context.Context, ke *reading.KeyEntry, secret string) error {
	switch {
	case ke.IsGateway() && ke.Action == reading.ActionRevoke:
		defer c.credentialChanged(ke.Gateway)
		c.dir.RevokeGateway(ke.Gateway)
		c.mu.Lock()
		delete(c.cache, ke.Gateway)
		c.mu.Unlock()
		if c.OnRevoke != nil {
			c.OnRevoke(ke.Gateway) // an edge box's MQTT session ends
		}
		return nil
	case ke.IsGateway():
		defer c.credentialChanged(ke.Gateway)
		if err := c.storeSecret(ctx, ke.Gateway, secret); err != nil {
			return err
		}
		g, err := c.store.Gateway(ctx, ke.Gateway)
		if err != nil {
			return err
		}
		return c.dir.PutGateway(g)
	case ke.Action == reading.ActionRevoke:
		c.Revoked(ctx, ke.Meter)
		return nil
	}
	return c.Registered(ctx, ke.Meter, secret)
}

// Registered puts a meter, as the registry now has it, in the key
// directory, with secret, if not "", the record (HashSecret's) of the MQTT
// password registered with it: OnChange and OnCredentialChange are told
// once, of both.
func (c *Credentials) Registered(ctx context.Context, id, secret string) error {
	defer c.changed(id)
	if err := c.storeSecret(ctx, id, secret); err != nil {
		return err
	}
	m, err := c.store.Meter(ctx, id)
	if err != nil {
		return err
	}
	p, err := c.store.Point(ctx, m.Point)
	if err != nil {
		return err
	}
	return c.dir.Put(m, p, p.Enterprise)
}

// PutMeters puts newly registered meters in the key directory, each with
// its point (ps[i] is ms[i]'s), as the registry has just stored them: a
// bulk registration's, without reading each back from the store. secrets
// are the MQTT password records (HashSecret's) the registry stored in the
// same transaction; the passwords accepted before of those devices are
// forgotten. OnChange is told of the meters and OnCredentialChange of the
// meters and the secrets' devices in one call, each device once.
func (c *Credentials) PutMeters(ms []meter.Meter, ps []meter.Point, secrets []store.DeviceSecret) error {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	alsoSecrets := c.forgetSecrets(secrets, ids)
	defer func() {
		if c.OnChange != nil {
			c.OnChange(ids...)
		}
		c.credentialChanged(append(ids, alsoSecrets...)...)
	}()
	for i, m := range ms {
		if err := c.dir.Put(m, ps[i], ps[i].Enterprise); err != nil {
			return err
		}
	}
	return nil
}

// Revoked marks a meter revoked in the key directory and forgets its
// accepted password.
func (c *Credentials) Revoked(ctx context.Context, id string) {
	defer c.changed(id)
	c.dir.Revoke(id)
	c.mu.Lock()
	delete(c.cache, id)
	c.mu.Unlock()
	if c.OnRevoke != nil {
		c.OnRevoke(id)
	}
}

// changed tells OnChange and OnCredentialChange of meters registered or
// revoked.
func (c *Credentials) changed(ids ...string) {
	if c.OnChange != nil {
		c.OnChange(ids...)
	}
	c.credentialChanged(ids...)
}

// credentialChanged tells OnCredentialChange of devices whose key,
// revocation or password changed.
func (c *Credentials) credentialChanged(ids ...string) {
	if c.OnCredentialChange != nil {
		c.OnCredentialChange(ids...)
	}
}

// SetSecret stores a salted hash of a meter's MQTT password.
func (c *Credentials) SetSecret(ctx context.Context, id, password string) error {
	rec, err := HashSecret(id, password)
	if err != nil {
		return err
	}
	if err := c.storeSecret(ctx, id, rec); err != nil {
		return err
	}
	c.credentialChanged(id)
	return nil
}

// storeSecret stores a device's password record (HashSecret's; nothing for
// "") and forgets the password accepted before; the caller tells of it.
func (c *Credentials) storeSecret(ctx context.Context, id, record string) error {
	if record == "" {
		return nil
	}
	if err := c.store.SetDeviceSecret(ctx, id, record); err != nil {
		return err
	}
	c.mu.Lock()
	delete(c.cache, id)
	c.mu.Unlock()
	return nil
}

// SecretsStored forgets the passwords accepted before of the devices whose
// records (HashSecret's) the caller stored itself, without meters (a bulk
// registration's passwords of meters registered before), and tells
// OnCredentialChange of them.
func (c *Credentials) SecretsStored(secrets []store.DeviceSecret) {
	c.credentialChanged(c.forgetSecrets(secrets, nil)...)
}

// forgetSecrets forgets the passwords accepted before of the secrets'
// devices and returns those devices, each once, that are not in told.
func (c *Credentials) forgetSecrets(secrets []store.DeviceSecret, told []string) []string {
	seen := make(map[string]bool, len(told)+len(secrets))
	for _, id := range told {
		seen[id] = true
	}
	var ids []string
	c.mu.Lock()
	for _, s := range secrets {
		delete(c.cache, s.Device)
		if !seen[s.Device] {
			seen[s.Device] = true
			ids = append(ids, s.Device)
		}
	}
	c.mu.Unlock()
	return ids
}

// HashSecret returns the record kept of a device's secret (an MQTT
// password, a push token): "salt$hash", base64, salted SHA-256 bound to id.
func HashSecret(id, secret string) (string, error) {
	var salt [16]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return "", err
	}
	h := secretHash(salt[:], id, secret)
	return base64.StdEncoding.EncodeToString(salt[:]) + "$" + base64.StdEncoding.EncodeToString(h[:]), nil
}

// SecretMatches reports, in constant time, whether secret is the one a
// HashSecret record was made of for id.
func SecretMatches(record, id string, secret []byte) bool {
	saltB64, hashB64, found := strings.Cut(record, "$")
	salt, err1 := base64.StdEncoding.DecodeString(saltB64)
	want, err2 := base64.StdEncoding.DecodeString(hashB64)
	if !found || err1 != nil || err2 != nil {
		return false
	}
	got := secretHash(salt, id, string(secret))
	return subtle.ConstantTimeCompare(got[:], want) == 1
}

func secretHash(salt []byte, id, password string) [32]byte {
	return sha256.Sum256([]byte(string(salt) + "\x00" + id + "\x00" + password))
}

// Authenticate checks MQTT credentials: a registered, unrevoked meter with
// the password given at registration.
func (c *Credentials) Authenticate(id string, password []byte) bool {
	if dev, ok := c.dir.Get(id); !ok || dev.Revoked {
		// An edge box logs in as its gateway, to forward the readings it signed.
		if g, ok := c.dir.Gateway(id); !ok || g.Revoked {
			return false
		}
	}
	probe := sha256.Sum256(append([]byte(id+"\x00"), password...))
	c.mu.Lock()
	h, hit := c.cache[id]
	c.mu.Unlock()
	if hit {
		return subtle.ConstantTimeCompare(h[:], probe[:]) == 1
	}
	rec, err := c.store.DeviceSecret(context.Background(), id)
	if err != nil || !SecretMatches(rec, id, password) {
		return false
	}
	c.mu.Lock()
	if c.cache == nil {
		c.cache = map[string][32]byte{}
	}
	c.cache[id] = probe
	c.mu.Unlock()
	return true
}
