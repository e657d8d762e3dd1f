// The province target dashboard's view model, free of the DOM so that unit
// tests can check it: how an indicator's figure is written, the trajectory
// series of a chart (actual against the straight 2020 → 2025 path the server
// computes), where a row of the roll-up leads, and the breadcrumb trail.

import type { Contributor, Park, Region, TargetChild, TargetIndicator, Targets, TrajectoryPoint } from '../app/api';
import { fmtNum, fmtPct, prettyUnit } from '../app/format';
import { getLang } from '../app/i18n';

/** BASELINE_YEAR and TARGET_YEAR bound the plan's straight trajectory. */
export const BASELINE_YEAR = 2020;
export const TARGET_YEAR = 2025;

/** isRate reports whether an indicator's unit marks a fraction shown as a percentage. */
export function isRate(unit: string | undefined): boolean {
  return unit === undefined || ['', '1', '%', 'fraction', 'ratio', 'rate'].includes(unit);
}

/** displayUnit writes an indicator unit the way people read it: m³/万元, m³/百米 in Chinese; m³/10⁴ CNY, m³/100 m in English. */
export function displayUnit(unit: string | undefined): string {
  if (!unit || isRate(unit)) return '';
  const zh = getLang() === 'zh';
  return prettyUnit(unit)
    .replace(/^m3\//, 'm³/')
    .replace(/10k ?CNY|1e4 ?CNY|10\^4 ?CNY/i, zh ? '万元' : '10⁴ CNY')
    .replace(/\/100m$/, zh ? '/百米' : '/100 m');
}

/** fmtIndicator formats an indicator's value with its unit; rates are fractions shown as %. */
export function fmtIndicator(v: number | null | undefined, unit: string | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (isRate(unit)) return fmtPct(v, 1);
  const a = Math.abs(v);
  const n = fmtNum(v, a >= 100 ? 1 : a >= 1 ? 2 : 3);
  const u = displayUnit(unit);
  return u ? `${n} ${u}` : n;
}

/** chartValue is the number plotted for a value: rates in %, others as they are. */
export function chartValue(v: number | null | undefined, unit: string | undefined): number | null {
  if (v === null || v === undefined || !Number.isFinite(v)) return null;
  return isRate(unit) ? +(v * 100).toFixed(3) : v;
}

/** TrajectorySeries is what a trajectory chart plots for one indicator. */
export interface TrajectorySeries {
  key: string;
  years: number[];
  /** measured or declared figure per year; null where the year has none */
  actual: (number | null)[];
  /** the straight 2020 → 2025 path as the server computed it; null where it gave none */
  expected: (number | null)[];
}

/**
 * trajectorySeries lays an indicator's yearly points on the years 2020 to
 * 2025 (or later, when the data go further). The 2020 baseline and 2025
 * target of the indicator are the path's ends when the server's trajectory
 * leaves them out; nothing between them is invented here.
 */
export function trajectorySeries(tg: Pick<Targets, 'trajectory' | 'year'>, ind: TargetIndicator): TrajectorySeries {
  const pts = (tg.trajectory ?? []).filter((p: TrajectoryPoint) => p.key === ind.key && Number.isInteger(p.year));
  const last = Math.max(TARGET_YEAR, tg.year || 0, ...pts.map((p) => p.year));
  const first = Math.min(BASELINE_YEAR, ...pts.map((p) => p.year));
  const years: number[] = [];
  for (let y = first; y <= last; y++) years.push(y);
  const at = new Map(pts.map((p) => [p.year, p]));
  const num = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? null : v);
  const actual = years.map((y) => num(at.get(y)?.value) ?? (y === BASELINE_YEAR ? num(ind.baseline_2020) : null));
  const expected = years.map((y) => {
    const e = num(at.get(y)?.expected);
    if (e !== null) return e;
    if (y === BASELINE_YEAR) return num(ind.baseline_2020);
    if (y === TARGET_YEAR) return num(ind.target_2025);
    return null;
  });
  return { key: ind.key, years, actual, expected };
}

/** hasTrajectory reports whether a chart of the indicator would show anything. */
export function hasTrajectory(s: TrajectorySeries): boolean {
  return s.actual.some((v) => v !== null) || s.expected.filter((v) => v !== null).length >= 2;
}

/** levelBelow is the level of the rows under a level of the roll-up. */
export function levelBelow(level: string): string {
  switch (level) {
    case 'province':
      return 'city';
    case 'city':
      return 'park';
    default:
      return 'enterprise';
  }
}

/** yearPeriod is the first and last day of a calendar year (both included, as the API takes them). */
export function yearPeriod(year: number): { from: string; to: string } {
  return { from: `${year}-01-01`, to: `${year}-12-31` };
}

/** childHref is where a row of the roll-up leads: one level down, or the enterprise's indicators. */
export function childHref(c: Pick<TargetChild, 'level' | 'code'>, year: number): string {
  if (c.level === 'enterprise') {
    const p = yearPeriod(year);
    return `/enterprises/${encodeURIComponent(c.code)}/efficiency?from=${p.from}&to=${p.to}`;
  }
  return `/targets?level=${encodeURIComponent(c.level)}&code=${encodeURIComponent(c.code)}&year=${year}`;
}

/** contributorHref is where a worst contributor leads. */
export function contributorHref(c: Pick<Contributor, 'kind' | 'id'>, year: number): string {
  return childHref({ level: c.kind === 'park' ? 'park' : 'enterprise', code: c.id }, year);
}

