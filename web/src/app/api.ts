// The HTTP API v1 client (docs/api.md). Every call carries the bearer token;
// failures become ApiError with the HTTP status, so that pages can show
// "access denied" for 403 and send the user to the login page for 401.

import { getToken } from './session';

/** ApiError is a non-2xx answer (or a network failure: status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

const BASE = '/api/v1';

async function request(path: string, init: RequestInit = {}, token = getToken()): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token) headers.set('Authorization', `Bearer ${token}`);
  let res: Response;
  try {
    res = await fetch(BASE + path, { ...init, headers, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, (e as Error).message, path);
  }
  if (!res.ok) {
    let msg = res.statusText;
    try {
      const body = await res.text();
      try {
        msg = (JSON.parse(body) as { error?: string }).error ?? body;
      } catch {
        msg = body || msg;
      }
    } catch {
      // keep statusText
    }
    throw new ApiError(res.status, msg, path);
  }
  return res;
}

/** getJSON fetches and decodes a JSON answer. */
export async function getJSON<T>(path: string, token?: string): Promise<T> {
  return (await (await request(path, {}, token)).json()) as T;
}

/** Computing is the 202 answer of a question whose roll-up is being computed (docs/api.md). */
export interface Computing {
  status: 'computing';
  message: string;
  year: number;
  started_at: string;
  elapsed_ms: number;
  series_read: number;
  series_to_read: number;
}

/**
 * getComputed fetches an answer made from the year's roll-up (targets, benchmark, water managers): while the
 * server answers 202 (computing), onComputing is told the progress and the question is asked again after
 * Retry-After (1–30 s; at most 5 s here, the console shows the progress). Leaving the page (signal) stops it.
 */
export async function getComputed<T>(path: string, onComputing?: (c: Computing) => void, signal?: AbortSignal): Promise<T> {
  for (;;) {
    const res = await request(path);
    if (res.status !== 202) return (await res.json()) as T;
    const c = (await res.json()) as Computing;
    onComputing?.(c);
    if (signal?.aborted) throw new ApiError(0, 'aborted', path);
    const after = Number(res.headers.get('Retry-After'));
    await new Promise<void>((done) => {
      const timer = setTimeout(done, 1000 * Math.min(5, Math.max(1, Number.isFinite(after) ? after : 1)));
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        done();
      });
    });
    if (signal?.aborted) throw new ApiError(0, 'aborted', path);
  }
}

/** getText fetches a text answer (keys, receipts). */
export async function getText(path: string): Promise<string> {
  return (await request(path)).text();
}

