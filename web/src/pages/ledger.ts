// The ledger: size, latest checkpoint (its log signature and witness
// cosignatures checked here in the browser), the witnesses, admission
// rejections, and a checker for receipt files.

import { getJSON, qs, type LedgerStatus, type Rejections, type Rejection } from '../app/api';
import { logKey, settle } from '../app/cache';
import { COLORS, makeChart } from '../app/charts';
import { h, replace } from '../app/dom';
import { fmtNum, fmtTime } from '../app/format';
import { t, tOr } from '../app/i18n';
import type { PageContext } from '../app/router';
import { card, errorPanel, kpi, loading, pageTitle, table } from '../app/ui';
import { parseCheckpoint, parseSignedNote, parseVerifierKey, verifyCosignature, verifyNoteSignature, type VerifierKey } from '../verify/note';
import { describePolicy, keyIdent, quorumMet, type WitnessPolicy } from '../verify/policy';
import { policyFromStatus, verificationView, verifyText } from './verifyview';

/** CheckpointChecks are the browser's own checks of the published checkpoint. */
interface CheckpointChecks {
  log: boolean | null;
  /** per witness entry of the status (by name): cosignature time, or null if none verified */
  witnesses: Map<string, Date | null>;
  policy?: WitnessPolicy;
  quorum: boolean | null;
  /** tree size of the checkpoint */
  size?: number;
  error?: string;
}

/** checkpointChecks verifies the log signature and each witness's cosignature on the checkpoint. */
function checkpointChecks(s: LedgerStatus, lk: string | undefined): CheckpointChecks {
  const out: CheckpointChecks = { log: null, witnesses: new Map(), quorum: null };
  try {
    const note = parseSignedNote(s.checkpoint);
    const cp = parseCheckpoint(note.text);
    out.size = Number(cp.size);
    if (lk) {
      const key = parseVerifierKey(lk);
      out.log = verifyNoteSignature(note, key) && cp.origin === key.name;
    }
    // Keys come from the status entries or, by policy name or cosigner name, from the policy.
    const keys = new Map<string, VerifierKey>();
    out.policy = policyFromStatus(s);
    for (const pw of out.policy?.witnesses ?? []) {
      keys.set(pw.name, pw.key);
      keys.set(pw.key.name, pw.key);
    }
    for (const w of s.witnesses ?? []) {
      if (w.key) {
        try {
          keys.set(w.name, parseVerifierKey(w.key, 'cosignature'));
        } catch {
          // shown as not verified
        }
      }
    }
    const signed = new Set<string>();
    for (const w of s.witnesses ?? []) {
      const key = keys.get(w.name);
      const c = key ? verifyCosignature(note, key) : null;
      if (key) out.witnesses.set(w.name, c?.time ?? null);
      if (key && c) signed.add(keyIdent(key));
    }
    if (out.policy) {
      for (const pw of out.policy.witnesses) if (verifyCosignature(note, pw.key)) signed.add(keyIdent(pw.key));
      out.quorum = quorumMet(out.policy, signed);
    }
  } catch (e) {
    out.log = false;
    out.error = (e as Error).message;
  }
  return out;
}

function policyText(s: LedgerStatus, policy: WitnessPolicy | undefined): string {
  if (policy) return policy.quorum ? describePolicy(policy) : t('ledger.policy.none');
  if (s.policy?.k && s.policy?.n) return t('ledger.policy.value', { k: s.policy.k, n: s.policy.n });
  return t('ledger.policy.none');
}

function statusView(s: LedgerStatus, lk: string | undefined): HTMLElement {
  const checks = checkpointChecks(s, lk);
  const witnesses = s.witnesses ?? [];
  const cosigned = [...checks.witnesses.values()].filter(Boolean).length;
  return h(
    'div',
    null,
    h(
      'div',
      { class: 'kpis' },
      kpi(t('ledger.size'), fmtNum(checks.size ?? s.size, 0), {
        hint: checks.size !== undefined && s.size > checks.size ? t('ledger.size.written', { n: fmtNum(s.size, 0) }) : t('ledger.size.hint'),
        testid: 'ledger-size',
      }),
      kpi(t('ledger.policy'), policyText(s, checks.policy)),
      kpi(t('ledger.cosigned'), `${cosigned} / ${witnesses.length}`, {
        tone: checks.quorum === null ? undefined : checks.quorum ? 'good' : 'bad',
        hint: checks.quorum === null ? undefined : checks.quorum ? t('ledger.quorum.met') : t('ledger.quorum.notMet'),
        testid: 'quorum',
      }),
      kpi(t('ledger.logSignature'), checks.log === null ? '—' : checks.log ? `✓ ${t('ledger.valid')}` : `✗ ${t('ledger.invalid')}`, {
        tone: checks.log === null ? undefined : checks.log ? 'good' : 'bad',
        testid: 'checkpoint-signature',
        hint: checks.error,
      }),
    ),
    h('h3', null, t('ledger.origin')),
    h('p', null, h('code', null, s.origin)),
    h('h3', null, t('ledger.checkpoint')),
    h('pre', { class: 'note', 'data-testid': 'checkpoint' }, s.checkpoint),
    lk ? [h('h3', null, t('ledger.logKey')), h('p', null, h('code', { class: 'key' }, lk))] : null,
    h('h3', null, t('ledger.witnesses')),
    table(
      [
        { head: t('ledger.witness.name'), cell: (w) => h('code', null, w.name) },
        {
          head: t('ledger.witness.cosigned'),
          cell: (w) => {
            const v = checks.witnesses.get(w.name);
            if (v) return h('span', { class: 'verdict-ok' }, `✓ ${t('ledger.witness.verified')}`);
            if (w.cosigned && v === undefined) return h('span', null, `✓ ${t('ledger.witness.reported')}`);
            return h('span', { class: 'verdict-fail' }, `✗ ${t('ledger.witness.missing')}`);
          },
        },
        { head: t('ledger.witness.time'), cell: (w) => fmtTime(checks.witnesses.get(w.name)?.toISOString() ?? w.time) },
        { head: t('ledger.witness.key'), cell: (w) => (w.key ? h('code', { class: 'key' }, w.key) : w.url ? h('code', null, w.url) : '—') },
      ],
      witnesses,
      { empty: t('ledger.witness.none') },
    ),
  );
}

