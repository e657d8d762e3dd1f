import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64 } from './bytes';
import { parseVerifierKey } from './note';
import { kOfN } from './policy';
import { verifyReceipt, type ReceiptInputs } from './receipt';
import { checkpointFor, cosign, newKey, readingText, receiptFor, signNote, type TestLog } from './testlog';

const origin = 'ledger.test.shuixiao/v1';
const logKey = newKey(origin);
const meters = { M1: newKey('meter/M1'), M2: newKey('meter/M2') };

function makeLog(n: number): TestLog {
  const entries: string[] = [];
  for (let i = 0; i < n; i++) {
    const m = i % 2 === 0 ? 'M1' : 'M2';
    entries.push(signNote(readingText(m, i + 1, { total_m3: `${1000 + i}.125`, flow_m3h: '12.5' }), meters[m]));
  }
  return { origin, logKey, entries };
}

const lookup = (m: string) => meters[m as 'M1' | 'M2']?.vkey ?? null;

function inputs(receipt: string, extra: Partial<ReceiptInputs> = {}): ReceiptInputs {
  return { receipt, logKey: logKey.vkey, meterKey: lookup, ...extra };
}

function status(r: Awaited<ReturnType<typeof verifyReceipt>>, name: string) {
  return r.checks.find((c) => c.name === name);
}

describe('verifyReceipt accepts genuine receipts', () => {
  // Every index of every tree size up to 17 covers left/right children, the
  // rightmost incomplete subtrees and single-leaf trees.
  for (let n = 1; n <= 17; n++) {
    it(`tree of ${n}`, async () => {
      const log = makeLog(n);
      for (let i = 0; i < n; i++) {
        const r = await verifyReceipt(inputs(receiptFor(log, i), { expect: { index: i, seq: i + 1, values: { total_m3: 1000 + i + 0.125 } } }));
        expect(r.checks.filter((c) => c.status === 'fail')).toEqual([]);
        expect(r.ok).toBe(true);
        expect(r.index).toBe(BigInt(i));
        expect(r.reading?.meter).toBe(i % 2 === 0 ? 'M1' : 'M2');
      }
    });
  }
});

describe('verifyReceipt rejects tampering', () => {
  const log = makeLog(11);
  const good = receiptFor(log, 6);
  const lines = good.split('\n');
  const extraLine = lines.findIndex((l) => l.startsWith('extra '));
  const entry = new TextDecoder().decode(decodeBase64(lines[extraLine].slice(6)));

  function withEntry(text: string): string {
    const l = [...lines];
    l[extraLine] = 'extra ' + encodeBase64(new TextEncoder().encode(text));
    return l.join('\n');
  }

  const otherLog = newKey(origin); // same name, different key: a forged checkpoint
  const cases: { name: string; receipt: string; check: string; code: string; opts?: Partial<ReceiptInputs> }[] = [
    { name: 'changed digit in the reading', receipt: withEntry(entry.replace('1006.125', '1007.125')), check: 'inclusion', code: 'root-mismatch' },
    { name: 'changed digit breaks the meter signature too', receipt: withEntry(entry.replace('1006.125', '1007.125')), check: 'entry-signature', code: 'bad-meter-signature' },
    {
      name: 'flipped proof hash',
      receipt: (() => {
        const l = [...lines];
        const h = decodeBase64(l[extraLine + 2]);
        h[0] ^= 1;
        l[extraLine + 2] = encodeBase64(h);
        return l.join('\n');
      })(),
      check: 'inclusion',
      code: 'root-mismatch',
    },
    { name: 'wrong index', receipt: good.replace('\nindex 6\n', '\nindex 7\n'), check: 'inclusion', code: 'root-mismatch' },
    { name: 'index beyond size', receipt: good.replace('\nindex 6\n', '\nindex 11\n'), check: 'inclusion', code: 'bad-proof' },
    {
      name: 'dropped proof hash',
      receipt: lines.filter((_, i) => i !== extraLine + 2).join('\n'),
      check: 'inclusion',
      code: 'bad-proof',
    },
    { name: 'checkpoint size edited', receipt: good.replace(`\n11\n`, `\n12\n`), check: 'log-signature', code: 'bad-log-signature' },
    { name: 'checkpoint signed by another key', receipt: receiptFor(log, 6, checkpointFor(log, otherLog)), check: 'log-signature', code: 'no-log-signature' },
    {
      name: 'checkpoint signed under another name',
      receipt: receiptFor(log, 6, checkpointFor(log, newKey('evil.example/log'))),
      check: 'log-signature',
      code: 'no-log-signature',
    },
    {
      name: 'origin differs from key name',
      receipt: receiptFor(log, 6, checkpointFor(log, logKey, 'other.origin/v1')),
      check: 'log-signature',
      code: 'origin-mismatch',
    },
    {
      name: 'reading signed by the wrong meter key',
      receipt: (() => {
        const forged = { ...log, entries: [...log.entries] };
        forged.entries[6] = signNote(readingText('M1', 7, { total_m3: '1006.125', flow_m3h: '12.5' }), newKey('meter/M1'));
        return receiptFor(forged, 6);
      })(),
      check: 'entry-signature',
      code: 'bad-meter-signature',
    },
    { name: 'no entry', receipt: lines.filter((_, i) => i !== extraLine).join('\n'), check: 'format', code: 'no-entry' },
    { name: 'not a receipt', receipt: 'hello\n\nworld\n', check: 'format', code: 'malformed-receipt' },
    { name: 'stored value differs', receipt: good, check: 'match', code: 'mismatch-value', opts: { expect: { values: { total_m3: 1006.5 } } } },
    { name: 'receipt for another reading', receipt: good, check: 'match', code: 'mismatch-seq', opts: { expect: { seq: 8 } } },
    { name: 'meter key unknown', receipt: good, check: 'entry-signature', code: 'meter-key-unavailable', opts: { meterKey: () => null } },
    {
      name: 'meter key of another meter',
      receipt: good,
      check: 'entry-signature',
      code: 'meter-key-name',
      opts: { meterKey: () => meters.M2.vkey },
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await verifyReceipt(inputs(c.receipt, c.opts));
      expect(r.ok).toBe(false);
      expect(status(r, c.check)).toMatchObject({ status: 'fail', reason: { code: c.code } });
    });
  }
  it('the untouched receipt passes (control)', async () => {
    expect((await verifyReceipt(inputs(good))).ok).toBe(true);
  });
});

