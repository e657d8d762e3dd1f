import { describe, expect, it } from 'vitest';
import { carbonStages, fmtShare, headroom, levelCounts, monthBars, permitRows, ratio, shareTone, sortRows, tierLabel, tonnes, type PlanRow, type Status } from './planmodel';

const TH = [0.8, 1.0];

const row = (enterprise: string, level: string, month: number | 'inf', toDate = 0.5, permit = 0): PlanRow => ({
  enterprise,
  level,
  month_share: month,
  share_to_date: toDate,
  permit_share: permit,
  plan_annual_m3: 1,
  plan_to_date_m3: 1,
  intake_to_date_m3: 1,
  over_plan_m3: 0,
});

const status: Status = {
  enterprise: 'E1',
  year: 2026,
  through_month: 3,
  plan_annual_m3: 12000,
  plan_to_date_m3: 3000,
  intake_to_date_m3: 3400,
  share_to_date: 3400 / 3000,
  share_annual: 3400 / 12000,
  months: [
    { month: 1, plan_m3: 1000, intake_m3: 800, share: 0.8, over_m3: 0, coverage: 1 },
    { month: 2, plan_m3: 1000, intake_m3: 1500, share: 1.5, over_m3: 500, coverage: 1 },
    { month: 3, plan_m3: 0, intake_m3: 1100, share: 'inf', over_m3: 1100, coverage: 0.9 },
  ],
  over_plan_m3: 1600,
  tiers: [
    { from: 0, up_to: 0.2, surcharge: 0.5, m3: 200 },
    { from: 0.2, up_to: 'inf', surcharge: 2, m3: 1400 },
  ],
  schedule: 'national-guidance-2017',
  permits: [{ permit: { id: 'P1', enterprise: 'E1', source: 'ground', annual_m3: 4000, valid_from: '2025-02-01T00:00:00+08:00', valid_to: '2030-01-01T00:00:00+08:00' }, intake_m3: 3400, share: 0.85 }],
  incomplete_months: [3],
};

describe('shares', () => {
  it('reads "inf" and absent values', () => {
    expect(ratio('inf')).toBe(Infinity);
    expect(ratio(null)).toBeNaN();
    expect(fmtShare(0.8)).toBe('80 %');
    expect(fmtShare('inf')).toBe('∞');
    expect(fmtShare(undefined)).toBe('—');
  });
  it('tones at the thresholds', () => {
    expect(shareTone(0.79, TH)).toBe('ok');
    expect(shareTone(0.8, TH)).toBe('warn');
    expect(shareTone(1.0, TH)).toBe('bad');
    expect(shareTone('inf', TH)).toBe('bad');
    expect(shareTone(0.85, [0.9])).toBe('ok');
  });
});

describe('overview rows', () => {
  it('puts over first, then near, by highest share', () => {
    const rows = [row('A', 'ok', 0.1), row('B', 'near', 0.85), row('C', 'over', 1.2), row('D', 'over', 'inf'), row('E', 'near', 0.1, 0.1, 0.95)];
    expect(sortRows(rows).map((r) => r.enterprise)).toEqual(['D', 'C', 'E', 'B', 'A']);
    expect(levelCounts(rows)).toEqual({ over: 2, near: 2, ok: 1 });
  });
});

describe('enterprise', () => {
  it('lays months over the year with the plan of months not reported', () => {
    const plan = Array.from({ length: 12 }, () => 1000);
    const b = monthBars(status, plan, TH);
    expect(b.labels).toHaveLength(12);
    expect(b.intake.slice(0, 4)).toEqual([800, 1500, 1100, null]);
    expect(b.plan.slice(1, 4)).toEqual([1000, 0, 1000]);
    expect(b.tone.slice(0, 4)).toEqual(['warn', 'bad', 'bad', 'none']);
  });
  it('joins permits held with their use', () => {
    const held = [status.permits![0].permit, { id: 'P0', enterprise: 'E1', source: 'surface', annual_m3: 10, valid_from: '2020-01-01T00:00:00+08:00', valid_to: '2024-01-01T00:00:00+08:00' }];
    const rows = permitRows(held, status, TH);
    expect(rows[0]).toMatchObject({ id: 'P1', used: 3400, tone: 'warn', inYear: true, validFrom: '2025-02-01' });
    expect(rows[1]).toMatchObject({ id: 'P0', used: null, inYear: false, tone: 'ok' });
  });
  it('labels tiers by the over-plan shares they span', () => {
    expect(tierLabel(0, 0.2)).toBe('0–20 %');
    expect(tierLabel(0.2, 'inf')).toBe('> 20 %');
  });
});

describe('park headroom', () => {
  it('keeps products with an intake per unit and says when the allocation is exceeded', () => {
    const h = headroom({ park: 'P', enterprises: 2, allocation_m3: 100, plan_to_date_m3: 50, intake_to_date_m3: 120, remaining_m3: -20, share: 1.2, enterprises_over: 1, enterprises_near: 0,
      products: [{ product: '粗钢', output_to_date: 10, intake_per_unit_m3: 3, allowed: 0 }, { product: '啤酒', output_to_date: 0, intake_per_unit_m3: 0, allowed: 0 }] });
    expect(h.exceeded).toBe(true);
    expect(h.products.map((p) => p.product)).toEqual(['粗钢']);
  });
});

describe('carbon', () => {
  it('orders stages by CO₂ with their part, leaving out stages without electricity', () => {
    const s = carbonStages([
      { stage: 'pumping', water_m3: 1000, kwh: 290, kg_co2: 156.455, basis: 'factor' },
      { stage: 'supply_treatment', water_m3: 1000, kwh: 0, kg_co2: 0, basis: 'none' },
      { stage: 'wastewater_treatment', water_m3: 600, kwh: 162, kg_co2: 87.399, basis: 'factor' },
    ]);
    expect(s.map((x) => x.stage)).toEqual(['pumping', 'wastewater_treatment']);
    expect(s[0].part).toBeCloseTo(156.455 / 243.854, 9);
  });
  it('prints tonnes', () => {
    expect(tonnes(222274)).toBe('222');
    expect(tonnes(2222.74)).toBe('2.2');
    expect(tonnes(24.3854)).toBe('0.024');
    expect(tonnes(null)).toBe('—');
  });
});