function rejectionsView(r: Rejections, onCleanup: (fn: () => void) => void): HTMLElement {
  const reasons = Object.entries(r.by_reason ?? {}).sort((a, b) => b[1] - a[1]);
  const chartEl = h('div', { class: 'chart small', 'data-testid': 'rejections-chart' });
  const view = h(
    'div',
    null,
    h('div', { class: 'kpis' }, kpi(t('ledger.rejections.total'), fmtNum(r.total, 0), { tone: r.total > 0 ? 'warn' : 'good', testid: 'rejections-total' })),
    reasons.length ? chartEl : null,
    h('h3', null, t('ledger.rejections.recent')),
    table<Rejection>(
      [
        { head: t('reading.time'), cell: (x) => fmtTime(x.time) },
        { head: t('reading.meter'), cell: (x) => (x.meter ? h('a', { href: `/meters/${encodeURIComponent(x.meter)}` }, x.meter) : '—') },
        { head: t('ledger.rejections.reason'), cell: (x) => h('span', { class: 'badge bad', title: x.reason }, tOr(`reject.${x.reason}`, x.reason)) },
        { head: t('ledger.rejections.detail'), cell: (x) => x.detail ?? '' },
        {
          head: t('ledger.rejections.source'),
          cell: (x) => {
            // "mqtt:127.0.0.1:55884" → "MQTT 127.0.0.1:55884"
            const [kind, ...rest] = (x.source ?? '').split(':');
            return x.source ? `${tOr(`rejectSource.${kind}`, kind)}${rest.length ? ' ' + rest.join(':') : ''}` : '—';
          },
        },
      ],
      r.recent ?? [],
      { empty: t('ledger.rejections.none') },
    ),
  );
  if (reasons.length) {
    // Drawn after insertion so the chart has a size.
    queueMicrotask(() =>
      makeChart(
        chartEl,
        {
          tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
          grid: { left: 160, right: 40, top: 10, bottom: 24 },
          xAxis: { type: 'value', minInterval: 1 },
          yAxis: { type: 'category', inverse: true, data: reasons.map(([k]) => tOr(`reject.${k}`, k)) },
          series: [{ type: 'bar', data: reasons.map(([, v]) => v), itemStyle: { color: COLORS.unaccounted }, barMaxWidth: 22, label: { show: true, position: 'right' } }],
        },
        onCleanup,
      ),
    );
  }
  return view;
}

function receiptChecker(): HTMLElement {
  const out = h('div', { 'data-testid': 'receipt-result' });
  const text = h('textarea', { id: 'receipt-text', rows: 6, spellcheck: 'false', placeholder: t('ledger.check.placeholder') });
  const file = h('input', { type: 'file', id: 'receipt-file', class: 'visually-hidden', accept: '.tlog-proof,.txt,text/plain' });
  const fileName = h('span', { class: 'muted' }, t('ledger.check.noFile'));
  const run = async (receipt: string, name?: string) => {
    replace(out, loading());
    try {
      replace(out, verificationView(await verifyText(receipt), name));
    } catch (e) {
      replace(out, errorPanel(e, { compact: true }));
    }
  };
  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    if (f) {
      fileName.textContent = f.name;
      const body = await f.text();
      text.value = body;
      await run(body, f.name);
    }
  });
  return h(
    'div',
    { class: 'receipt-checker' },
    h('p', { class: 'hint' }, t('ledger.check.hint')),
    h('div', { class: 'file' }, h('label', { class: 'file-button' }, t('ledger.check.file'), file), fileName),
    text,
    h('button', { type: 'button', class: 'primary', 'data-testid': 'check-receipt', onclick: () => void run(text.value) }, t('ledger.check.button')),
    out,
  );
}

export async function ledgerPage(ctx: PageContext): Promise<void> {
  pageTitle(t('ledger.title'));
  const statusBox = h('div', null, loading());
  const rejBox = h('div', null, loading());
  replace(
    ctx.root,
    h('div', { class: 'page-head' }, h('h1', null, t('ledger.title'), h('span', { class: 'subtitle' }, t('ledger.subtitle')))),
    card(t('ledger.status'), statusBox, { wide: true, id: 'ledger-status' }),
    card(t('ledger.rejections'), rejBox, { wide: true, id: 'rejections' }),
    card(t('ledger.check'), receiptChecker(), { wide: true, id: 'receipt-check' }),
  );
  const [status, rejections, lk] = await Promise.all([
    getJSON<LedgerStatus>('/ledger/status').then(
      (v) => ({ ok: true as const, v }),
      (e: unknown) => ({ ok: false as const, e }),
    ),
    getJSON<Rejections>(`/rejections${qs({ limit: 50 })}`).then(
      (v) => ({ ok: true as const, v }),
      (e: unknown) => ({ ok: false as const, e }),
    ),
    settle(logKey()),
  ]);
  if (ctx.signal.aborted) return;
  replace(statusBox, status.ok ? statusView(status.v, lk) : errorPanel(status.e, { compact: true }));
  replace(rejBox, rejections.ok ? rejectionsView(rejections.v, ctx.onCleanup) : errorPanel(rejections.e, { compact: true }));
}
