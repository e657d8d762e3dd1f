// Fetching what a receipt is checked against, and showing the outcome.
// The keys come from the same server as the receipt; the panel shows the log
// key so that a careful user can compare it with the one the operator
// published (and `shuixiao verify proof` can be run fully offline).

import { getJSON, getText, type LedgerStatus } from '../app/api';
import { logKey, meter } from '../app/cache';
import { h } from '../app/dom';
import { fmtTime } from '../app/format';
import { t, tOr } from '../app/i18n';
import { kOfN, parseWitnessPolicy, type WitnessPolicy } from '../verify/policy';
import { verifyReceipt, type Expectation, type ReceiptResult } from '../verify/receipt';

/**
 * policyFromStatus reads the witness policy from the ledger status: the
 * policy file itself when the server sends it, else "k of the listed keys".
 */
export function policyFromStatus(s: LedgerStatus): WitnessPolicy | undefined {
  if (s.policy?.text?.trim()) return parseWitnessPolicy(s.policy.text);
  const keys = (s.witnesses ?? []).map((w) => w.key).filter((k): k is string => !!k);
  const k = s.policy?.k ?? 0;
  return k > 0 && keys.length > 0 ? kOfN(keys, k) : undefined;
}

/** Witness policy as published by the ledger status (undefined: none, or not visible to this token). */
async function witnessPolicy(): Promise<WitnessPolicy | undefined> {
  try {
    return policyFromStatus(await getJSON<LedgerStatus>('/ledger/status'));
  } catch {
    return undefined;
  }
}

/** Verification is a receipt with its result and the keys used. */
export interface Verification {
  receipt: string;
  result: ReceiptResult;
  logKey: string;
  meterKey?: string;
}

/** verifyText checks a receipt's text against the server's published keys. */
export async function verifyText(receipt: string, expect?: Expectation): Promise<Verification> {
  const [lk, witnesses] = await Promise.all([logKey(), witnessPolicy()]);
  let meterKey: string | undefined;
  const result = await verifyReceipt({
    receipt,
    logKey: lk,
    witnesses,
    expect,
    meterKey: async (id) => {
      meterKey = (await meter(id)).key;
      return meterKey;
    },
  });
  return { receipt, result, logKey: lk, meterKey };
}

/** verifyIndex fetches the receipt of a ledger index and checks it. */
export async function verifyIndex(index: number, expect?: Expectation): Promise<Verification> {
  const receipt = await getText(`/proof?index=${index}`);
  return verifyText(receipt, expect);
}

function reasonText(code: string, params?: Record<string, string | number>): string {
  return tOr(`verify.reason.${code}`, code, params);
}

/** verificationView lists every check with ✓/✗ and the reasons. */
export function verificationView(v: Verification, receiptName?: string): HTMLElement {
  const r = v.result;
  const sym = { pass: '✓', fail: '✗', skip: '–' } as const;
  const cmd = [
    'shuixiao verify proof',
    receiptName ?? 'receipt.tlog-proof',
    `--log-key '${v.logKey}'`,
    v.meterKey ? `--meter-key '${v.meterKey}'` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return h(
    'div',
    { class: `verification ${r.ok ? 'ok' : 'failed'}`, 'data-testid': 'verification', 'data-result': r.ok ? 'ok' : 'fail' },
    h('p', { class: 'verdict' }, r.ok ? `✓ ${t('verify.ok')}` : `✗ ${t('verify.failed')}`),
    h(
      'ul',
      { class: 'checks' },
      r.checks.map((c) =>
        h(
          'li',
          { class: `check ${c.status}`, 'data-check': c.name, 'data-status': c.status },
          h('span', { class: 'sym' }, sym[c.status]),
          h('strong', null, tOr(`verify.check.${c.name}`, c.name)),
          ' ',
          reasonText(c.reason.code, c.reason.params),
        ),
      ),
    ),
    r.cosignatures.length
      ? h('p', { class: 'muted' }, t('verify.cosigned'), ' ', r.cosignatures.map((c) => `${c.name} (${fmtTime(c.time.toISOString())})`).join('; '))
      : null,
    h('details', null, h('summary', null, t('verify.offline')), h('p', null, t('verify.offline.hint')), h('pre', { class: 'cmd' }, cmd)),
  );
}
