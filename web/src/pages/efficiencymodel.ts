// The enterprise indicator page's view model, free of the DOM: the period
// pickers' presets, the indicators of a period balance in the order of
// GB/T 12452-2022 with their coverage and basis, and the enterprise's place
// in its industry's ranking.

import type { FigureCoverage, PeriodBalance } from '../app/api';

/** IndicatorKind says how a figure is written: a volume, a rate (fraction) or intake per 万元. */
export type IndicatorKind = 'm3' | 'rate' | 'per10k';

/** IndicatorDef is one figure of RESULT.json the page lists. */
export interface IndicatorDef {
  key: string;
  kind: IndicatorKind;
  /** the few figures shown as tiles at the top */
  headline?: boolean;
}

/** INDICATORS are the figures of a period balance (docs/balance.md), volumes first, then rates. */
export const INDICATORS: IndicatorDef[] = [
  { key: 'intake_m3', kind: 'm3', headline: true },
  { key: 'non_conventional_m3', kind: 'm3' },
  { key: 'recirculated_m3', kind: 'm3' },
  { key: 'cascaded_m3', kind: 'm3' },
  { key: 'wastewater_reuse_m3', kind: 'm3' },
  { key: 'condensate_reuse_m3', kind: 'm3' },
  { key: 'reuse_m3', kind: 'm3', headline: true },
  { key: 'total_use_m3', kind: 'm3', headline: true },
  { key: 'discharge_m3', kind: 'm3', headline: true },
  { key: 'consumption_m3', kind: 'm3' },
  { key: 'consumption_and_loss_m3', kind: 'm3' },
  { key: 'level2_m3', kind: 'm3' },
  { key: 'leakage_m3', kind: 'm3' },
  { key: 'reuse_rate', kind: 'rate', headline: true },
  { key: 'indirect_cooling_rate', kind: 'rate' },
  { key: 'direct_cooling_rate', kind: 'rate' },
  { key: 'process_reuse_rate', kind: 'rate' },
  { key: 'condensate_reuse_rate', kind: 'rate' },
  { key: 'wastewater_reuse_rate', kind: 'rate' },
  { key: 'leakage_rate', kind: 'rate' },
  { key: 'discharge_rate', kind: 'rate' },
  { key: 'consumption_rate', kind: 'rate' },
  { key: 'non_conventional_rate', kind: 'rate', headline: true },
  { key: 'metering_ratio', kind: 'rate' },
  { key: 'balance_error', kind: 'rate' },
  { key: 'intake_per_10k_cny', kind: 'per10k', headline: true },
];

