import { describe, expect, it } from 'vitest';
import { actsFor, certificateList, certificateOf, consistent, mayIssue, movement, shares, statementUse, totals, volumeInput } from './certificatemodel';

// GET /api/v1/certificates/{id} in the server's shape (internal/api/certificates.go).
const one = {
  id: 'wrc-1',
  statement: 'mvs-0123456789abcdef',
  statement_digest: '0123456789abcdef'.repeat(4),
  checkpoint_size: 120,
  enterprise: 'EN-A',
  statement_allowance_m3: 800,
  statement_issued_m3: 600,
  volume_m3: 600,
  retired_m3: 50,
  issued: '2026-03-01T08:00:00Z',
  issued_index: 130,
  holdings: [
    { holder: 'EN-B', volume_m3: 100 },
    { holder: 'EN-A', volume_m3: 350 },
    { holder: 'EN-C', volume_m3: 100 },
  ],
  history: [
    { index: 140, op: 'transfer', id: 'op-2', from: 'EN-A', to: 'EN-B', volume_m3: 250, actor: 'ent-a' },
    { index: 130, op: 'issue', id: 'op-1', holder: 'EN-A', volume_m3: 600, actor: 'reg' },
    { index: 151, op: 'transfer', id: 'op-4', from: 'EN-B', to: 'EN-C', volume_m3: 100, actor: 'admin' },
    { index: 150, op: 'retire', id: 'op-3', holder: 'EN-B', volume_m3: 50, purpose: '抵消取水', actor: 'ent-b' },
  ],
};

describe('certificates', () => {
  it('reads a certificate with its history in ledger order', () => {
    const c = certificateOf(one)!;
    expect(c.history!.map((h) => h.index)).toEqual([130, 140, 150, 151]);
    expect(c.holdings.length).toBe(3);
    expect(certificateOf(null)).toBeNull();
    expect(certificateOf({ statement: 'x' })).toBeNull();
    expect(certificateOf({ id: 'wrc-2' })!.holdings).toEqual([]);
  });
  it('describes each movement', () => {
    const c = certificateOf(one)!;
    expect(c.history!.map(movement)).toEqual([
      { kind: 'issue', from: '', to: 'EN-A', volume: 600 },
      { kind: 'transfer', from: 'EN-A', to: 'EN-B', volume: 250 },
      { kind: 'retire', from: 'EN-B', to: '', volume: 50 },
      { kind: 'transfer', from: 'EN-B', to: 'EN-C', volume: 100 },
    ]);
    expect(movement({ index: 1, op: 'mint', id: 'x', volume_m3: 5 }).kind).toBe('unknown');
  });
  it('splits the volume into holdings and the retired part, which add up', () => {
    const c = certificateOf(one)!;
    const s = shares(c);
    expect(s.map((x) => x.holder)).toEqual(['EN-A', 'EN-B', 'EN-C', '']);
    expect(s.reduce((t, x) => t + x.share, 0)).toBeCloseTo(1, 12);
    expect(consistent(c)).toBe(true);
    expect(consistent({ ...c, retired_m3: 49 })).toBe(false);
  });
  it("says how much of the statement's allowance is issued", () => {
    expect(statementUse(certificateOf(one)!)).toEqual({ issued: 600, allowance: 800, left: 200 });
    expect(statementUse(certificateOf({ id: 'wrc-2' })!)).toBeNull();
  });
  it('reads the list and sums it', () => {
    const l = certificateList({ certificates: [one, { ...one, id: 'wrc-2', volume_m3: 200, retired_m3: 0, holdings: [{ holder: 'EN-A', volume_m3: 200 }] }, 'junk'], balances: [
      { holder: 'EN-B', held_m3: 100, retired_m3: 50 },
      { holder: 'EN-A', held_m3: 550, retired_m3: 0 },
    ] });
    expect(l.certificates.map((c) => c.id)).toEqual(['wrc-1', 'wrc-2']);
    expect(l.balances.map((b) => b.holder)).toEqual(['EN-A', 'EN-B']);
    expect(totals(l.certificates)).toEqual({ certificates: 2, issued: 800, held: 750, retired: 50 });
    expect(certificateList(null)).toEqual({ certificates: [], balances: [] });
  });
  it('offers the holdings a user may act for', () => {
    const c = certificateOf(one)!;
    expect(actsFor('admin', undefined, c).map((h) => h.holder).sort()).toEqual(['EN-A', 'EN-B', 'EN-C']);
    expect(actsFor('enterprise', 'EN-B', c)).toEqual([{ holder: 'EN-B', volume_m3: 100 }]);
    expect(actsFor('enterprise', 'EN-Z', c)).toEqual([]);
    expect(actsFor('regulator', undefined, c)).toEqual([]);
    expect(actsFor('auditor', undefined, c)).toEqual([]);
    expect([mayIssue('admin'), mayIssue('regulator'), mayIssue('enterprise'), mayIssue('park')]).toEqual([true, true, false, false]);
  });
  it('reads a form volume: whole m³ within the holding', () => {
    expect(volumeInput(' 25 ', 100)).toEqual({ volume: 25 });
    expect(volumeInput('100', 100)).toEqual({ volume: 100 });
    expect(volumeInput('101', 100)).toEqual({ error: 'cert.form.volumeOver' });
    expect(volumeInput('2.5', 100)).toEqual({ error: 'cert.form.volumeWhole' });
    expect(volumeInput('0', 100)).toEqual({ error: 'cert.form.volumeWhole' });
    expect(volumeInput('-3', 100)).toEqual({ error: 'cert.form.volumeWhole' });
    expect(volumeInput('', 100)).toEqual({ error: 'cert.form.volumeRequired' });
    expect(volumeInput('', 100, true)).toEqual({ volume: 0 });
  });
});
