package sim

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// ParseInjections splits repeated or comma-separated --inject values and
// checks them.
func ParseInjections(values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		for _, k := range strings.Split(v, ",") {
			k = strings.TrimSpace(k)
			if k == "" {
				continue
			}
			if !validInjection(k) {
				return nil, fmt.Errorf("unknown injection %q (known: %s)", k, strings.Join(Injections, ", "))
			}
			out = append(out, k)
		}
	}
	return out, nil
}

func (s *Sim) runInjections(ctx context.Context) {
	wait := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	if !wait(s.cfg.InjectAfter) {
		return
	}
	// Each injection hits another enterprise, chosen from the seed.
	r := rand.New(rand.NewPCG(uint64(s.prov.Seed), 0x1badc0de))
	perm := r.Perm(len(s.ents))
	for i, kind := range s.cfg.Inject {
		if i > 0 && !wait(s.cfg.InjectEvery) {
			return
		}
		er := s.ents[perm[i%len(perm)]]
		rep, err := s.Inject(ctx, kind, er.e.ID)
		if err != nil {
			s.logf("注入失败 injection %s failed: %v", kind, err)
			continue
		}
		s.logf("注入 injected %s: enterprise %s (%s), meter %s: %s", rep.Kind, rep.Enterprise, er.e.Name, rep.Meter, rep.Detail)
	}
}

func (s *Sim) runtime(enterpriseID string) *entRuntime {
	for _, er := range s.ents {
		if er.e.ID == enterpriseID {
			return er
		}
	}
	return nil
}

// pickDevice chooses the device an injection acts on in an enterprise.
func (er *entRuntime) pickDevice(kind string) (int, *Device) {
	er.mu.Lock()
	defer er.mu.Unlock()
	legacyKind := strings.HasPrefix(kind, "hj212-") || kind == "reconnect-storm"
	want := func(d *Device) bool {
		pt := d.Point
		switch {
		case legacyKind:
			return d.legacy != nil && (kind == "reconnect-storm" || d.legacy.proto == "hj212")
		case d.legacy != nil && (kind == "replace" || kind == "replay" || kind == "forged-signature" || kind == "tamper"):
			return false // the gateway signs for it: no key of its own to replay, forge or replace
		}
		switch kind {
		case "offline", "skew":
			return pt.Level == meter.Level3
		case "reset":
			return pt.Stage == meter.StageSupply
		case "replay", "forged-signature", "tamper":
			return pt.Stage == meter.StageIntake
		}
		return true
	}
	last := kind == "replace" // replace the last supply meter, reset the first
	if last {
		for i := len(er.devices) - 1; i >= 0; i-- {
			if d := er.devices[i]; d.Point.Stage == meter.StageSupply && !d.isRetired() {
				return i, d
			}
		}
	}
	for i, d := range er.devices {
		if want(d) && !d.isRetired() {
			return i, d
		}
	}
	if legacyKind {
		return -1, nil
	}
	for i, d := range er.devices {
		if !d.isRetired() && d.legacy == nil {
			return i, d
		}
	}
	return -1, nil
}

func (d *Device) isRetired() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.retired || d.offline
}

