import { describe, expect, it } from 'vitest';
import { dayText, fitSeries, fitWithin, issuable, periodRows, savingsShare, savingsText, spanText, totals, verifiable, type Contract, type Statement, type StatementRecord } from './mvmodel';

const st = (over: Partial<Statement> = {}): Statement => ({
  id: 'mvs-1',
  contract: 'C-1',
  enterprise: 'E',
  from: '2024-12-31T16:00:00Z',
  to: '2025-03-31T16:00:00Z',
  adjusted_baseline_m3: 7350,
  reporting_m3: 6615,
  savings_m3: 735,
  uncertainty_m3: 12.25,
  meets_guideline14: true,
  checkpoint_size: 42,
  checkpoint_root: 'ab',
  digest: 'cd',
  ...over,
});

describe('statement figures', () => {
  it('is verifiable and issues floor(savings − uncertainty)', () => {
    expect(verifiable(st())).toBe(true);
    expect(issuable(st())).toBe(722);
  });
  it('is not verifiable outside Guideline 14 or within its uncertainty', () => {
    expect(issuable(st({ meets_guideline14: false }))).toBe(0);
    expect(verifiable(st({ savings_m3: 10, uncertainty_m3: 12 }))).toBe(false);
    expect(issuable(st({ savings_m3: -5 }))).toBe(0);
  });
  it('writes savings ± uncertainty and the share of the baseline', () => {
    expect(savingsText(st(), (v, d) => v.toFixed(d))).toBe('735.0 ± 12.3 m³');
    expect(savingsShare(st())).toBeCloseTo(0.1, 12);
    expect(savingsShare(st({ adjusted_baseline_m3: 0 }))).toBeNull();
  });
  it('totals the statements', () => {
    expect(totals([st(), st({ savings_m3: 10, uncertainty_m3: 20 })])).toEqual({ savings: 745, issuable: 722, verifiable: 1 });
  });
});

describe('fit chart', () => {
  const rec: StatementRecord = {
    statement: st(),
    model: { intercept: 2000, production: 3 },
    cv_rmse: 0.2,
    nmbe: -0.01,
    r2: 0.9,
    limit_cv_rmse: 0.15,
    limit_nmbe: 0.05,
    baseline: [
      { label: '2024-01', from: '', to: '', intake_m3: 2310, model_m3: 2300, coverage: 1, drivers: {} },
      { label: '2024-02', from: '', to: '', intake_m3: 2350, model_m3: 2360, coverage: 1, drivers: {} },
    ],
    reporting: [{ label: '2025-01', from: '', to: '', intake_m3: 2205, model_m3: 2450, coverage: 1, drivers: {}, adjustment_m3: 20 }],
  };
  it('lays baseline and reporting on one axis, the adjustment in the modelled line', () => {
    const s = fitSeries(rec);
    expect(s.labels).toEqual(['2024-01', '2024-02', '2025-01']);
    expect(s.metered).toEqual([2310, 2350, null]);
    expect(s.modelled).toEqual([2300, 2360, 2470]);
    expect(s.reporting).toEqual([null, null, 2205]);
    expect(s.split).toBe(2);
  });
  it('adds the other statements\' reporting periods once, in time order', () => {
    const first = { ...rec, reporting: [{ label: '2024-12', from: '', to: '', intake_m3: 2000, model_m3: 2400, coverage: 1, drivers: {} }] };
    const s = fitSeries(rec, [first, rec]);
    expect(s.labels).toEqual(['2024-01', '2024-02', '2024-12', '2025-01']);
    expect(s.reporting).toEqual([null, null, 2000, 2205]);
    expect(s.split).toBe(2);
  });
  it('judges each statistic against its limit', () => {
    expect(fitWithin(rec)).toEqual({ cv: false, nmbe: true });
  });
});

describe('periods', () => {
  const c = {
    reporting: [
      { from: '2024-12-31T16:00:00Z', to: '2025-03-31T16:00:00Z' },
      { from: '2025-03-31T16:00:00Z', to: '2025-06-30T16:00:00Z' },
    ],
  } as Contract;
  it('pairs each reporting period with its statement and says whether it is over', () => {
    const rows = periodRows(c, [st()], new Date('2025-05-01T00:00:00Z'));
    expect(rows.map((r) => [r.n, r.statement?.id, r.over])).toEqual([
      [1, 'mvs-1', true],
      [2, undefined, false],
    ]);
  });
  it('shows Beijing dates, a period by its last day', () => {
    expect(dayText('2024-12-31T16:00:00Z')).toBe('2025-01-01');
    expect(spanText(c.reporting[0])).toBe('2025-01-01 — 2025-03-31');
    expect(dayText('nonsense')).toBe('—');
  });
});
