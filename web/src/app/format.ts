// Number and time formats. Times are shown in Asia/Shanghai whatever the
// browser's zone, because the platform's days close at Shanghai midnight and
// every user of a Hunan deployment reads Beijing time.

import { getLang, t, tOr } from './i18n';

export const TIME_ZONE = 'Asia/Shanghai';

function locale(): string {
  return getLang() === 'zh' ? 'zh-CN' : 'en-GB';
}

const numberFormats = new Map<string, Intl.NumberFormat>();

/** fmtNum formats a number with grouping and at most `digits` decimals; null → "—". */
export function fmtNum(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const key = `${locale()}|${digits}`;
  let f = numberFormats.get(key);
  if (!f) {
    // signDisplay 'negative': a value that rounds to zero is "0", never "-0".
    f = new Intl.NumberFormat(locale(), { maximumFractionDigits: digits, minimumFractionDigits: 0, signDisplay: 'negative' });
    numberFormats.set(key, f);
  }
  return f.format(v);
}

/** fmtM3 formats a volume in m³. */
export function fmtM3(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : `${fmtNum(v, v < 100 ? 2 : 1)} m³`;
}

/** fmtPct formats a fraction (0.853) as a percentage ("85.3%"). */
export function fmtPct(f: number | null | undefined, digits = 1): string {
  if (f === null || f === undefined || !Number.isFinite(f)) return '—';
  return `${fmtNum(f * 100, digits)}%`;
}

/** fmtValue formats a channel value with its unit. */
export function fmtValue(v: number | null | undefined, unit?: string): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  const digits = a >= 1000 ? 1 : a >= 10 ? 2 : 3;
  const u = unit ? prettyUnit(unit) : '';
  return u ? `${fmtNum(v, digits)} ${u}` : fmtNum(v, digits);
}

/** prettyUnit turns UCUM-style units into what people write. */
export function prettyUnit(u: string): string {
  return u.replace(/^m3\/h$/, 'm³/h').replace(/^m3$/, 'm³').replace('[pH]', '').replace('uS/cm', 'µS/cm').replace('Cel', '°C');
}

function parts(d: Date, withSeconds: boolean): Record<string, string> {
  const f = new Intl.DateTimeFormat('en-CA', {
    timeZone: TIME_ZONE,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: withSeconds ? '2-digit' : undefined,
    hourCycle: 'h23',
  });
  const out: Record<string, string> = {};
  for (const p of f.formatToParts(d)) out[p.type] = p.value;
  return out;
}

/**
 * hasTime reports whether t is a real time: Go encodes an unset time.Time as
 * "0001-01-01T00:00:00Z", which must read as "not yet", not as year 1.
 */
export function hasTime(t: string | null | undefined): t is string {
  if (!t) return false;
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? ms > 0 : true;
}

/** fmtTime formats an RFC 3339 time as "2026-11-28 10:32:40" Beijing time. */
export function fmtTime(t: string | null | undefined, withSeconds = true): string {
  if (!hasTime(t)) return '—';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return t;
  const p = parts(d, withSeconds);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}${withSeconds ? ':' + p.second : ''}`;
}

/** dateInShanghai returns the calendar date (YYYY-MM-DD) of an instant in Shanghai. */
export function dateInShanghai(d: Date = new Date()): string {
  const p = parts(d, false);
  return `${p.year}-${p.month}-${p.day}`;
}

/** shanghaiMidnight returns the instant a Shanghai calendar day starts. */
export function shanghaiMidnight(date: string): Date {
  return new Date(`${date}T00:00:00+08:00`);
}

/** fmtAgo formats how long ago a time was ("3 分钟前" / "3 minutes ago"). */
export function fmtAgo(t: string | null | undefined, now: Date = new Date()): string {
  if (!hasTime(t)) return '—';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return t;
  const s = Math.round((d.getTime() - now.getTime()) / 1000);
  const rtf = new Intl.RelativeTimeFormat(getLang() === 'zh' ? 'zh-CN' : 'en', { numeric: 'auto' });
  const a = Math.abs(s);
  if (a < 60) return rtf.format(s, 'second');
  if (a < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (a < 86400) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86400), 'day');
}

/**
 * trustLabel names a trust level the server sends with data (meter-signed,
 * gateway-signed or mixed; empty when no meter stands behind a figure) in
 * the current language.
 */
export function trustLabel(level: string | null | undefined): string {
  if (!level) return t('trust.none');
  return tOr(`trust.${level}`, level);
}

/** trustTone is the badge tone of a trust level: only data signed at the meter are "ok". */
export function trustTone(level: string | null | undefined): 'ok' | 'warn' {
  return level === 'meter-signed' ? 'ok' : 'warn';
}

/**
 * trustGroups lists the points of each trust level, levels in the order
 * meter-signed, gateway-signed, mixed, then any other, points sorted.
 */
export function trustGroups(points: Record<string, { level: string }> | null | undefined): [string, string[]][] {
  const by = new Map<string, string[]>();
  for (const [id, s] of Object.entries(points ?? {})) {
    const l = s.level ?? '';
    by.set(l, [...(by.get(l) ?? []), id]);
  }
  const order = ['meter-signed', 'gateway-signed', 'mixed'];
  const rank = (l: string) => (order.includes(l) ? order.indexOf(l) : order.length);
  return [...by.entries()].sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0])).map(([l, ids]) => [l, ids.sort()]);
}
