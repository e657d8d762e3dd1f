import { describe, expect, it } from 'vitest';
import type { PeriodBalance } from '../app/api';
import { basisOf, figureCoverage, indicatorRows, periodDays, periodFrom, positionIn, presets, previousDay, yearOf } from './efficiencymodel';

// A period balance in the shape of RESULT.json (balance.Report.MarshalJSON) plus coverage.
const balance: PeriodBalance = {
  intake_m3: 1200,
  reuse_m3: 3000,
  reuse_rate: 0.714,
  discharge_m3: null,
  intake_per_10k_cny: 8.5,
  intake_by_source_m3: { surface: 1000, municipal: 200 },
  coverage: {
    intake_m3: { points: ['in1', 'in2'] },
    discharge_m3: { points: ['d1'], missing: ['d2'], note: 'discharge: no volume for d2' },
    reuse_rate: { points: ['in1', 'in2', 'r1'], fraction: 0.97 },
    'intake_by_source_m3.surface': { points: ['in1'] },
  },
  basis: { intake_m3: 'metered', intake_per_10k_cny: 'declared' },
  point_coverage: { in1: 1, in2: 0.5, d1: 1 },
  products: {},
};

describe('indicators of a period balance', () => {
  it('keeps GB/T 12452 order, then intake by source; absent figures stay with their note', () => {
    const rows = indicatorRows(balance);
    expect(rows.map((r) => r.key)).toEqual(['intake_m3', 'reuse_m3', 'discharge_m3', 'reuse_rate', 'intake_per_10k_cny', 'intake_by_source_m3.municipal', 'intake_by_source_m3.surface']);
    const d = rows.find((r) => r.key === 'discharge_m3')!;
    expect(d.value).toBeNull();
    expect(d.missing).toEqual(['d2']);
    expect(d.note).toMatch(/d2/);
    // The figure's share of the period is its least covered point's.
    expect(rows[0]).toMatchObject({ value: 1200, points: 2, basis: 'metered', kind: 'm3', fraction: 0.5 });
    expect(rows.find((r) => r.key === 'reuse_rate')).toMatchObject({ kind: 'rate', fraction: 0.97, points: 3, basis: '' });
    expect(rows.find((r) => r.key === 'intake_per_10k_cny')).toMatchObject({ kind: 'per10k', basis: 'declared' });
    expect(rows.find((r) => r.key === 'intake_by_source_m3.surface')).toMatchObject({ value: 1000, points: 1 });
  });
  it('a basis for the whole result applies to every figure', () => {
    expect(basisOf({ basis: 'metered' }, 'reuse_rate')).toBe('metered');
    expect(basisOf({}, 'reuse_rate')).toBe('');
  });
});

describe('periods (both days included, as the API takes them)', () => {
  it('calendar steps and lengths', () => {
    expect(previousDay('2026-03-01')).toBe('2026-02-28');
    expect(previousDay('2025-01-01')).toBe('2024-12-31');
    expect(periodDays({ from: '2026-12-06', to: '2026-12-06' })).toBe(1);
    expect(periodDays({ from: '2024-01-01', to: '2024-12-31' })).toBe(366);
  });
  it('presets', () => {
    expect(presets('2026-12-06')).toEqual({
      yesterday: { from: '2026-12-05', to: '2026-12-05' },
      month: { from: '2026-12-01', to: '2026-12-06' },
      lastMonth: { from: '2026-11-01', to: '2026-11-30' },
      year: { from: '2026-01-01', to: '2026-12-06' },
      lastYear: { from: '2025-01-01', to: '2025-12-31' },
    });
    expect(presets('2026-01-01').lastMonth).toEqual({ from: '2025-12-01', to: '2025-12-31' });
    expect(presets('2026-01-01').yesterday).toEqual({ from: '2025-12-31', to: '2025-12-31' });
  });
  it('reads from/to, falling back to this year on a bad or too long range', () => {
    expect(periodFrom(new URLSearchParams('from=2025-01-01&to=2025-12-31'), '2026-12-06')).toEqual({ from: '2025-01-01', to: '2025-12-31' });
    expect(periodFrom(new URLSearchParams('from=2026-12-06&to=2026-12-06'), '2026-12-06')).toEqual({ from: '2026-12-06', to: '2026-12-06' });
    expect(periodFrom(new URLSearchParams('from=2026-02-01&to=2026-01-01'), '2026-12-06')).toEqual({ from: '2026-01-01', to: '2026-12-06' });
    expect(periodFrom(new URLSearchParams('from=2024-01-01&to=2025-01-01'), '2026-12-06')).toEqual({ from: '2026-01-01', to: '2026-12-06' });
    expect(periodFrom(new URLSearchParams('from=yesterday'), '2026-12-06')).toEqual({ from: '2026-01-01', to: '2026-12-06' });
    // Exact times: the window a case was judged over.
    expect(periodFrom(new URLSearchParams('from=2026-12-06T10:00:00%2B08:00&to=2026-12-06T10:07:00%2B08:00'), '2026-12-06')).toEqual({
      from: '2026-12-06T10:00:00+08:00',
      to: '2026-12-06T10:07:00+08:00',
      exact: true,
    });
    expect(periodFrom(new URLSearchParams('from=2026-12-06T10:00:00Z&to=2026-12-06T09:00:00Z'), '2026-12-06').exact).toBeUndefined();
    expect(periodFrom(new URLSearchParams('from=2026-12-06T10:00&to=2026-12-07'), '2026-12-06').exact).toBeUndefined();
    expect(periodFrom(new URLSearchParams(''), '2026-12-06', { from: '2026-12-05', to: '2026-12-05' })).toEqual({ from: '2026-12-05', to: '2026-12-05' });
    expect(yearOf({ from: '2025-12-31T23:00:00+08:00', to: '2026-01-01T00:00:00+08:00', exact: true })).toBe(2025);
    expect(yearOf({ from: '2025-01-01', to: '2025-12-31' })).toBe(2025);
    expect(yearOf({ from: '2026-12-01', to: '2026-12-06' })).toBe(2026);
  });
  it('a figure covers the least of its points', () => {
    expect(figureCoverage(['a', 'b'], { a: 1, b: 0.75, c: 0 })).toBe(0.75);
    expect(figureCoverage(['x'], { a: 1 })).toBeNull();
    expect(figureCoverage([], { a: 1 })).toBeNull();
    expect(figureCoverage(['a'], null)).toBeNull();
  });
});

describe('industry ranking', () => {
  const entries = [
    { enterprise: 'a', value: 2.9, rank: 1, percentile: 100, leader_candidate: true },
    { enterprise: 'b', value: 3.4, rank: 2, percentile: 50 },
    { enterprise: 'c', value: 4.1 },
  ];
  it('finds the enterprise in an array or under a key', () => {
    expect(positionIn(entries, 'a')).toEqual({ rank: 1, of: 3, percentile: 100, value: 2.9, leader: true });
    expect(positionIn({ entries }, 'b')).toEqual({ rank: 2, of: 3, percentile: 50, value: 3.4, leader: false });
    expect(positionIn({ ranked: entries }, 'c')).toEqual({ rank: 3, of: 3, percentile: null, value: 4.1, leader: false });
    expect(positionIn(entries, 'z')).toBeNull();
    expect(positionIn('nope', 'a')).toBeNull();
  });
});
