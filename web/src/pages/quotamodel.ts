// The quota board's and the retrofit case page's view model, free of the
// DOM: the board's rows in the order a regulator reads them (over quota
// first), a grade's tone, a case's days to its deadline, and which
// transition buttons a role is offered. The server decides every
// transition; the console only hides what the role could not do anyway.

import type { CaseEvent, QuotaCase, Role } from '../app/api';

/** CASE_STATES are the states of a retrofit case in life-cycle order. */
export const CASE_STATES = ['open', 'plan_submitted', 'in_progress', 'overdue', 'closed'] as const;

/** BoardCase is the case shown beside a board row. */
export interface BoardCase {
  id: number | string;
  state: string;
  deadline?: string;
}

/** BoardRow is one enterprise × product of the quota board. */
export interface BoardRow {
  enterprise: string;
  enterprise_name?: string;
  enterprise_name_en?: string;
  industry?: string;
  product: string;
  unit?: string;
  value?: number | null;
  limit?: number | null;
  grade?: string | null;
  verified?: boolean | null;
  quota_verified?: boolean | null;
  lower_bound?: boolean;
  note?: string;
  basis?: string;
  case?: BoardCase | null;
}

/** boardCounts are the board's over-quota rows, live cases by state, enterprises without output and period, as the server sends them. */
export function boardCounts(raw: unknown): { over?: number; cases?: Record<string, number>; noOutput?: string[]; from?: string; to?: string } {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return {};
  const o = raw as { over?: unknown; cases?: unknown; no_output?: unknown; from?: unknown; to?: unknown };
  return {
    over: typeof o.over === 'number' ? o.over : undefined,
    cases: o.cases && typeof o.cases === 'object' ? (o.cases as Record<string, number>) : undefined,
    noOutput: Array.isArray(o.no_output) ? (o.no_output as string[]) : undefined,
    from: typeof o.from === 'string' ? o.from : undefined,
    to: typeof o.to === 'string' ? o.to : undefined,
  };
}

/**
 * boardRows accepts the board as an array of rows or wrapped in an object
 * ({rows}/{items}), and a row's case inline or as case_id/case_state.
 */
export function boardRows(raw: unknown): BoardRow[] {
  const list = Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? ((raw as { rows?: unknown; items?: unknown }).rows ?? (raw as { items?: unknown }).items) : null;
  if (!Array.isArray(list)) return [];
  return list.map((r: Record<string, unknown>) => {
    const row = { ...r } as unknown as BoardRow & { case_id?: number | string; case_state?: string; case_deadline?: string };
    if (!row.case && row.case_id !== undefined && row.case_id !== null) row.case = { id: row.case_id, state: row.case_state ?? 'open', deadline: row.case_deadline };
    return row;
  });
}

/** gradeTone is the badge colour of a grade. */
export function gradeTone(g: string | null | undefined): 'ok' | 'warn' | 'bad' | 'none' {
  switch (g) {
    case '1':
    case '2':
      return 'ok';
    case '3':
      return 'warn';
    case 'over':
      return 'bad';
    default:
      return 'none';
  }
}

/** usage is value / limit: how far into its quota a product is (above 1 is over). */
export function usage(r: Pick<BoardRow, 'value' | 'limit'>): number | null {
  if (r.value === null || r.value === undefined || !r.limit || !Number.isFinite(r.value)) return null;
  return r.value / r.limit;
}

/** sortBoard puts over-quota rows first, then overdue and open cases, then the highest use of the quota. */
export function sortBoard(rows: BoardRow[]): BoardRow[] {
  const caseRank = (r: BoardRow) => (r.case ? (r.case.state === 'overdue' ? 0 : r.case.state === 'closed' ? 2 : 1) : 3);
  return rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => {
      const over = Number(b.r.grade === 'over') - Number(a.r.grade === 'over');
      if (over) return over;
      const c = caseRank(a.r) - caseRank(b.r);
      if (c) return c;
      const u = (usage(b.r) ?? -1) - (usage(a.r) ?? -1);
      return u || a.i - b.i;
    })
    .map((x) => x.r);
}

/** BoardFilter is what the board shows. */
export type BoardFilter = 'all' | 'over' | 'cases';

/** filterBoard keeps the rows a filter asks for. */
export function filterBoard(rows: BoardRow[], f: BoardFilter): BoardRow[] {
  switch (f) {
    case 'over':
      return rows.filter((r) => r.grade === 'over');
    case 'cases':
      return rows.filter((r) => r.case && r.case.state !== 'closed');
    default:
      return rows;
  }
}

/** BoardSummary counts what the board's tiles show. */
export interface BoardSummary {
  rows: number;
  enterprises: number;
  over: number;
  open: number;
  overdue: number;
}

/** summarise counts rows, enterprises, over-quota rows, open (not closed) and overdue cases. */
export function summarise(rows: BoardRow[]): BoardSummary {
  return {
    rows: rows.length,
    enterprises: new Set(rows.map((r) => r.enterprise)).size,
    over: rows.filter((r) => r.grade === 'over').length,
    open: rows.filter((r) => r.case && r.case.state !== 'closed').length,
    overdue: rows.filter((r) => r.case?.state === 'overdue').length,
  };
}

const DAY_MS = 86400e3;

/** daysLeft is the whole days from now to a deadline (negative once past); null without one. */
export function daysLeft(deadline: string | undefined | null, now: Date): number | null {
  if (!deadline) return null;
  const d = Date.parse(deadline);
  if (!Number.isFinite(d)) return null;
  return Math.floor((d - now.getTime()) / DAY_MS);
}

/**
 * The manual steps of a retrofit case (package quotacase): open → plan
 * submitted → in progress; the enterprise may also start at once. Overdue
 * is the platform's, once the deadline has passed. Any case not yet closed
 * may be asked to close: the server closes it only if the metered intake
 * per unit was under the limit in each evidence month, and refuses
 * otherwise — no one closes a case by declaration.
 */
const NEXT: Record<string, string[]> = {
  open: ['plan_submitted', 'in_progress'],
  plan_submitted: ['in_progress'],
  in_progress: [],
  overdue: [],
  closed: [],
};

/** nextStates are the transitions a user may ask for from a state, the closure on evidence last. */
export function nextStates(state: string): string[] {
  if (!(state in NEXT) || state === 'closed') return [];
  return [...NEXT[state], 'closed'];
}

/**
 * transitionsFor are the transition buttons a user is offered on a case: the
 * enterprise's own token, a regulator and an administrator act on a case;
 * auditors, parks and other enterprises only read it.
 */
export function transitionsFor(c: Pick<QuotaCase, 'state' | 'enterprise'>, me: { role: Role; scope?: string } | null): string[] {
  if (!me) return [];
  const allowed = me.role === 'admin' || me.role === 'regulator' || (me.role === 'enterprise' && me.scope === c.enterprise);
  return allowed ? nextStates(c.state) : [];
}

/** historyInOrder lists a case's transitions oldest first (the server may send them newest first). */
export function historyInOrder(h: CaseEvent[] | null | undefined): CaseEvent[] {
  return [...(h ?? [])].map((e, i) => ({ e, i })).sort((a, b) => Date.parse(a.e.at) - Date.parse(b.e.at) || a.i - b.i).map((x) => x.e);
}