// Inject applies one fault injection to an enterprise now and reports
// what it did. Kinds are those of Injections.
func (s *Sim) Inject(ctx context.Context, kind, enterpriseID string) (InjectionReport, error) {
	er := s.runtime(enterpriseID)
	if er == nil {
		return InjectionReport{}, fmt.Errorf("no enterprise %s", enterpriseID)
	}
	i, d := er.pickDevice(kind)
	if d == nil {
		return InjectionReport{}, fmt.Errorf("enterprise %s has no meter left to inject %s into", enterpriseID, kind)
	}
	rep := InjectionReport{Kind: kind, Enterprise: enterpriseID, Meter: d.ID, Time: time.Now()}
	var err error
	switch kind {
	case "offline":
		d.mu.Lock()
		d.offline = true
		d.mu.Unlock()
		if d.conn != nil {
			d.conn.Pause()
		}
		rep.Detail = fmt.Sprintf("meter stops publishing (offline alarm due after 3 × %v)", s.interval())
	case "skew":
		d.mu.Lock()
		d.skew = 30 * time.Minute
		d.mu.Unlock()
		rep.Detail = "meter clock runs 30 min fast: its readings carry time = now + 30 min"
	case "reset":
		d.mu.Lock()
		was := d.total
		d.total = 0
		d.mu.Unlock()
		rep.Detail = fmt.Sprintf("totaliser reset from %.3f m³ to 0", was)
	case "leak":
		rep.Detail, rep.Meter, err = s.injectLeak(er)
	case "pipe-leak":
		rep.Detail, rep.Meter, err = s.injectPipeLeak()
	case "ro-seal":
		rep.Enterprise, rep.Meter, rep.Detail, err = s.injectROSeal(enterpriseID)
	case "replace":
		rep.Detail, err = s.replace(ctx, er, i, d)
	case "replay":
		rep.Detail, rep.Seq, err = s.replay(d)
	case "forged-signature":
		rep.Detail, rep.Seq, err = s.forge(d)
	case "hj212-bad-crc", "hj212-wrong-password", "hj212-split":
		fault := strings.TrimPrefix(kind, "hj212-")
		d.legacy.mu.Lock()
		d.legacy.inject = fault
		d.legacy.mu.Unlock()
		rep.Detail = map[string]string{
			"bad-crc":        "data logger %s sends its next frame with a wrong CRC: answered 9011 QnRtn=9, no reading",
			"wrong-password": "data logger %s sends its next frame with a wrong PW: refused, connection closed, no reading",
			"split":          "data logger %s sends its next frame as two split packets (PNUM=2): joined into one reading",
		}[fault]
		rep.Detail = fmt.Sprintf(rep.Detail, d.legacy.device)
	case "reconnect-storm":
		n := 0
		for _, x := range er.devices {
			if x.legacy != nil {
				x.legacy.storm(20)
				n++
			}
		}
		rep.Detail = fmt.Sprintf("%d legacy devices each drop and re-dial their gateway link 20 times in a row", n)
	case "tamper":
		var tr TamperReport
		tr, err = s.tamper(ctx, d.ID)
		if err == nil {
			rep.Meter, rep.Seq, rep.Index = tr.Meter, tr.Seq, int64(tr.Index)
			key := tr.KeyFile
			if key == "" {
				key = "LOG_KEY"
			}
			rep.Detail = fmt.Sprintf("ledger entry %d (meter %s seq %d) changed on disk in %s: %q → %q; `shuixiao verify log %s --log-key %s` must report it",
				tr.Index, tr.Meter, tr.Seq, tr.File, tr.Line, tr.Changed, tr.LogDir, key)
		}
	default:
		err = fmt.Errorf("unknown injection %q", kind)
	}
	if err != nil {
		return InjectionReport{}, err
	}
	s.mu.Lock()
	s.injectionReports = append(s.injectionReports, rep)
	s.mu.Unlock()
	return rep, nil
}

// roSealBypass is the share of RO feed a failed permeate seal lets through:
// about three times the permeate's design conductivity, above the
// RO-permeate class and well within the make-up classes.
const roSealBypass = 0.03

