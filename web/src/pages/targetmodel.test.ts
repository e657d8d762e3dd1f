import { describe, expect, it, vi } from 'vitest';
import { setLang } from '../app/i18n';
import type { Park, Region, Targets } from '../app/api';
import { chartValue, childHref, contributorHref, coverageView, displayUnit, fmtIndicator, hasTrajectory, hasYearData, latestYearWithData, levelBelow, targetTrail, trajectorySeries, worstFor } from './targetmodel';

// A /targets answer in the contract's shape (notes/contract14.md, item F).
const province: Targets = {
  level: 'province',
  code: '430000',
  name: '湖南省',
  year: 2026,
  indicators: [
    { key: 'intake_per_10k_cny', name_zh: '万元工业增加值用水量', name_en: 'Water per 10k CNY', unit: 'm3/10k CNY', baseline_2020: 50, value: 43.1, target_2025: 42, expected: 42, on_track: false, basis: 'declared', coverage: 0.82 },
    { key: 'reuse_rate', name_zh: '重复利用率', unit: 'fraction', baseline_2020: 0.9, value: 0.93, target_2025: 0.94, expected: 0.94, on_track: false, basis: 'metered', coverage: { enterprises: 50, with_data: 40, fraction: 0.8 } },
  ],
  children: [{ level: 'city', code: '430100', name: '长沙市', indicators: [] }],
  worst: [
    { kind: 'enterprise', id: 'e1', name: 'A', key: 'reuse_rate', value: 0.5, contribution: 0.01 },
    { kind: 'park', id: 'p1', name: 'P', key: 'intake_per_10k_cny', value: 80, contribution: 2.5 },
    { kind: 'enterprise', id: 'e2', name: 'B', key: 'intake_per_10k_cny', value: 90, contribution: -3 },
  ],
  trajectory: [
    { year: 2021, key: 'intake_per_10k_cny', value: 49, expected: 48.4 },
    { year: 2022, key: 'intake_per_10k_cny', value: 47, expected: 46.8 },
    { year: 2024, key: 'intake_per_10k_cny', value: 45, expected: 43.6 },
    { year: 2026, key: 'intake_per_10k_cny', value: 43.1, expected: 42 },
    { year: 2022, key: 'reuse_rate', value: 0.91 },
  ],
};

describe('indicator formats', () => {
  it.each([
    [fmtIndicator(43.123, 'm3/10k CNY'), '43.12 m³/万元'],
    [fmtIndicator(0.9312, 'fraction'), '93.1%'],
    [fmtIndicator(0.1, ''), '10%'],
    [fmtIndicator(3.15, 'm3/t'), '3.15 m³/t'],
    [fmtIndicator(1.44, 'm3/100m'), '1.44 m³/百米'],
    [fmtIndicator(1234.56, 'm3'), '1,234.6 m³'],
    [fmtIndicator(null, 'm3/t'), '—'],
    [fmtIndicator(Number.NaN, 'fraction'), '—'],
  ])('%s', (got, want) => expect(got).toBe(want));
  it('units', () => {
    expect(displayUnit('m3/t')).toBe('m³/t');
    expect(displayUnit('m3/10k CNY')).toBe('m³/万元');
    expect(displayUnit('m3/100m')).toBe('m³/百米');
    vi.stubGlobal('document', { documentElement: {} });
    try {
      setLang('en');
      expect(displayUnit('m3/10k CNY')).toBe('m³/10⁴ CNY');
      expect(displayUnit('m3/100m')).toBe('m³/100 m');
    } finally {
      setLang('zh');
      vi.unstubAllGlobals();
    }
    expect(displayUnit('fraction')).toBe('');
    expect(chartValue(0.9312, 'fraction')).toBe(93.12);
    expect(chartValue(43.1, 'm3/10k CNY')).toBe(43.1);
    expect(chartValue(undefined, 'm3/t')).toBeNull();
  });
});

describe('trajectory series', () => {
  it('lays yearly points on 2020…max(2025, year) and keeps gaps as null', () => {
    const s = trajectorySeries(province, province.indicators[0]);
    expect(s.years).toEqual([2020, 2021, 2022, 2023, 2024, 2025, 2026]);
    // 2020 is the baseline; 2023 and 2025 have no figure and stay empty, never zero.
    expect(s.actual).toEqual([50, 49, 47, null, 45, null, 43.1]);
    // The straight path is the server's; its ends are the baseline and the target.
    expect(s.expected).toEqual([50, 48.4, 46.8, null, 43.6, 42, 42]);
    expect(hasTrajectory(s)).toBe(true);
  });
  it('an indicator with only baseline and target still draws its path', () => {
    const s = trajectorySeries({ year: 2024, trajectory: [] }, { key: 'x', baseline_2020: 10, target_2025: 8 });
    expect(s.years).toEqual([2020, 2021, 2022, 2023, 2024, 2025]);
    expect(s.actual).toEqual([10, null, null, null, null, null]);
    expect(s.expected).toEqual([10, null, null, null, null, 8]);
  });
  it('nothing to draw', () => {
    const s = trajectorySeries({ year: 2024, trajectory: null }, { key: 'x', baseline_2020: null, target_2025: 8 });
    expect(hasTrajectory(s)).toBe(false);
  });
  it('takes only its own key', () => {
    const s = trajectorySeries(province, province.indicators[1]);
    expect(s.actual).toEqual([0.9, null, 0.91, null, null, null, null]);
  });
});