/** postJSON posts a JSON body (or none) and decodes the answer if there is one. */
export async function postJSON<T>(path: string, body?: unknown): Promise<T | null> {
  const res = await request(path, {
    method: 'POST',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return text ? (JSON.parse(text) as T) : null;
}

/** putJSON puts a JSON body and decodes the answer if there is one. */
export async function putJSON<T>(path: string, body: unknown): Promise<T | null> {
  const res = await request(path, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return text ? (JSON.parse(text) as T) : null;
}

/** qs builds a query string from defined values. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

// ---- types (docs/api.md) ----

export type Role = 'admin' | 'regulator' | 'auditor' | 'park' | 'enterprise';

export interface Me {
  role: Role;
  scope?: string;
  name?: string;
}

export interface Region {
  code: string;
  name: string;
  name_en?: string;
  parent?: string;
}

export interface Park {
  id: string;
  name: string;
  name_en?: string;
  region: string;
  industries?: string[];
}

export interface Enterprise {
  id: string;
  name: string;
  name_en?: string;
  park?: string;
  region?: string;
  industry?: string;
  industry_name?: string;
  industry_name_en?: string;
  products?: string[];
}

export interface Channel {
  name: string;
  quantity?: string;
  unit: string;
  kind: 'rate' | 'total' | 'interval' | string;
}

export interface Point {
  id: string;
  enterprise?: string;
  name: string;
  name_en?: string;
  level: number;
  stage: string;
  source?: string;
  parent?: string;
  channels?: Channel[];
}

export interface Meter {
  id: string;
  point: string;
  enterprise?: string;
  key: string;
  signed?: string;
  /** gateway that signs for a legacy device */
  gateway?: string;
  /** meter-signed | gateway-signed */
  trust?: string;
  revoked?: boolean;
  registered?: string;
  interval_s?: number;
  last_seq?: number;
  last_index?: number;
  last_time?: string;
  status?: 'online' | 'offline' | 'revoked' | string;
}

export interface ReadingItem {
  meter: string;
  seq: number;
  index: number;
  time: string;
  received?: string;
  flags?: string[] | null;
  trust?: string;
  values: Record<string, number>;
}

export interface ReadingPage {
  items: ReadingItem[];
  next?: string;
  trust?: string;
}

/** TrustSummary says where the readings behind a figure were signed. */
export interface TrustSummary {
  /** meter-signed | gateway-signed | mixed; empty without meters */
  level: string;
  meters?: Record<string, string>;
  gateways?: string[];
}

/** BalanceTrust is the trust of a balance: the whole and each point. */
export interface BalanceTrust {
  level: string;
  points?: Record<string, TrustSummary>;
}

export interface Series {
  meter: string;
  channel: string;
  unit?: string;
  interval: string;
  fn: string;
  t: string[];
  v: (number | null)[];
  trust?: TrustSummary;
}

export interface OverviewChild {
  kind: 'city' | 'park' | 'enterprise';
  id: string;
  name: string;
  name_en?: string;
  intake_m3?: number | null;
  use_m3?: number | null;
  reuse_m3?: number | null;
  discharge_m3?: number | null;
  reuse_rate?: number | null;
  nonconv_rate?: number | null;
  alarms?: number;
  meters?: number;
  online?: number;
}

export interface Overview {
  level: 'province' | 'city' | 'park';
  code: string;
  name: string;
  name_en?: string;
  date: string;
  totals: Partial<OverviewChild>;
  children: OverviewChild[];
}

export interface SankeyNode {
  name: string;
  label?: string;
  label_en?: string;
  kind?: string;
}

export interface SankeyLink {
  source: string;
  target: string;
  value: number;
}

/** TreeNode is one metering point in the enterprise's metering tree. */
export interface TreeNode {
  point: string | Point;
  id?: string;
  name?: string;
  name_en?: string;
  level?: number;
  stage?: string;
  source?: string;
  channels?: Channel[];
  children?: TreeNode[];
  meters?: Meter[];
  today_m3?: number | null;
}

export interface Witness {
  name: string;
  key?: string;
  url?: string;
  cosigned?: boolean;
  time?: string;
}

export interface LedgerStatus {
  origin: string;
  size: number;
  checkpoint: string;
  key?: string;
  witnesses?: Witness[];
  /** docs/api.md: {k, n}; the server may also send the policy file as text */
  policy?: { k?: number; n?: number; quorum?: string; text?: string };
}

export interface Rejection {
  time: string;
  meter?: string;
  reason: string;
  detail?: string;
  source?: string;
}

export interface Rejections {
  total: number;
  by_reason: Record<string, number>;
  recent: Rejection[];
}

export interface Alarm {
  id: string | number;
  kind: string;
  severity?: string;
  enterprise?: string;
  point?: string;
  meter?: string;
  message?: string;
  message_en?: string;
  raised: string;
  acked?: string | null;
  acked_by?: string | null;
  cleared?: string | null;
  cleared_by?: string | null;
  count?: number;
  state: 'active' | 'acked' | 'cleared' | string;
}

export interface AlarmEvent {
  time: string;
  state: string;
  by?: string;
  note?: string;
}

/** getBlob fetches a file (a report) with the token in the header: the API takes no token in a URL. */
export async function getBlob(path: string): Promise<{ blob: Blob; filename?: string }> {
  const res = await request(path);
  const cd = res.headers.get('Content-Disposition') ?? '';
  const m = /filename\*=UTF-8''([^;]+)|filename="?([^";]+)"?/i.exec(cd);
  const filename = m ? decodeURIComponent(m[1] ?? m[2]) : undefined;
  return { blob: await res.blob(), filename };
}

// ---- water-efficiency management (issue 14; docs/api.md) ----

/** FigureCoverage is which points a figure was computed from and which it lacked. */
export interface FigureCoverage {
  points?: string[] | null;
  missing?: string[] | null;
  note?: string;
  /** share of the period with data, when the server gives it (0–1) */
  fraction?: number | null;
}

/** QuotaLimit is one grade of a product's quota table. */
export interface QuotaLimit {
  grade: number;
  label?: string;
  limit: number;
  standard?: string;
  edition?: string;
  verified: boolean;
  source?: string;
}