// injectROSeal fails a permeate seal of the controlled plant of an
// enterprise (or of the first controlled plant): the permeate's conductivity
// rises, the uses that need RO-permeate quality are cut off, and the RO's
// normalised salt passage asks for a cleaning that does not cure it.
func (s *Sim) injectROSeal(enterpriseID string) (enterprise, meterID, detail string, err error) {
	pps := s.ProcessPlants()
	if len(pps) == 0 {
		return "", "", "", fmt.Errorf("no controlled plant runs (--plants 0)")
	}
	pp := pps[0]
	for _, p := range pps {
		if p.Enterprise == enterpriseID {
			pp = p
		}
	}
	pp.mu.Lock()
	pp.st.PermeateBypass = roSealBypass
	pp.mu.Unlock()
	return pp.Enterprise, pp.Control.Reuse.Sensors.ROPermCond.Meter,
		fmt.Sprintf("RO permeate seal of plant %s fails: %.0f %% of the feed reaches the permeate; its conductivity rises about threefold", pp.ID, 100*roSealBypass), nil
}

// injectLeak opens a hidden leak between the level-1 intake meter of the
// enterprise's largest source and its level-2 meters.
func (s *Sim) injectLeak(er *entRuntime) (detail, meterID string, err error) {
	p := er.e.System
	design := p.DesignFlows()
	var src meter.Source
	best := -1.0
	for _, so := range p.Sources {
		if q := design[p.intake[so]]; q > best {
			src, best = so, q
		}
	}
	share := s.prov.Params.LeakInjected
	er.mu.Lock()
	er.leak[src] += share
	er.mu.Unlock()
	for _, pt := range er.e.Points {
		if pt.Stage == meter.StageIntake && pt.Source == src {
			meterID = pt.Meter.ID
		}
	}
	return fmt.Sprintf("hidden leak on the %s header: +%.0f %% of the water it supplies (≈ %.1f m³/h at design); the level-1 intake meter reads more, Σ level-2 does not",
		src, 100*share, share*(best/(1+p.LeakBackground[src]))), meterID, nil
}

// replace swaps the meter on a point for a new one (new ID, new key, new
// register), registered through the API; the old meter is revoked.
func (s *Sim) replace(ctx context.Context, er *entRuntime, i int, old *Device) (string, error) {
	pt := old.Point
	k := 1
	if r, ok := s.store.Replacement(pt.ID); ok {
		if n, err := strconv.Atoi(r.New[strings.LastIndex(r.New, "-R")+2:]); err == nil {
			k = n + 1
		}
	}
	newID := fmt.Sprintf("%s-R%d", pt.Meter.ID, k)
	rng := rand.New(rand.NewPCG(uint64(s.prov.Seed), regionKey(newID)))
	d, err := func() (*Device, error) {
		skey, _, err := MeterKey(s.store.Secret(), newID)
		if err != nil {
			return nil, err
		}
		chain, err := NewChainFromKey(newID, pt.ID, skey, 0, reading.Hash{})
		if err != nil {
			return nil, err
		}
		old.mu.Lock()
		defer old.mu.Unlock()
		return &Device{ID: newID, Point: pt, chain: chain, rng: rng,
			bias:  (2*rng.Float64() - 1) * s.prov.Params.BiasShare * pt.Spec.MPE,
			total: 0, lastQ: old.lastQ, lastT: old.lastT}, nil
	}()
	if err != nil {
		return "", err
	}
	if err := s.registerMeter(ctx, d); err != nil {
		return "", err
	}
	s.store.Replace(pt.ID, Replacement{Old: old.ID, New: newID, Bias: d.bias, Time: time.Now()})
	if err := s.store.Snapshot(); err != nil {
		return "", err
	}
	old.mu.Lock()
	old.retired = true
	oldTotal := old.total
	old.mu.Unlock()
	s.connect(d)
	er.mu.Lock()
	er.devices[i] = d
	er.mu.Unlock()
	s.mu.Lock()
	s.devices[newID] = d
	s.mu.Unlock()
	// Let the old meter deliver what it has, then revoke it.
	if old.conn != nil {
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		old.conn.Flush(fctx)
		cancel()
		old.conn.Close()
	}
	if _, err := s.api.RevokeMeter(ctx, old.ID, "meter replaced by "+newID+" (simulated replacement)"); err != nil && !IsExists(err) {
		return "", fmt.Errorf("revoke %s: %w", old.ID, err)
	}
	s.store.SetRevoked(old.ID)
	return fmt.Sprintf("replaced by %s (new key, register starts at 0; old register %.3f m³); %s revoked", newID, oldTotal, old.ID), nil
}