/** IndicatorRow is one figure of the balance with what it was computed from. */
export interface IndicatorRow {
  key: string;
  kind: IndicatorKind;
  value: number | null;
  /** points the figure used */
  points: number;
  /** points it needed that had no volume */
  missing: string[];
  note: string;
  /** metered | declared (or another basis the server names); '' when not said */
  basis: string;
  /** share of the period with data, when the server gives it */
  fraction: number | null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** basisOf reads a figure's basis: one for the whole result, or per figure. */
export function basisOf(b: Pick<PeriodBalance, 'basis'>, key: string): string {
  if (typeof b.basis === 'string') return b.basis;
  if (b.basis && typeof b.basis === 'object') return b.basis[key] ?? '';
  return '';
}

/**
 * indicatorRows lists the balance's figures in INDICATORS order, then intake
 * by source. A figure the result does not carry is left out (intake per
 * 万元 without value added); a figure that is null stays, with its note.
 */
export function indicatorRows(b: PeriodBalance): IndicatorRow[] {
  const cov = b.coverage ?? {};
  const row = (key: string, kind: IndicatorKind, value: unknown, c: FigureCoverage | undefined): IndicatorRow => ({
    key,
    kind,
    value: num(value),
    points: c?.points?.length ?? 0,
    missing: c?.missing ?? [],
    note: c?.note ?? '',
    basis: basisOf(b, key),
    fraction: num(c?.fraction) ?? figureCoverage(c?.points, b.point_coverage),
  });
  const rows = INDICATORS.filter((d) => d.key in b).map((d) => row(d.key, d.kind, b[d.key], cov[d.key]));
  for (const [src, v] of Object.entries(b.intake_by_source_m3 ?? {}).sort(([a], [z]) => a.localeCompare(z))) {
    const key = `intake_by_source_m3.${src}`;
    rows.push(row(key, 'm3', v, cov[key]));
  }
  return rows;
}

/**
 * Period is what the API takes: calendar days in Beijing time (YYYY-MM-DD),
 * both included, or — exact — two RFC 3339 times, the second excluded (the
 * window a retrofit case was judged over, say).
 */
export interface Period {
  from: string;
  to: string;
  exact?: boolean;
}

function ymd(y: number, m: number, d: number): string {
  const dt = new Date(Date.UTC(y, m - 1, d));
  return dt.toISOString().slice(0, 10);
}

/** previousDay is the calendar day before a YYYY-MM-DD date. */
export function previousDay(date: string): string {
  const [y, m, d] = date.split('-').map(Number);
  return ymd(y, m, d - 1);
}

/** MAX_PERIOD_DAYS is the longest period the API computes a balance for. */
export const MAX_PERIOD_DAYS = 366;

/** periodDays is the number of days of a period, both ends included. */
export function periodDays(p: Period): number {
  return Math.round((Date.parse(p.to) - Date.parse(p.from)) / 86400e3) + 1;
}

/** PresetName names the period buttons. */
export type PresetName = 'yesterday' | 'month' | 'lastMonth' | 'year' | 'lastYear';

/**
 * presets are yesterday, this month and this year up to and including
 * today, the whole last month and the whole last year.
 */
export function presets(today: string): Record<PresetName, Period> {
  const [y, m] = today.split('-').map(Number);
  const yesterday = previousDay(today);
  return {
    yesterday: { from: yesterday, to: yesterday },
    month: { from: ymd(y, m, 1), to: today },
    lastMonth: { from: ymd(y, m - 1, 1), to: previousDay(ymd(y, m, 1)) },
    year: { from: ymd(y, 1, 1), to: today },
    lastYear: { from: ymd(y - 1, 1, 1), to: ymd(y - 1, 12, 31) },
  };
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * periodFrom reads from/to of the page's query: days (both included) or
 * exact RFC 3339 times (to excluded); without them, or with a reversed,
 * malformed or too long range, the fallback (this year so far by default).
 */
export function periodFrom(q: URLSearchParams, today: string, fallback: Period = presets(today).year): Period {
  const from = q.get('from') ?? '';
  const to = q.get('to') ?? '';
  if (DATE.test(from) && DATE.test(to) && from <= to && periodDays({ from, to }) <= MAX_PERIOD_DAYS) return { from, to };
  if (TIME.test(from) && TIME.test(to)) {
    const ms = Date.parse(to) - Date.parse(from);
    if (ms > 0 && ms <= MAX_PERIOD_DAYS * 86400e3) return { from, to, exact: true };
  }
  return fallback;
}

/** periodLabel writes a period: "2026-01-01 – 2026-12-06", or exact times with fmt (Beijing time). */
export function periodLabel(p: Period, fmt: (t: string, withSeconds?: boolean) => string): string {
  return p.exact ? `${fmt(p.from, false)} – ${fmt(p.to, false)}` : `${p.from} – ${p.to}`;
}

/** periodQuery is a period as the API's (and the pages') from/to parameters. */
export function periodQuery(p: Period): Record<string, string> {
  return { from: p.from, to: p.to };
}

/** yearOf is the calendar year most of a period lies in (for rankings by year). */
export function yearOf(p: Period): number {
  const a = Date.parse(p.from);
  const b = Date.parse(p.to) + (p.exact ? 0 : 86400e3);
  return new Date((a + b) / 2 + 8 * 3600e3).getUTCFullYear();
}

/**
 * figureCoverage is the least share of the period any of a figure's points
 * had data for (point_coverage of the balance: valid hours per point); null
 * when the balance gives no point coverage for them.
 */
export function figureCoverage(points: string[] | null | undefined, pointCoverage: Record<string, number> | null | undefined): number | null {
  let min: number | null = null;
  for (const p of points ?? []) {
    const c = pointCoverage?.[p];
    if (typeof c === 'number' && Number.isFinite(c)) min = min === null ? c : Math.min(min, c);
  }
  return min;
}

/** Position is an enterprise's place in its industry's ranking by intake per unit of a product. */
export interface Position {
  rank: number | null;
  of: number;
  /** share of the other enterprises with a worse intake per unit, 0–100 (100 is the best), as the server gives it */
  percentile: number | null;
  value: number | null;
  leader: boolean;
}

/**
 * positionIn finds the enterprise in a benchmark answer: an array of
 * entries, or an object holding them (GET /benchmark: {ranked: […]}).
 */
export function positionIn(raw: unknown, enterprise: string): Position | null {
  let list: unknown = raw;
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const o = raw as Record<string, unknown>;
    list = o.ranked ?? o.entries ?? o.ranking ?? o.items ?? o.rows;
  }
  if (!Array.isArray(list)) return null;
  const i = list.findIndex((e) => e && typeof e === 'object' && ((e as { enterprise?: string }).enterprise === enterprise || (e as { id?: string }).id === enterprise));
  if (i < 0) return null;
  const e = list[i] as Record<string, unknown>;
  return {
    rank: num(e.rank) ?? i + 1,
    of: list.length,
    percentile: num(e.percentile),
    value: num(e.value) ?? num(e.intake_per_unit),
    leader: e.leader === true || e.leader_candidate === true || e.candidate === true,
  };
}
