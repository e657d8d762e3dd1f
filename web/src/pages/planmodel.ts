// The plans & permits page's and the carbon page's view models, free of the
// DOM: shares as the server sends them (a number, or "inf" for a use
// against a plan of nothing), their tone at the alarm thresholds, the
// month bars against plan, permits, over-plan tiers, the park's headroom
// (以水定产) and the stages of a water–carbon account. Every figure comes
// from the server (internal/planuse, internal/watercarbon); the console
// only orders and labels it.

/** Ratio is a share or a tier bound as the server writes it. */
export type Ratio = number | 'inf' | null | undefined;

/** ratio turns a served share into a number (Infinity for "inf", NaN when absent). */
export function ratio(v: Ratio): number {
  if (v === 'inf') return Infinity;
  return typeof v === 'number' && Number.isFinite(v) ? v : NaN;
}

/** fmtShare prints a share as a percentage; "∞" for a use against no plan, "—" when absent. */
export function fmtShare(v: Ratio, digits = 0): string {
  const r = ratio(v);
  if (r === Infinity) return '∞';
  if (Number.isNaN(r)) return '—';
  return `${(r * 100).toFixed(digits)} %`;
}

/** shareTone is a share's tone at the thresholds: 'bad' at or above the highest, 'warn' at or above another, else 'ok'. */
export function shareTone(v: Ratio, thresholds: number[]): 'ok' | 'warn' | 'bad' {
  const r = ratio(v);
  if (Number.isNaN(r) || thresholds.length === 0) return 'ok';
  if (r >= Math.max(...thresholds)) return 'bad';
  if (r >= Math.min(...thresholds)) return 'warn';
  return 'ok';
}

/** PlanRow is one enterprise of GET /plans. */
export interface PlanRow {
  enterprise: string;
  name?: string;
  park?: string;
  region?: string;
  plan_annual_m3: number;
  plan_to_date_m3: number;
  intake_to_date_m3: number;
  share_to_date: Ratio;
  month_share: Ratio;
  permit_share: Ratio;
  over_plan_m3: number;
  level: 'ok' | 'near' | 'over' | string;
  incomplete?: boolean;
}

const LEVEL_ORDER: Record<string, number> = { over: 0, near: 1, ok: 2 };

/** sortRows puts over-plan enterprises first, then near, each by their highest share, then by ID. */
export function sortRows(rows: PlanRow[]): PlanRow[] {
  const top = (r: PlanRow) => Math.max(...[r.month_share, r.share_to_date, r.permit_share].map(ratio).map((x) => (Number.isNaN(x) ? -1 : x)));
  return [...rows].sort((a, b) => (LEVEL_ORDER[a.level] ?? 3) - (LEVEL_ORDER[b.level] ?? 3) || top(b) - top(a) || a.enterprise.localeCompare(b.enterprise));
}

/** levelCounts counts rows by level. */
export function levelCounts(rows: PlanRow[]): { over: number; near: number; ok: number } {
  const c = { over: 0, near: 0, ok: 0 };
  for (const r of rows) if (r.level === 'over' || r.level === 'near' || r.level === 'ok') c[r.level]++;
  return c;
}

/** MonthStatus is one month of an enterprise's status. */
export interface MonthStatus {
  month: number;
  plan_m3: number;
  intake_m3: number;
  share: Ratio;
  over_m3: number;
  coverage: number;
}

/** Status is an enterprise's plan year (waterplan.Status). */
export interface Status {
  enterprise: string;
  year: number;
  through_month: number;
  plan_annual_m3: number;
  plan_to_date_m3: number;
  intake_to_date_m3: number;
  share_to_date: Ratio;
  share_annual: Ratio;
  months: MonthStatus[] | null;
  over_plan_m3: number;
  tiers: { from: number; up_to: Ratio; surcharge: number; m3: number }[] | null;
  schedule: string;
  permits: { permit: Permit; intake_m3: number; share: Ratio }[] | null;
  incomplete_months: number[] | null;
  crossings?: { scope: string; ref: string; threshold: number; share: Ratio }[] | null;
}

/** Permit is a withdrawal permit. */
export interface Permit {
  id: string;
  enterprise: string;
  source: string;
  annual_m3: number;
  valid_from: string;
  valid_to: string;
}

/** MonthBars are the twelve months' plan and metered intake for the bar chart; months not reported have no intake (null). */
export interface MonthBars {
  labels: string[];
  plan: number[];
  intake: (number | null)[];
  tone: ('ok' | 'warn' | 'bad' | 'none')[];
}

