import { describe, expect, it } from 'vitest';
import { boardCounts, boardRows, daysLeft, filterBoard, gradeTone, historyInOrder, nextStates, sortBoard, summarise, transitionsFor, usage, CASE_STATES } from './quotamodel';

// GET /quota-board rows and a case in the contract's shape (notes/contract14.md, item D).
const board = [
  { enterprise: 'e1', product: '粗钢', unit: 'm3/t', value: 3.0, limit: 3.2, grade: '3' },
  { enterprise: 'e2', product: '啤酒', unit: 'm3/kL', value: 6.1, limit: 5.5, grade: 'over', case: { id: 7, state: 'open', deadline: '2027-06-30T00:00:00+08:00' } },
  { enterprise: 'e3', product: '烧碱', unit: 'm3/t', value: 9, limit: 7.5, grade: 'over', case_id: 9, case_state: 'overdue', case_deadline: '2026-01-01T00:00:00+08:00' },
  { enterprise: 'e1', product: '机织印染布', unit: 'm3/100m', value: 1.0, limit: 2.0, grade: '1' },
  { enterprise: 'e4', product: '粗铅', unit: 'm3/t', value: 3.9, limit: 4.0, grade: '3', case: { id: 3, state: 'closed' } },
  { enterprise: 'e5', product: '白酒（原酒）', unit: 'm3/kL', value: null, limit: 40, grade: null },
];

describe('quota board', () => {
  it('reads the board as an array or wrapped, with the case inline or flat', () => {
    expect(boardRows(board).length).toBe(6);
    expect(boardRows({ rows: board }).length).toBe(6);
    expect(boardRows({ items: board.slice(0, 2) }).length).toBe(2);
    expect(boardRows(null)).toEqual([]);
    expect(boardRows({})).toEqual([]);
    expect(boardRows(board)[2].case).toEqual({ id: 9, state: 'overdue', deadline: '2026-01-01T00:00:00+08:00' });
  });
  it('over quota first, overdue before open, then the highest use of the quota', () => {
    const sorted = sortBoard(boardRows(board)).map((r) => `${r.enterprise}/${r.product}`);
    expect(sorted).toEqual(['e3/烧碱', 'e2/啤酒', 'e4/粗铅', 'e1/粗钢', 'e1/机织印染布', 'e5/白酒（原酒）']);
  });
  it('filters and counts', () => {
    const rows = boardRows(board);
    expect(filterBoard(rows, 'over').map((r) => r.enterprise)).toEqual(['e2', 'e3']);
    expect(filterBoard(rows, 'cases').map((r) => r.enterprise)).toEqual(['e2', 'e3']);
    expect(filterBoard(rows, 'all').length).toBe(6);
    expect(summarise(rows)).toEqual({ rows: 6, enterprises: 5, over: 2, open: 2, overdue: 1 });
  });
  it('grades and use of the quota', () => {
    expect(['1', '2', '3', 'over', undefined].map(gradeTone)).toEqual(['ok', 'ok', 'warn', 'bad', 'none']);
    expect(usage({ value: 6.1, limit: 5 })).toBeCloseTo(1.22, 10);
    expect(usage({ value: null, limit: 5 })).toBeNull();
    expect(usage({ value: 1, limit: 0 })).toBeNull();
  });
});

describe('retrofit case', () => {
  const now = new Date('2026-12-06T12:00:00+08:00');
  it('days to the deadline, negative once past', () => {
    expect(daysLeft('2026-12-16T12:00:00+08:00', now)).toBe(10);
    expect(daysLeft('2026-12-05T12:00:00+08:00', now)).toBe(-1);
    expect(daysLeft(undefined, now)).toBeNull();
    expect(daysLeft('soon', now)).toBeNull();
  });
  it("steps follow quotacase: overdue is the platform's, closing is a request the server checks against metered evidence", () => {
    for (const s of CASE_STATES) expect(nextStates(s)).not.toContain('overdue');
    expect(nextStates('open')).toEqual(['plan_submitted', 'in_progress', 'closed']);
    expect(nextStates('plan_submitted')).toEqual(['in_progress', 'closed']);
    expect(nextStates('in_progress')).toEqual(['closed']);
    expect(nextStates('overdue')).toEqual(['closed']);
    expect(nextStates('closed')).toEqual([]);
    expect(nextStates('nonsense')).toEqual([]);
  });
  it("the server's counts", () => {
    expect(boardCounts({ rows: [], over: 3, cases: { open: 2, overdue: 1 }, no_output: ['e9'], from: '2026-12-05T00:00:00+08:00', to: '2026-12-06T00:00:00+08:00' })).toEqual({
      over: 3,
      cases: { open: 2, overdue: 1 },
      noOutput: ['e9'],
      from: '2026-12-05T00:00:00+08:00',
      to: '2026-12-06T00:00:00+08:00',
    });
    expect(boardCounts([])).toEqual({});
  });
  it('who is offered the transitions', () => {
    const c = { state: 'open', enterprise: 'e2' };
    const all = ['plan_submitted', 'in_progress', 'closed'];
    expect(transitionsFor(c, { role: 'admin' })).toEqual(all);
    expect(transitionsFor(c, { role: 'regulator' })).toEqual(all);
    expect(transitionsFor(c, { role: 'enterprise', scope: 'e2' })).toEqual(all);
    expect(transitionsFor(c, { role: 'enterprise', scope: 'e9' })).toEqual([]);
    expect(transitionsFor(c, { role: 'auditor' })).toEqual([]);
    expect(transitionsFor(c, { role: 'park', scope: 'p1' })).toEqual([]);
    expect(transitionsFor(c, null)).toEqual([]);
  });
  it('history oldest first, ties in the order sent', () => {
    const h = historyInOrder([
      { from: 'open', to: 'plan_submitted', at: '2026-03-01T10:00:00+08:00', actor: 'e2' },
      { to: 'open', at: '2026-01-05T10:00:00+08:00', actor: 'system' },
      { from: 'plan_submitted', to: 'in_progress', at: '2026-03-01T10:00:00+08:00', actor: 'e2' },
    ]);
    expect(h.map((e) => e.to)).toEqual(['open', 'plan_submitted', 'in_progress']);
    expect(historyInOrder(null)).toEqual([]);
  });
});
