// Receipts made by the Go ledger package and cosigned by a real witness
// (testdata/ledger-receipts.json, see web/receipts_test.go), checked by the
// browser verifier: every genuine receipt passes, every tampered one fails.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64 } from './bytes';
import { kOfN } from './policy';
import { verifyReceipt } from './receipt';

interface Fixture {
  log_key: string;
  witnesses: string[];
  k: number;
  meter_keys: Record<string, string>;
  receipts: { index: number; kind: 'reading' | 'key'; meter: string; seq?: number; receipt: string }[];
}

const fx = JSON.parse(readFileSync(new URL('./testdata/ledger-receipts.json', import.meta.url), 'utf8')) as Fixture;

const inputs = (receipt: string) => ({
  receipt,
  logKey: fx.log_key,
  meterKey: (m: string) => fx.meter_keys[m],
  witnesses: kOfN(fx.witnesses, fx.k),
});

function editEntry(receipt: string, edit: (entry: string) => string): string {
  return receipt.replace(/^extra (.*)$/m, (_l, b64: string) => {
    const entry = new TextDecoder().decode(decodeBase64(b64));
    const changed = edit(entry);
    expect(changed).not.toBe(entry);
    return 'extra ' + encodeBase64(new TextEncoder().encode(changed));
  });
}

describe('receipts from the Go ledger', () => {
  it('has readings and key entries', () => {
    expect(fx.receipts.filter((r) => r.kind === 'reading').length).toBeGreaterThanOrEqual(3);
    expect(fx.receipts.filter((r) => r.kind === 'key').length).toBeGreaterThanOrEqual(1);
  });

  for (const r of fx.receipts) {
    describe(`${r.kind} at index ${r.index}`, () => {
      it('verifies', async () => {
        const res = await verifyReceipt({ ...inputs(r.receipt), expect: r.kind === 'reading' ? { index: r.index, meter: r.meter, seq: r.seq } : { index: r.index } });
        expect(res.checks.filter((c) => c.status !== 'pass')).toEqual([]);
        expect(res.ok).toBe(true);
        expect(res.entryKind).toBe(r.kind);
        expect(res.cosignatures.length).toBe(fx.k);
      });

      it('fails with a changed digit in the entry', async () => {
        const bad = editEntry(r.receipt, (e) => e.replace(/(\d)(\n)/, (_m, d: string, nl: string) => `${(Number(d) + 1) % 10}${nl}`));
        const res = await verifyReceipt(inputs(bad));
        expect(res.ok).toBe(false);
        expect(res.checks.find((c) => c.name === 'inclusion')?.status).toBe('fail');
        expect(res.checks.find((c) => c.name === 'entry-signature')?.status).toBe('fail');
      });

      it('fails with another index', async () => {
        const res = await verifyReceipt(inputs(r.receipt.replace(/^index (\d+)$/m, (_l, n: string) => `index ${Number(n) ^ 1}`)));
        expect(res.ok).toBe(false);
        expect(res.checks.find((c) => c.name === 'inclusion')?.status).toBe('fail');
      });

      it('fails without the witness cosignature', async () => {
        const stripped = r.receipt.replace(/^\u2014 witness\..*\n/m, '');
        expect(stripped).not.toBe(r.receipt);
        const res = await verifyReceipt(inputs(stripped));
        expect(res.checks.find((c) => c.name === 'witnesses')).toMatchObject({ status: 'fail', reason: { code: 'witness-quorum' } });
      });
    });
  }

  it('fails against another log key', async () => {
    const other = fx.log_key.replace(/\+[0-9a-f]{8}\+/, '+00000000+');
    const res = await verifyReceipt({ ...inputs(fx.receipts[2].receipt), logKey: other });
    expect(res.checks.find((c) => c.name === 'log-signature')).toMatchObject({ status: 'fail', reason: { code: 'bad-log-key' } });
  });
});
