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
  values: Record<string, number>;
}

export interface ReadingPage {
  items: ReadingItem[];
  next?: string;
}

export interface Series {
  meter: string;
  channel: string;
  unit?: string;
  interval: string;
  fn: string;
  t: string[];
  v: (number | null)[];
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

/**
 * Balance is GET /enterprises/{id}/balance: RESULT.json of `shuixiao balance`
 * (figures at the top level, null when absent) with the period, coverage and
 * the Sankey diagram (docs/api.md).
 */
export interface Balance {
  enterprise: string;
  from: string;
  to: string;
  intake_m3?: number | null;
  total_use_m3?: number | null;
  reuse_m3?: number | null;
  consumption_m3?: number | null;
  discharge_m3?: number | null;
  /** level 1 − Σ level 2: water lost or unmetered between the levels */
  leakage_m3?: number | null;
  leakage_rate?: number | null;
  reuse_rate?: number | null;
  balance_error?: number | null;
  balance_tolerance?: number;
  non_conventional_rate?: number | null;
  /** points without data in the period */
  missing_points?: string[] | null;
  sankey: { nodes: SankeyNode[]; links: SankeyLink[] };
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
