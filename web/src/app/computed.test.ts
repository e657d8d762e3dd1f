import { afterEach, describe, expect, it, vi } from 'vitest';
import { getComputed, type Computing } from './api';

const computing: Computing = {
  status: 'computing',
  message: '年度汇总计算中',
  year: 2026,
  started_at: '2026-12-07T20:00:00Z',
  elapsed_ms: 1200,
  series_read: 10,
  series_to_read: 40,
};

function answer(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', 'Retry-After': '1' } });
}

describe('getComputed', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });
  it('asks again while the roll-up is computing (202) and answers the figures', async () => {
    vi.useFakeTimers();
    vi.stubGlobal('localStorage', { getItem: () => null, setItem: () => {}, removeItem: () => {} });
    vi.stubGlobal('sessionStorage', { getItem: () => null, setItem: () => {}, removeItem: () => {} });
    const fetch = vi
      .fn()
      .mockResolvedValueOnce(answer(202, computing))
      .mockResolvedValueOnce(answer(202, { ...computing, series_read: 30 }))
      .mockResolvedValueOnce(answer(200, { year: 2026, indicators: [] }));
    vi.stubGlobal('fetch', fetch);
    const seen: number[] = [];
    const got = getComputed<{ year: number }>('/targets?year=2026', (c) => seen.push(c.series_read));
    await vi.runAllTimersAsync();
    expect(await got).toEqual({ year: 2026, indicators: [] });
    expect(seen).toEqual([10, 30]);
    expect(fetch).toHaveBeenCalledTimes(3);
    for (const call of fetch.mock.calls) expect(call[0]).toBe('/api/v1/targets?year=2026');
  });
  it('stops when the page is left', async () => {
    vi.stubGlobal('localStorage', { getItem: () => null, setItem: () => {}, removeItem: () => {} });
    vi.stubGlobal('sessionStorage', { getItem: () => null, setItem: () => {}, removeItem: () => {} });
    vi.stubGlobal('fetch', vi.fn().mockResolvedValue(answer(202, computing)));
    const leave = new AbortController();
    const got = getComputed('/targets', () => leave.abort(), leave.signal);
    await expect(got).rejects.toThrow('aborted');
  });
});