/** monthBars lays the status out over the twelve months of its year, each month's intake toned at the thresholds. */
export function monthBars(st: Status, monthlyPlan: number[] | null, thresholds: number[]): MonthBars {
  const out: MonthBars = { labels: [], plan: [], intake: [], tone: [] };
  const by = new Map((st.months ?? []).map((m) => [m.month, m]));
  for (let m = 1; m <= 12; m++) {
    const s = by.get(m);
    out.labels.push(String(m).padStart(2, '0'));
    out.plan.push(s ? s.plan_m3 : (monthlyPlan?.[m - 1] ?? 0));
    out.intake.push(s ? s.intake_m3 : null);
    out.tone.push(s ? shareTone(s.share, thresholds) : 'none');
  }
  return out;
}

/** PermitRow is a permit with its use in the plan year. */
export interface PermitRow {
  id: string;
  source: string;
  annual: number;
  used: number | null;
  share: Ratio;
  validFrom: string;
  validTo: string;
  tone: 'ok' | 'warn' | 'bad';
  /** inYear is false for a permit held but not valid in the plan year. */
  inYear: boolean;
}

/** permitRows joins the permits held with their use in the status (permits valid in the year), in the order held. */
export function permitRows(held: Permit[], st: Status | null, thresholds: number[]): PermitRow[] {
  const used = new Map((st?.permits ?? []).map((p) => [p.permit.id, p]));
  return held.map((p) => {
    const u = used.get(p.id);
    return {
      id: p.id,
      source: p.source,
      annual: p.annual_m3,
      used: u ? u.intake_m3 : null,
      share: u ? u.share : null,
      validFrom: p.valid_from.slice(0, 10),
      validTo: p.valid_to.slice(0, 10),
      tone: u ? shareTone(u.share, thresholds) : 'ok',
      inYear: !!u,
    };
  });
}

/** tierLabel names a tier by the over-plan shares it spans: "0–20 %", "> 40 %". */
export function tierLabel(from: number, upTo: Ratio): string {
  const hi = ratio(upTo);
  const pct = (x: number) => `${+(x * 100).toFixed(1)}`;
  return hi === Infinity ? `> ${pct(from)} %` : `${pct(from)}–${pct(hi)} %`;
}

/** HeadroomProduct is one product of a park's headroom. */
export interface HeadroomProduct {
  product: string;
  unit?: string;
  output_to_date: number;
  intake_per_unit_m3: number;
  allowed: number;
}

/** ParkView is a park of GET /plans or /parks/{id}/headroom. */
export interface ParkView {
  park: string;
  name?: string;
  region?: string;
  enterprises: number;
  allocation_m3: number;
  plan_to_date_m3: number;
  intake_to_date_m3: number;
  remaining_m3: number;
  share: number;
  enterprises_over: number;
  enterprises_near: number;
  products: HeadroomProduct[] | null;
}

/** headroom says what a park's remainder allows: exceeded when nothing remains, and per product the production allowed (products without a known intake per unit are left out). */
export function headroom(p: ParkView): { exceeded: boolean; remaining: number; products: HeadroomProduct[] } {
  return {
    exceeded: p.remaining_m3 <= 0,
    remaining: p.remaining_m3,
    products: (p.products ?? []).filter((x) => x.intake_per_unit_m3 > 0).sort((a, b) => a.product.localeCompare(b.product)),
  };
}

/** StageEnergy is one stage of a water–carbon account. */
export interface StageEnergy {
  stage: string;
  water_m3: number;
  kwh: number;
  kg_co2: number;
  basis: 'metered' | 'factor' | 'none' | string;
  factor?: { kwh_per_m3: number; source: string; verified: boolean } | null;
}

/** carbonStages are the stages with electricity, largest first, each with its share of the account's CO₂. */
export function carbonStages(stages: StageEnergy[] | null | undefined): (StageEnergy & { part: number })[] {
  const list = (stages ?? []).filter((s) => s.kwh > 0);
  const total = list.reduce((n, s) => n + s.kg_co2, 0);
  return list.map((s) => ({ ...s, part: total > 0 ? s.kg_co2 / total : 0 })).sort((a, b) => b.kg_co2 - a.kg_co2);
}

/** tonnes prints kilograms of CO₂ as tonnes (t CO₂) with sensible digits. */
export function tonnes(kg: number | null | undefined): string {
  if (kg === null || kg === undefined || !Number.isFinite(kg)) return '—';
  const t = kg / 1000;
  return t >= 100 ? t.toFixed(0) : t >= 1 ? t.toFixed(1) : t.toFixed(3);
}