/** indicatorOf returns a row's indicator by key. */
export function indicatorOf(c: Pick<TargetChild, 'indicators'>, key: string): TargetIndicator | undefined {
  return (c.indicators ?? []).find((i) => i.key === key);
}

/** worstFor lists the contributors of one indicator (all when key is empty), the largest pull first. */
export function worstFor(worst: Contributor[] | null | undefined, key = ''): Contributor[] {
  const list = (worst ?? []).filter((w) => !key || w.key === key);
  return list
    .map((w, i) => ({ w, i }))
    .sort((a, b) => (Math.abs(b.w.contribution ?? 0) - Math.abs(a.w.contribution ?? 0)) || a.i - b.i)
    .map((x) => x.w);
}

/** CoverageView is a coverage written for a table cell, with the raw fraction when there is one. */
export interface CoverageView {
  text: string;
  fraction: number | null;
  tone?: 'good' | 'warn' | 'bad';
}

/**
 * coverageView reads the coverage the server sends: a fraction, the
 * enterprises with data of those an indicator applies to (target.Coverage),
 * or the points a figure used and lacked (balance coverage).
 */
export function coverageView(c: unknown): CoverageView {
  const tone = (f: number): CoverageView['tone'] => (f >= 0.95 ? 'good' : f >= 0.6 ? 'warn' : 'bad');
  const frac = (f: number): CoverageView => ({ text: fmtPct(f, f >= 0.995 && f < 1 ? 1 : 0), fraction: f, tone: tone(f) });
  if (typeof c === 'number' && Number.isFinite(c)) return frac(c);
  if (c && typeof c === 'object') {
    const o = c as Record<string, unknown>;
    // target.Coverage: the enterprises the indicator applies to and those with data.
    const n = o.with_data;
    const d = o.enterprises;
    if (typeof n === 'number' && typeof d === 'number') {
      if (d <= 0) return { text: '—', fraction: null };
      const f = n / d;
      return { text: `${fmtNum(n, 0)}/${fmtNum(d, 0)}`, fraction: f, tone: tone(f) };
    }
    if (typeof o.fraction === 'number' && Number.isFinite(o.fraction)) return frac(o.fraction);
    const pts = Array.isArray(o.points) ? o.points.length : null;
    const miss = Array.isArray(o.missing) ? o.missing.length : 0;
    if (pts !== null) {
      const all = pts + miss;
      return { text: `${fmtNum(pts, 0)}/${fmtNum(all, 0)}`, fraction: all > 0 ? pts / all : null, tone: miss > 0 ? 'bad' : 'good' };
    }
  }
  return { text: '—', fraction: null };
}

/** Crumb is one step of a breadcrumb trail. */
export interface Crumb {
  label: string;
  href?: string;
}

/**
 * targetTrail is the breadcrumb trail of a roll-up level: province → city →
 * park, or province → industry. name(zh, en) picks the language.
 */
export function targetTrail(
  tg: Pick<Targets, 'level' | 'code' | 'name' | 'name_en' | 'year'>,
  regions: Map<string, Region> | undefined,
  parks: Map<string, Park> | undefined,
  name: (zh: string | undefined, en: string | undefined) => string,
  industriesLabel: string,
): Crumb[] {
  const items: Crumb[] = [];
  const y = tg.year;
  const regionChain = (code: string | undefined) => {
    const chain: Region[] = [];
    const seen = new Set<string>();
    for (let r = code ? regions?.get(code) : undefined; r && !seen.has(r.code); r = r.parent ? regions?.get(r.parent) : undefined) {
      seen.add(r.code);
      chain.unshift(r);
    }
    for (const r of chain) {
      const level = r.parent && regions?.has(r.parent) ? 'city' : 'province';
      items.push({ label: name(r.name, r.name_en), href: `/targets?level=${level}&code=${encodeURIComponent(r.code)}&year=${y}` });
    }
  };
  const province = () => {
    for (const r of regions?.values() ?? []) if (!r.parent || !regions?.has(r.parent)) return regionChain(r.code);
  };
  switch (tg.level) {
    case 'city':
      regionChain(regions?.get(tg.code)?.parent);
      break;
    case 'park':
      regionChain(parks?.get(tg.code)?.region);
      break;
    case 'industry':
      province();
      if (tg.code) items.push({ label: industriesLabel, href: `/targets?level=industry&year=${y}` });
      break;
  }
  items.push({ label: name(tg.name, tg.name_en) || tg.code || industriesLabel });
  return items;
}

/**
 * hasYearData reports whether any indicator of a /targets answer has a value
 * for its year: a fresh demo's current year may have none yet.
 */
export function hasYearData(tg: Pick<Targets, 'indicators'>): boolean {
  return (tg.indicators ?? []).some((i) => i.value !== null && i.value !== undefined && Number.isFinite(i.value));
}

/**
 * latestYearWithData is the latest year up to `upTo` in which the trajectory
 * has a value for some indicator; undefined when none has. The targets page
 * opens on it when the current year has no data yet.
 */
export function latestYearWithData(tg: Pick<Targets, 'trajectory'>, upTo: number): number | undefined {
  let best: number | undefined;
  for (const p of tg.trajectory ?? []) {
    if (p.value === null || p.value === undefined || !Number.isFinite(p.value) || !Number.isInteger(p.year) || p.year > upTo) continue;
    if (best === undefined || p.year > best) best = p.year;
  }
  return best;
}
