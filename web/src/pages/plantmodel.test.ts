import { describe, expect, it } from 'vitest';
import { arcPath, cyclesAcceptance, fmtDuration, gaugeAngle, gaugeScale, interlockParts, layoutTimeline, limitHeadroom, modeShares, parseRefusal, processClock, routeTone, routeTotals, toneOf, wallWindow } from './plantmodel';

describe('gauges', () => {
  it('colours the LSI of a treated cooling water', () => {
    const s = gaugeScale('lsi');
    expect(toneOf(s, 1.9)).toBe('good');
    expect(toneOf(s, 2.7)).toBe('bad');
    expect(toneOf(s, -0.8)).toBe('warn');
    expect(toneOf(s, 9)).toBe('bad'); // beyond the scale: the last band
    expect(toneOf(s, null)).toBe('none');
  });
  it('puts the cycles band around the set-point and the optimiser limit above it', () => {
    const s = gaugeScale('cycles', 5, 5.8);
    expect(toneOf(s, 5.15)).toBe('good');
    expect(toneOf(s, 5.3)).toBe('warn');
    expect(toneOf(s, 6)).toBe('bad');
    expect(s.max).toBeGreaterThan(5.8);
  });
  it('keeps the product within ±10 % as good', () => {
    const s = gaugeScale('product', 5);
    expect(toneOf(s, 5.4)).toBe('good');
    expect(toneOf(s, 5.6)).toBe('warn');
  });
  it('turns the needle from 180° at the minimum to 0° at the maximum, clamped', () => {
    const s = gaugeScale('si_gypsum');
    expect(gaugeAngle(s, -3)).toBe(180);
    expect(gaugeAngle(s, 1)).toBe(0);
    expect(gaugeAngle(s, -1)).toBe(90);
    expect(gaugeAngle(s, 50)).toBe(0);
    expect(gaugeAngle(s, null)).toBe(180);
  });
  it('draws arcs from the left end', () => {
    expect(arcPath(gaugeScale('si_gypsum'), -3, 1, 50, 50, 40)).toBe('M 10.00 50.00 A 40 40 0 0 1 90.00 50.00');
  });
});

describe('timeline', () => {
  const segs = [
    { mode: 'filtering', code: 0, from: '2026-03-01T00:00:00Z', to: '2026-03-01T01:00:00Z' },
    { mode: 'backwash', code: 1, from: '2026-03-01T01:00:00Z', to: '2026-03-01T01:06:00Z' },
    { mode: 'filtering', code: 0, from: '2026-03-01T01:06:00Z', to: '2026-03-01T03:00:00Z' },
  ];
  it('lays segments out in percent of the window, clipping the edges', () => {
    const bars = layoutTimeline(segs, '2026-03-01T00:30:00Z', '2026-03-01T02:30:00Z');
    expect(bars.map((b) => [b.mode, b.left, b.width])).toEqual([
      ['filtering', 0, 25],
      ['backwash', 25, 5],
      ['filtering', 30, 70],
    ]);
    expect(modeShares(bars)).toEqual({ filtering: 0.95, backwash: 0.05 });
  });
  it('returns nothing for an empty or inverted window', () => {
    expect(layoutTimeline(segs, '2026-03-01T02:00:00Z', '2026-03-01T02:00:00Z')).toEqual([]);
  });
});

describe('interlocks and actuators', () => {
  it('reads interlock codes', () => {
    expect(interlockParts('stale:fluor_ppb')).toEqual({ kind: 'stale', subject: 'fluor_ppb' });
    expect(interlockParts('max')).toEqual({ kind: 'max' });
  });
  it('measures how much of its range an actuator uses', () => {
    expect(limitHeadroom({ min: 0, max: 0.3, value: 0.15 })).toBeCloseTo(0.5);
    expect(limitHeadroom({ min: 0, max: 0, value: 1 })).toBe(0);
    expect(limitHeadroom({ min: 0, max: 1, value: 7 })).toBe(1);
  });
  it('formats process steps', () => {
    expect(fmtDuration(36)).toBe('36 s');
    expect(fmtDuration(240)).toBe('4 min');
    expect(fmtDuration(5400)).toBe('90 min');
    expect(fmtDuration(9000)).toBe('2.5 h');
  });
});

