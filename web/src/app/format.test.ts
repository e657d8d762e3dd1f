import { describe, expect, it } from 'vitest';
import { dateInShanghai, fmtM3, fmtNum, fmtPct, fmtTime, fmtValue, prettyUnit, shanghaiMidnight } from './format';

// Node runs these in its own zone (UTC in CI); every expectation is Beijing time.
describe('times are Beijing time whatever the host zone', () => {
  it.each([
    ['2026-11-28T02:00:00Z', '2026-11-28 10:00:00'],
    ['2026-11-28T16:30:05.250Z', '2026-11-29 00:30:05'],
    ['2026-11-28T10:32:40+08:00', '2026-11-28 10:32:40'],
    ['2026-12-31T23:59:59-05:00', '2027-01-01 12:59:59'],
  ])('%s → %s', (iso, want) => {
    expect(fmtTime(iso)).toBe(want);
  });
  it('dates roll over at Shanghai midnight', () => {
    expect(dateInShanghai(new Date('2026-11-28T15:59:59Z'))).toBe('2026-11-28');
    expect(dateInShanghai(new Date('2026-11-28T16:00:00Z'))).toBe('2026-11-29');
    expect(shanghaiMidnight('2026-11-29').toISOString()).toBe('2026-11-28T16:00:00.000Z');
  });
  it('missing or bad times', () => {
    expect(fmtTime(null)).toBe('—');
    expect(fmtTime('yesterday')).toBe('yesterday');
    expect(fmtTime('0001-01-01T00:00:00Z')).toBe('—'); // Go's zero time.Time
  });
});

describe('numbers', () => {
  it.each([
    [fmtNum(1234567.891, 1), '1,234,567.9'],
    [fmtNum(null), '—'],
    [fmtNum(-0.0001, 2), '0'],
    [fmtPct(-0.00001), '0%'],
    [fmtNum(NaN), '—'],
    [fmtPct(0.85349), '85.3%'],
    [fmtPct(null), '—'],
    [fmtM3(1607), '1,607 m³'],
    [fmtM3(12.345), '12.35 m³'],
    [fmtValue(7.2, '[pH]'), '7.2'],
    [fmtValue(1520, 'uS/cm'), '1,520 µS/cm'],
    [prettyUnit('m3/h'), 'm³/h'],
  ])('%s', (got, want) => {
    expect(got).toBe(want);
  });
});