/** ProductFigure is one product's entry of a period balance. */
export interface ProductFigure {
  quantity?: number;
  output_unit?: string;
  unit?: string;
  intake_per_unit?: number | null;
  coverage?: FigureCoverage;
  quota_grade?: '1' | '2' | '3' | 'over' | null;
  quota_limits?: QuotaLimit[];
  quota_verified?: boolean | null;
  baseline_2020?: number | null;
  decrease_2025?: number | null;
  target_2025?: number | null;
  meets_target_2025?: boolean | null;
  basis?: string;
  /** the intake is a lower bound: an intake point lacks data for part of the period */
  intake_lower_bound?: boolean;
  /** the declared output over the period and how much of it the records cover */
  output?: { quantity?: number; unit?: string; coverage?: number; prorated?: boolean; basis?: string };
}

/**
 * PeriodBalance is GET /enterprises/{id}/balance?from&to: the RESULT.json of
 * `shuixiao balance` (rates as fractions, volumes in m³) plus coverage.
 */
export interface PeriodBalance {
  enterprise?: string;
  enterprise_name?: string;
  enterprise_name_en?: string;
  industry?: string;
  /** first and last day of the period (both included) */
  from?: string;
  to?: string;
  /** each water point's share of the period with valid data (0–1) */
  point_coverage?: Record<string, number> | null;
  /** the ledger state the figures were read at */
  ledger?: { size?: number; checkpoint?: { size?: number; root_hash?: string } };
  intake_by_source_m3?: Record<string, number | null>;
  fresh_by_purpose_m3?: Record<string, number | null>;
  balance_tolerance?: number;
  balance_within_tolerance?: boolean | null;
  metering_ratio_min?: number;
  products?: Record<string, ProductFigure>;
  missing_points?: string[] | null;
  coverage?: Record<string, FigureCoverage>;
  /** metered | declared, for the whole result or per figure */
  basis?: string | Record<string, string>;
  sankey?: { nodes: SankeyNode[]; links: SankeyLink[] };
  /** where the readings behind the figures were signed */
  trust?: BalanceTrust;
  [figure: string]: unknown;
}

/** TargetIndicator is one of the plan's indicators at one level of the roll-up. */
export interface TargetIndicator {
  key: string;
  name_zh?: string;
  name_en?: string;
  unit?: string;
  baseline_2020?: number | null;
  value?: number | null;
  target_2025?: number | null;
  expected?: number | null;
  on_track?: boolean | null;
  basis?: string;
  coverage?: number | FigureCoverage | Record<string, unknown> | null;
  lower_is_better?: boolean;
  /** the target's source was checked against the plan's text */
  verified?: boolean;
  source?: string;
}

/** TargetChild is one row below the level shown: a city, park, industry or enterprise. */
export interface TargetChild {
  level: 'city' | 'park' | 'industry' | 'enterprise' | string;
  code: string;
  name: string;
  name_en?: string;
  indicators: TargetIndicator[];
}

/** Contributor is an enterprise or park that pulls a figure down. */
export interface Contributor {
  kind: 'enterprise' | 'park' | string;
  id: string;
  name: string;
  name_en?: string;
  key: string;
  value?: number | null;
  contribution?: number | null;
}

/** TrajectoryPoint is one year of one indicator against the straight 2020→2025 path. */
export interface TrajectoryPoint {
  year: number;
  key: string;
  value?: number | null;
  expected?: number | null;
}

/** Targets is GET /targets?level&code&year. */
export interface Targets {
  level: 'province' | 'city' | 'park' | 'industry' | string;
  code: string;
  name: string;
  name_en?: string;
  year: number;
  indicators: TargetIndicator[];
  children?: TargetChild[] | null;
  worst?: Contributor[] | null;
  trajectory?: TrajectoryPoint[] | null;
  computed_at?: string;
  /** a newer snapshot's computation under way */
  computing?: Computing | null;
  /** the last computation's failure, after this snapshot */
  refresh_error?: string;
}

/** CaseEvent is one audited transition of a retrofit case. */
export interface CaseEvent {
  from?: string;
  to: string;
  actor?: string;
  at: string;
  note?: string;
}

/** QuotaCase is a retrofit case (限期实施节水改造) opened for an over-quota product. */
export interface QuotaCase {
  id: number | string;
  enterprise: string;
  enterprise_name?: string;
  product: string;
  unit?: string;
  value?: number | null;
  limit?: number | null;
  grade?: string | null;
  state: 'open' | 'plan_submitted' | 'in_progress' | 'closed' | 'overdue' | string;
  opened_at?: string;
  deadline?: string;
  owner?: string;
  closed_at?: string | null;
  /** the period whose intake per unit opened the case, [period_from, period_to) */
  period_from?: string;
  period_to?: string;
  /** consecutive months of metered data under the limit that close the case */
  evidence_months?: number;
  quota_verified?: boolean;
  standard?: string;
  history?: CaseEvent[] | null;
}
