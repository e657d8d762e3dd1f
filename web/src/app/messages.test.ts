// Every label exists in both languages, and every key the code asks for exists.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { messages } from './messages';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

const src = new URL('..', import.meta.url).pathname;
const code = sources(src).map((p) => readFileSync(p, 'utf8')).join('\n');
const efficiencyCode = readFileSync(join(src, 'pages', 'efficiencymodel.ts'), 'utf8');
const receiptCode = readFileSync(join(src, 'verify', 'receipt.ts'), 'utf8');
const qualityClasses = readFileSync(join(src, '..', '..', 'reuse', 'data', 'quality_classes.csv'), 'utf8').replace(/^class,.*$/m, '');

describe('messages', () => {
  it('has Chinese and English for every key', () => {
    for (const [key, [zh, en]] of Object.entries(messages)) {
      expect(zh, key).not.toBe('');
      expect(en, key).not.toBe('');
      // Chinese labels are Chinese: at least one CJK character, unless the
      // term is the same in both (pH, COD, MQTT, a format name).
      if (zh !== en) expect(/[\u4e00-\u9fff]/.test(zh), `${key}: ${zh}`).toBe(true);
    }
  });

  it('defines every key the code uses', () => {
    const used = [...code.matchAll(/\bt\('([^']+)'/g)].map((m) => m[1]);
    expect(used.length).toBeGreaterThan(100);
    const missing = used.filter((k) => !(k in messages));
    expect(missing).toEqual([]);
  });

  it('defines every value of the dynamic key families', () => {
    const families: Record<string, string[]> = {
      'verify.reason': [...receiptCode.matchAll(/code: '([a-z-]+)'/g), ...receiptCode.matchAll(/'([a-z-]+)' : '([a-z-]+)'/g), ...receiptCode.matchAll(/fail\(checks, '[a-z-]+', '([a-z-]+)'/g)].flatMap((m) => m.slice(1)).filter((c) => c !== 'pass' && c !== 'fail'),
      'verify.check': ['format', 'log-signature', 'inclusion', 'entry-signature', 'witnesses', 'match'],
      alarmKind: ['offline', 'gap', 'rejected', 'replay', 'quarantined', 'skew', 'implausible', 'balance', 'leak'],
      alarmState: ['active', 'acked', 'cleared', 'all'],
      stage: ['intake', 'treatment', 'supply', 'use', 'recirculation', 'cascade', 'discharge'],
      source: ['surface', 'ground', 'municipal', 'reclaimed', 'rain', 'mine', 'steam'],
      flag: ['gap', 'skew', 'implausible', 'late', 'recovered'],
      role: ['admin', 'regulator', 'auditor', 'park', 'enterprise'],
      live: ['connecting', 'live', 'reconnecting', 'closed'],
      route: ['served', 'partial', 'no_flow', 'quality'],
      'plant.accept.blocked': ['no_limit', 'same', 'out_of_bounds', 'locked'],
      // Water-efficiency management pages (issue 14).
      caseState: ['open', 'plan_submitted', 'in_progress', 'overdue', 'closed'],
      'case.to': ['plan_submitted', 'in_progress', 'closed'],
      grade: ['1', '2', '3', 'over', 'none'],
      basis: ['metered', 'declared', 'mixed', 'metered/declared'],
      'target.onTrack': ['yes', 'no', 'unknown'],
      'eff.preset': ['yesterday', 'month', 'lastMonth', 'year', 'lastYear'],
      'quotas.show': ['all', 'over', 'cases'],
      // Registries and the evaluation's answers (registries.ts, evaluationview.ts).
      'reg.flag': ['missing', 'ok', 'notRequired', 'unknown'],
      'reg.hitKind': ['technology', 'provider', 'manager'],
      'reg.service': ['water_balance_test', 'diagnosis', 'contract_saving', 'design'],
      'reg.techKind': ['promote', 'research', 'digital', 'listed'],
      'reg.manager': ['name', 'phone', 'email', 'certificate', 'appointed'],
      'evalans.status': ['pass', 'fail', 'unknown'],
      'evalans.basis': ['metered', 'declared'],
      'evalans.outcome': ['passed', 'failed', 'incomplete'],
      'level.name': ['province', 'city', 'park', 'industry', 'enterprise'],
      'eff.ind': [...efficiencyCode.matchAll(/\{ key: '([a-z0-9_]+)', kind:/g)].map((m) => m[1]),
      // Quality classes and parameters of reuse/data/quality_classes.csv.
      reuseclass: [...new Set([...qualityClasses.matchAll(/^([a-z_]+),[a-z0-9_]+,/gm)].map((m) => m[1]))],
      quality: [...new Set([...qualityClasses.matchAll(/^[a-z_]+,([a-z0-9_]+),/gm)].map((m) => m[1]))],
    };
    const missing = Object.entries(families).flatMap(([f, vals]) => vals.map((v) => `${f}.${v}`).filter((k) => !(k in messages)));
    expect(missing).toEqual([]);
  });
});