func (s *Sim) markInjected(meterID string, seq uint64, tag string) {
	s.mu.Lock()
	s.injected[meterID+" "+strconv.FormatUint(seq, 10)] = tag
	s.mu.Unlock()
}

// replay re-publishes an old, already acknowledged reading byte for byte,
// and then a new reading that reuses that old seq.
func (s *Sim) replay(d *Device) (string, uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.recent) == 0 {
		return "", 0, errors.New("no acknowledged reading to replay yet")
	}
	old := d.recent[0]
	r, err := reading.Parse(old.Note)
	if err != nil {
		return "", 0, err
	}
	again, err := d.chain.SignAt(r.Seq, r.Prev, time.Now(), r.Values)
	if err != nil {
		return "", 0, err
	}
	s.markInjected(d.ID, r.Seq, "replay")
	d.conn.Send(Outgoing{Seq: r.Seq, Time: r.Time, Note: old.Note, Tag: "replay"})
	d.conn.Send(Outgoing{Seq: r.Seq, Time: time.Now(), Note: again, Tag: "replay"})
	return fmt.Sprintf("re-published seq %d byte for byte (expect: duplicate, original index) and a new reading with the old seq %d (expect: rejected, seq not growing); chain is at %d",
		r.Seq, r.Seq, d.chain.Seq()), r.Seq, nil
}

// forge publishes, on the meter's own session, a reading signed with a key
// of the right name but the wrong secret, and a genuinely signed reading
// whose value was changed after signing.
func (s *Sim) forge(d *Device) (string, uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.recent) == 0 {
		return "", 0, errors.New("no reading to imitate yet")
	}
	last, err := reading.Parse(d.recent[len(d.recent)-1].Note)
	if err != nil {
		return "", 0, err
	}
	seq, prev, now := d.chain.Seq()+1, d.chain.Prev(), time.Now()
	forger := sha256.Sum256(append([]byte("forger\x00"), s.store.Secret()...))
	skey, _, err := MeterKey(forger[:], d.ID)
	if err != nil {
		return "", 0, err
	}
	fake, err := NewChainFromKey(d.ID, d.Point.ID, skey, 0, reading.Hash{})
	if err != nil {
		return "", 0, err
	}
	wrongKey, err := fake.SignAt(seq, prev, now, last.Values)
	if err != nil {
		return "", 0, err
	}
	genuine, err := d.chain.SignAt(seq, prev, now, last.Values)
	if err != nil {
		return "", 0, err
	}
	altered, _, _, err := changeDigit(genuine)
	if err != nil {
		return "", 0, err
	}
	s.markInjected(d.ID, seq, "forged-signature")
	d.conn.Send(Outgoing{Seq: seq, Time: now, Note: wrongKey, Tag: "forged-signature"})
	d.conn.Send(Outgoing{Seq: seq, Time: now, Note: altered, Tag: "forged-signature"})
	return fmt.Sprintf("two readings with seq %d: one signed by a wrong key named %s, one with a digit changed after signing (expect: both rejected, bad signature)",
		seq, reading.KeyName(d.ID)), seq, nil
}

// tamper waits for a full entry bundle and edits one reading in it,
// preferring readings of the given meter.
func (s *Sim) tamper(ctx context.Context, meterID string) (TamperReport, error) {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		rep, err := TamperLedger(s.cfg.DataDir, func(m string) bool { return m == meterID })
		if !errors.Is(err, ErrNothingToTamper) {
			return rep, err
		}
		if time.Now().After(deadline) {
			return rep, fmt.Errorf("%w under %s after 3 min (the ledger fills a bundle every 256 entries)", err, s.cfg.DataDir)
		}
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}