describe('drill-down', () => {
  it('levels lead one down, enterprises to their indicators for the year', () => {
    expect(levelBelow('province')).toBe('city');
    expect(levelBelow('city')).toBe('park');
    expect(levelBelow('park')).toBe('enterprise');
    expect(levelBelow('industry')).toBe('enterprise');
    expect(childHref({ level: 'city', code: '430100' }, 2026)).toBe('/targets?level=city&code=430100&year=2026');
    expect(childHref({ level: 'park', code: 'hn/park 1' }, 2025)).toBe('/targets?level=park&code=hn%2Fpark%201&year=2025');
    expect(childHref({ level: 'industry', code: 'C31' }, 2025)).toBe('/targets?level=industry&code=C31&year=2025');
    expect(childHref({ level: 'enterprise', code: 'E-1' }, 2024)).toBe('/enterprises/E-1/efficiency?from=2024-01-01&to=2024-12-31');
    expect(contributorHref({ kind: 'park', id: 'p1' }, 2026)).toBe('/targets?level=park&code=p1&year=2026');
    expect(contributorHref({ kind: 'enterprise', id: 'e1' }, 2026)).toBe('/enterprises/e1/efficiency?from=2026-01-01&to=2026-12-31');
  });

  const regions = new Map<string, Region>([
    ['430000', { code: '430000', name: '湖南省', name_en: 'Hunan' }],
    ['430100', { code: '430100', name: '长沙市', name_en: 'Changsha', parent: '430000' }],
  ]);
  const parks = new Map<string, Park>([['P1', { id: 'P1', name: '望城经开区', region: '430100' }]]);
  const zh = (a?: string, b?: string) => a || b || '';
  it('breadcrumbs: province → city → park', () => {
    expect(targetTrail({ level: 'park', code: 'P1', name: '望城经开区', year: 2026 }, regions, parks, zh, '按行业')).toEqual([
      { label: '湖南省', href: '/targets?level=province&code=430000&year=2026' },
      { label: '长沙市', href: '/targets?level=city&code=430100&year=2026' },
      { label: '望城经开区' },
    ]);
    expect(targetTrail({ level: 'city', code: '430100', name: '长沙市', year: 2026 }, regions, parks, zh, '按行业').map((c) => c.label)).toEqual(['湖南省', '长沙市']);
    expect(targetTrail({ level: 'province', code: '430000', name: '湖南省', year: 2026 }, regions, parks, zh, '按行业')).toEqual([{ label: '湖南省' }]);
  });
  it('breadcrumbs: province → industries → one industry', () => {
    const trail = targetTrail({ level: 'industry', code: 'C31', name: '黑色金属冶炼', year: 2026 }, regions, parks, zh, '按行业');
    expect(trail.map((c) => c.label)).toEqual(['湖南省', '按行业', '黑色金属冶炼']);
    expect(trail[1].href).toBe('/targets?level=industry&year=2026');
  });
  it('a cycle in the regions does not hang', () => {
    const loop = new Map<string, Region>([
      ['1', { code: '1', name: 'a', parent: '2' }],
      ['2', { code: '2', name: 'b', parent: '1' }],
    ]);
    expect(targetTrail({ level: 'city', code: '1', name: 'a', year: 2026 }, loop, undefined, zh, '').length).toBe(3);
  });
});

describe('worst contributors and coverage', () => {
  it('largest pull first, by key', () => {
    expect(worstFor(province.worst).map((w) => w.id)).toEqual(['e2', 'p1', 'e1']);
    expect(worstFor(province.worst, 'reuse_rate').map((w) => w.id)).toEqual(['e1']);
    expect(worstFor(null)).toEqual([]);
  });
  it.each([
    [0.82, '82%', 0.82, 'warn'],
    [1, '100%', 1, 'good'],
    [0.3, '30%', 0.3, 'bad'],
    [{ fraction: 0.999 }, '99.9%', 0.999, 'good'],
    [{ enterprises: 50, with_data: 40, fraction: 0.8 }, '40/50', 0.8, 'warn'],
    [{ enterprises: 0, with_data: 0, fraction: 0 }, '—', null, undefined],
    [{ points: ['a', 'b'], missing: ['c'] }, '2/3', 2 / 3, 'bad'],
    [{ points: ['a'] }, '1/1', 1, 'good'],
    [null, '—', null, undefined],
    ['x', '—', null, undefined],
  ])('%j → %s', (c, text, fraction, tone) => {
    const v = coverageView(c);
    expect(v.text).toBe(text);
    expect(v.fraction).toBe(fraction);
    expect(v.tone).toBe(tone);
  });
});

describe('the year the targets page opens on', () => {
  it('keeps a year with data', () => {
    expect(hasYearData(province)).toBe(true);
  });
  it('finds the latest year with a value when the current one has none', () => {
    const empty = { indicators: [{ key: 'reuse_rate', unit: 'fraction', value: null }], trajectory: province.trajectory };
    expect(hasYearData(empty as unknown as Targets)).toBe(false);
    expect(latestYearWithData(province, 2026)).toBe(2026);
    expect(latestYearWithData(province, 2025)).toBe(2024);
    expect(latestYearWithData({ trajectory: [{ year: 2023, key: 'x', value: null }] } as unknown as Targets, 2026)).toBeUndefined();
  });
});