describe('witness cosignatures', () => {
  const log = makeLog(5);
  const w1 = newKey('witness.test/w1', 4);
  const w2 = newKey('witness.test/w2', 4);
  const w3 = newKey('witness.test/w3', 4);
  const cp = cosign(cosign(checkpointFor(log), w1, 1764288000), w2, 1764288001);
  const policy = (k: number) => kOfN([w1.vkey, w2.vkey, w3.vkey], k);

  it('2 of 3 cosigned meets k=2', async () => {
    const r = await verifyReceipt(inputs(receiptFor(log, 3, cp), { witnesses: policy(2) }));
    expect(status(r, 'witnesses')).toMatchObject({ status: 'pass', reason: { params: { got: 2, quorum: '2 of {w1, w2, w3}' } } });
    expect(r.cosignatures.map((c) => c.time.getTime() / 1000)).toEqual([1764288000, 1764288001]);
    expect(r.ok).toBe(true);
  });
  it('2 of 3 cosigned fails k=3', async () => {
    const r = await verifyReceipt(inputs(receiptFor(log, 3, cp), { witnesses: policy(3) }));
    expect(status(r, 'witnesses')).toMatchObject({ status: 'fail', reason: { code: 'witness-quorum' } });
    expect(r.ok).toBe(false);
  });
  it('a cosignature with an edited timestamp does not count', async () => {
    const lines = cp.split('\n');
    const i = lines.findIndex((l) => l.startsWith('\u2014 witness.test/w1 '));
    const raw = decodeBase64(lines[i].split(' ')[2]);
    raw[4 + 7] ^= 1; // last byte of the timestamp
    lines[i] = `\u2014 witness.test/w1 ${encodeBase64(raw)}`;
    const r = await verifyReceipt(inputs(receiptFor(log, 3, lines.join('\n')), { witnesses: policy(2) }));
    expect(status(r, 'witnesses')).toMatchObject({ status: 'fail', reason: { params: { got: 1 } } });
  });
  it('a cosignature dated in the future does not count', async () => {
    const r = await verifyReceipt(inputs(receiptFor(log, 3, cp), { witnesses: policy(2), now: new Date(1764287400_500) /* w1 is 599.5 s ahead, w2 600.5 s */ }));
    expect(status(r, 'witnesses')).toMatchObject({ status: 'fail', reason: { params: { got: 1 } } });
  });
  it('a witness key written with type 0x01 verifies cosignatures too', async () => {
    const alt = w1.vkey.replace(/\+([0-9a-f]{8})\+(.*)$/, (_m, _h, k: string) => {
      const raw = decodeBase64(k);
      raw[0] = 1;
      return `+00000000+${encodeBase64(raw)}`;
    });
    const r = await verifyReceipt(inputs(receiptFor(log, 3, cp), { witnesses: kOfN([alt], 1) }));
    expect(status(r, 'witnesses')?.status).toBe('pass');
  });
});

describe('parseVerifierKey', () => {
  it('accepts a well-formed key', () => {
    expect(parseVerifierKey(logKey.vkey).name).toBe(origin);
  });
  it('rejects a key whose hash does not match', () => {
    const bad = logKey.vkey.replace(/\+[0-9a-f]{8}\+/, '+00000000+');
    expect(() => parseVerifierKey(bad)).toThrow(/hash/);
  });
  it('rejects names with +', () => {
    expect(() => parseVerifierKey('a+b+00000000+AAAA')).toThrow();
  });
});
