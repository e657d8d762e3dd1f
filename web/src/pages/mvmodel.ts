// The contract-water-saving pages' view model, free of the DOM: a
// statement's savings with their uncertainty, whether it is verifiable and
// how much may be issued, the fit chart's series (metered against modelled
// intake per period, baseline and reporting), and a contract's reporting
// periods with the statement each has.

/** Span is a time interval [from, to). */
export interface Span {
  from: string;
  to: string;
}

/** Statement is the sealed M&V statement (package contract). */
export interface Statement {
  id: string;
  contract: string;
  enterprise: string;
  from: string;
  to: string;
  adjusted_baseline_m3: number;
  reporting_m3: number;
  savings_m3: number;
  uncertainty_m3: number;
  meets_guideline14: boolean;
  checkpoint_size: number;
  checkpoint_root: string;
  digest: string;
}

/** PeriodFigures are one model period's figures. */
export interface PeriodFigures {
  label: string;
  from: string;
  to: string;
  intake_m3: number;
  model_m3: number;
  coverage: number;
  drivers: Record<string, number>;
  adjustment_m3?: number;
}

/** StatementRecord is a statement with its fit and periods. */
export interface StatementRecord {
  statement: Statement;
  model: Record<string, number>;
  cv_rmse: number;
  nmbe: number;
  r2: number;
  limit_cv_rmse: number;
  limit_nmbe: number;
  baseline: PeriodFigures[];
  reporting: PeriodFigures[];
  warnings?: string[];
}

/** Contract is a contract-water-saving project. */
export interface Contract {
  id: string;
  name: string;
  enterprise: string;
  service_company: string;
  option: 'B' | 'C';
  points?: string[];
  granularity: 'month' | 'day';
  baseline: Span;
  reporting: Span[];
  drivers: { name: string; kind: string; product?: string }[];
  service_company_share: number;
  status: string;
}

/** verifiable: Guideline 14 met and the savings above their uncertainty (the certificate rule). */
export function verifiable(s: Statement): boolean {
  return s.meets_guideline14 && s.savings_m3 > s.uncertainty_m3;
}

/** issuable is floor(savings − uncertainty) m³ for a verifiable statement, else 0. */
export function issuable(s: Statement): number {
  return verifiable(s) ? Math.floor(s.savings_m3 - s.uncertainty_m3) : 0;
}

/** savingsText is "735 ± 12.3 m³" (uncertainty at 90 %). */
export function savingsText(s: Statement, fmt: (v: number, d: number) => string): string {
  return `${fmt(s.savings_m3, 1)} ± ${fmt(s.uncertainty_m3, 1)} m³`;
}

/** savingsShare is the savings as a share of the adjusted baseline (null when there is none). */
export function savingsShare(s: Statement): number | null {
  return s.adjusted_baseline_m3 > 0 ? s.savings_m3 / s.adjusted_baseline_m3 : null;
}

/** FitSeries are the fit chart's category labels and series (null where a part has no value). */
export interface FitSeries {
  labels: string[];
  metered: (number | null)[];
  modelled: (number | null)[];
  reporting: (number | null)[];
  /** index of the first reporting period in labels, or -1 */
  split: number;
}

/**
 * fitSeries lays baseline and reporting periods on one axis: metered
 * baseline, the model over both, and the reporting metered intake. The
 * baseline is r's; the reporting periods are r's and those of the other
 * statements given (each period once, in time order).
 */
export function fitSeries(r: StatementRecord, others: StatementRecord[] = []): FitSeries {
  const base = r.baseline ?? [];
  const seen = new Set<string>();
  const rep: PeriodFigures[] = [];
  for (const x of [r, ...others]) {
    for (const p of x.reporting ?? []) {
      if (seen.has(p.label)) continue;
      seen.add(p.label);
      rep.push(p);
    }
  }
  rep.sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  const out: FitSeries = { labels: [], metered: [], modelled: [], reporting: [], split: rep.length ? base.length : -1 };
  for (const p of base) {
    out.labels.push(p.label);
    out.metered.push(p.intake_m3);
    out.modelled.push(p.model_m3);
    out.reporting.push(null);
  }
  for (const p of rep) {
    out.labels.push(p.label);
    out.metered.push(null);
    out.modelled.push(p.model_m3 + (p.adjustment_m3 ?? 0));
    out.reporting.push(p.intake_m3);
  }
  return out;
}

/** fitWithin says whether each statistic is within Guideline 14's limit. */
export function fitWithin(r: StatementRecord): { cv: boolean; nmbe: boolean } {
  return { cv: r.cv_rmse <= r.limit_cv_rmse, nmbe: Math.abs(r.nmbe) <= r.limit_nmbe };
}

/** PeriodRow is a reporting period of a contract with its statement, if issued. */
export interface PeriodRow {
  n: number;
  span: Span;
  statement?: Statement;
  over: boolean;
}

/** periodRows pairs a contract's reporting periods with their statements (by start instant); over tells whether a period has ended at now. */
export function periodRows(c: Contract, statements: Statement[], now: Date): PeriodRow[] {
  const byFrom = new Map<number, Statement>();
  for (const s of statements) byFrom.set(Date.parse(s.from), s);
  return (c.reporting ?? []).map((span, i) => ({
    n: i + 1,
    span,
    statement: byFrom.get(Date.parse(span.from)),
    over: Date.parse(span.to) <= now.getTime(),
  }));
}

/** totals sums the issued statements: savings, the verifiable part and what may be issued. */
export function totals(statements: Statement[]): { savings: number; issuable: number; verifiable: number } {
  let savings = 0;
  let iss = 0;
  let ver = 0;
  for (const s of statements) {
    savings += s.savings_m3;
    iss += issuable(s);
    if (verifiable(s)) ver++;
  }
  return { savings, issuable: iss, verifiable: ver };
}

/** dayText is an instant as a Beijing date; a period's end (exclusive) shows its last day. */
export function dayText(iso: string, end = false): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '—';
  const d = new Date(t + 8 * 3600 * 1000 - (end ? 1 : 0));
  return d.toISOString().slice(0, 10);
}

/** spanText is "2025-01-01 — 2025-03-31". */
export function spanText(s: Span): string {
  return `${dayText(s.from)} — ${dayText(s.to, true)}`;
}