describe('process time', () => {
  it('maps wall-clock times of a simulated plant to its process time', () => {
    const clock = processClock({ time: '2026-03-01T08:00:00Z', process_time: '2026-03-05T00:00:00Z', time_scale: 240 });
    expect(new Date(clock('2026-03-01T08:00:00Z')).toISOString()).toBe('2026-03-05T00:00:00.000Z');
    expect(new Date(clock('2026-03-01T08:01:00Z')).toISOString()).toBe('2026-03-05T04:00:00.000Z');
    expect(new Date(clock('2026-03-01T07:59:00Z')).toISOString()).toBe('2026-03-04T20:00:00.000Z');
    expect(processClock(null)('2026-03-01T08:00:00Z')).toBe(Date.parse('2026-03-01T08:00:00Z'));
  });
  it('shows a week of a plant 240× faster in 42 minutes', () => {
    expect(wallWindow(7 * 86400, 240)).toBe(42 * 60 * 1000);
    expect(wallWindow(3600, 1)).toBe(3600 * 1000);
  });
});

describe('reuse routing', () => {
  it('reads the reasons reuse.Route gives', () => {
    expect(parseRefusal('ro_permeate: conductivity_us_cm 80 out of range')).toEqual({
      stream: 'ro_permeate',
      parameter: 'conductivity_us_cm',
      kind: 'range',
      value: 80,
      text: 'ro_permeate: conductivity_us_cm 80 out of range',
    });
    expect(parseRefusal('ro_permeate: ph not measured')).toMatchObject({ stream: 'ro_permeate', parameter: 'ph', kind: 'missing' });
    expect(parseRefusal('ro_permeate: tds_mgl 1.5e+03 out of range')).toMatchObject({ kind: 'range', value: 1500 });
    expect(parseRefusal('something else')).toMatchObject({ kind: 'other', text: 'something else' });
  });
  it('colours the statuses and sums the uses', () => {
    expect(routeTone('served')).toBe('good');
    expect(routeTone('partial')).toBe('warn');
    expect(routeTone('quality')).toBe('bad');
    const use = (name: string, demand: number, served: number, status: 'served' | 'partial' | 'no_flow' | 'quality') =>
      ({ name, class: 'washing', priority: 1, demand_m3h: demand, served_m3h: served, unmet_m3h: demand - served, status, since_s: 0 });
    expect(routeTotals({ streams: [], uses: [use('a', 12, 12, 'served'), use('b', 10, 0, 'quality'), use('c', 8, 3, 'partial')] })).toEqual({ demand: 30, served: 15, cut: 1 });
    expect(routeTotals(undefined)).toEqual({ demand: 0, served: 0, cut: 0 });
  });
});

describe('accepting the cycles optimiser limit', () => {
  const bound = { min: 2, max: 8, max_step: 1 };
  it('moves the set-point at most max_step towards the limit', () => {
    expect(cyclesAcceptance(7.3, 5, bound)).toMatchObject({ value: 6, stepLimited: true });
    expect(cyclesAcceptance(4.6, 5, bound)).toMatchObject({ value: 4.6, stepLimited: false });
    expect(cyclesAcceptance(3.2, 5, bound)).toMatchObject({ value: 4, stepLimited: true });
    expect(cyclesAcceptance(5.6, 5, { min: 2, max: 8 })).toMatchObject({ value: 5.6, stepLimited: false });
  });
  it('says why it would be refused', () => {
    expect(cyclesAcceptance(null, 5, bound).blocked).toBe('no_limit');
    expect(cyclesAcceptance(8.4, 5, bound).blocked).toBe('out_of_bounds');
    expect(cyclesAcceptance(6, 5, bound, 'locked').blocked).toBe('locked');
    expect(cyclesAcceptance(5.001, 5, bound).blocked).toBe('same');
    expect(cyclesAcceptance(6, 5, bound, 'manual').blocked).toBeUndefined();
  });
});
