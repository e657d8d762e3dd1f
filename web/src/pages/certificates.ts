// The water-rights certificates (水权证书): the list with the holders'
// balances and, for admins and regulators, the issue form; and the page of
// one certificate with its holdings, its history in ledger order (issue,
// transfers, retirement, each with its ledger index and receipt) and the
// transfer and retire forms for whoever may act for a holder.

import './mgmt.css';
import './certificates.css';
import { ApiError, getJSON, getText, postJSON } from '../app/api';
import { enterprises, settle } from '../app/cache';
import { h, replace } from '../app/dom';
import { fmtNum, fmtTime, hasTime } from '../app/format';
import { pick, t, tOr } from '../app/i18n';
import { setQuery, type PageContext } from '../app/router';
import { currentMe } from '../app/session';
import { breadcrumbs, card, download, kpi, pageTitle, table, toast } from '../app/ui';
import { actsFor, certificateList, certificateOf, consistent, mayIssue, movement, shares, statementUse, totals, volumeInput, type Certificate, type CertificateOp, type Holding } from './certificatemodel';

type Names = Map<string, { name: string; name_en?: string }> | null | undefined;

function nameOf(names: Names, id: string): string {
  const e = names?.get(id);
  return e ? pick(e.name, e.name_en) : id;
}

function m3(v: number): string {
  return `${fmtNum(v, 0)} m³`;
}

function certLink(c: Certificate): HTMLElement {
  return h('a', { href: `/certificates/${encodeURIComponent(c.id)}`, 'data-certificate': c.id }, c.id);
}

/** refusedText says why the server refused, as it said it. */
function refusedText(err: unknown): string {
  return err instanceof ApiError && err.status === 403 ? t('error.403.title') : t('cert.refused', { reason: (err as Error).message });
}

/** submitting disables a form's button while a request runs and reports its outcome. */
async function submitting(button: HTMLButtonElement, run: () => Promise<{ operation?: { index: number } } | null>): Promise<void> {
  button.disabled = true;
  try {
    const out = await run();
    toast(t('cert.done', { index: out?.operation?.index ?? '—' }));
    setQuery({});
  } catch (err) {
    button.disabled = false;
    toast(refusedText(err), 'error');
  }
}

function issueForm(): HTMLElement {
  const statement = h('input', { type: 'text', 'data-testid': 'issue-statement', placeholder: 'mvs-…', 'aria-label': t('cert.statement') });
  const volume = h('input', { type: 'text', inputmode: 'numeric', 'data-testid': 'issue-volume', 'aria-label': t('cert.form.volume') });
  const button = h('button', { type: 'submit', 'data-testid': 'issue-submit' }, t('cert.form.submit'));
  const form = h(
    'form',
    { class: 'cert-form', 'data-testid': 'issue-form' },
    h('p', { class: 'muted' }, t('cert.form.issue.hint')),
    h('label', null, t('cert.statement'), ' ', statement),
    h('label', null, t('cert.form.volume'), ' ', volume),
    button,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = statement.value.trim();
    if (!id) return toast(t('cert.form.needStatement'), 'error');
    const v = volumeInput(volume.value, Number.MAX_SAFE_INTEGER, true);
    if (v.error) return toast(t(v.error as 'cert.form.volumeWhole'), 'error');
    void submitting(button, () => postJSON('/certificates', { statement: id, volume: v.volume }));
  });
  return form;
}

export async function certificatesPage(ctx: PageContext): Promise<void> {
  pageTitle(t('cert.title'));
  const [raw, names] = await Promise.all([getJSON<unknown>(`/certificates${ctx.query.get('holder') ? `?holder=${encodeURIComponent(ctx.query.get('holder')!)}` : ''}`), settle(enterprises())]);
  if (ctx.signal.aborted) return;
  const { certificates, balances } = certificateList(raw);
  const sum = totals(certificates);
  const me = currentMe();
  replace(
    ctx.root,
    h('div', { class: 'page-head' }, h('h1', null, t('cert.title'), h('span', { class: 'subtitle' }, t('cert.subtitle')))),
    h('p', { class: 'muted' }, t('cert.lead')),
    h(
      'div',
      { class: 'kpis', 'data-testid': 'cert-summary' },
      kpi(t('cert.count'), fmtNum(sum.certificates, 0), { testid: 'count-certificates' }),
      kpi(t('cert.issued'), m3(sum.issued), { testid: 'sum-issued' }),
      kpi(t('cert.held'), m3(sum.held), { testid: 'sum-held' }),
      kpi(t('cert.retired'), m3(sum.retired), { testid: 'sum-retired' }),
    ),
    mayIssue(me?.role) ? card(t('cert.form.issue'), issueForm(), { id: 'issue-card' }) : null,
    card(
      t('cert.list'),
      h(
        'div',
        { 'data-testid': 'cert-list' },
        table<Certificate>(
          [
            { head: t('cert.id'), cell: certLink },
            { head: t('cert.statement'), cell: (c) => h('code', null, c.statement) },
            { head: t('cert.enterprise'), cell: (c) => nameOf(names, c.enterprise) },
            { head: t('cert.volume'), cell: (c) => m3(c.volume_m3), num: true },
            { head: t('cert.retired'), cell: (c) => m3(c.retired_m3), num: true },
            { head: t('cert.holders'), cell: (c) => c.holdings.map((x) => `${nameOf(names, x.holder)} ${fmtNum(x.volume_m3, 0)}`).join('；') || '—' },
            { head: t('cert.issuedAt'), cell: (c) => (hasTime(c.issued) ? fmtTime(c.issued) : '—') },
          ],
          certificates,
          { empty: t('cert.empty'), rowAttrs: (c) => ({ 'data-row': c.id }) },
        ),
      ),
      { wide: true, id: 'cert-list-card' },
    ),
    card(
      t('cert.balances'),
      h(
        'div',
        { 'data-testid': 'cert-balances' },
        table(
          [
            { head: t('cert.holder'), cell: (b) => h('a', { href: `/certificates?holder=${encodeURIComponent(b.holder)}`, 'data-holder': b.holder }, nameOf(names, b.holder)) },
            { head: t('cert.held'), cell: (b) => m3(b.held_m3), num: true },
            { head: t('cert.retired'), cell: (b) => m3(b.retired_m3), num: true },
          ],
          balances,
          { empty: t('cert.empty'), rowAttrs: (b) => ({ 'data-balance': b.holder }) },
        ),
      ),
      { id: 'cert-balances-card' },
    ),
  );
}

function opLabel(op: CertificateOp): HTMLElement {
  const kind = movement(op).kind;
  return h('span', { class: `badge cert-op cert-${kind}`, 'data-op': kind }, tOr(`cert.op.${kind}`, kind));
}

async function downloadReceipt(op: CertificateOp): Promise<void> {
  try {
    download(`receipt-${op.index}.tlog-proof`, await getText(`/proof?index=${op.index}`));
  } catch (err) {
    toast((err as Error).message, 'error');
  }
}

function historyTable(c: Certificate, names: Names): HTMLElement {
  return h(
    'div',
    { 'data-testid': 'cert-history' },
    table<CertificateOp>(
      [
        { head: t('cert.index'), cell: (op) => h('span', { 'data-index': String(op.index) }, String(op.index)), num: true },
        { head: t('cert.op'), cell: opLabel },
        { head: t('cert.from'), cell: (op) => (movement(op).from ? nameOf(names, movement(op).from) : h('span', { class: 'muted' }, t('cert.fromSaving'))) },
        { head: t('cert.to'), cell: (op) => (movement(op).to ? nameOf(names, movement(op).to) : h('span', { class: 'muted' }, t('cert.toRetired'))) },
        { head: t('cert.form.volume'), cell: (op) => fmtNum(op.volume_m3, 0), num: true },
        { head: t('cert.purpose'), cell: (op) => op.purpose || '' },
        { head: t('cert.actor'), cell: (op) => op.actor || '—' },
        { head: t('cert.time'), cell: (op) => (hasTime(op.time) ? fmtTime(op.time) : '—') },
        { head: t('cert.receipt'), cell: (op) => h('button', { type: 'button', class: 'small secondary', 'data-receipt': String(op.index), onclick: () => void downloadReceipt(op) }, t('cert.receipt.get')) },
      ],
      c.history ?? [],
      { rowAttrs: (op) => ({ 'data-event': op.op, 'data-op-id': op.id }) },
    ),
  );
}

function actionForms(c: Certificate, holdings: Holding[], names: Names): HTMLElement {
  if (holdings.length === 0) return h('p', { class: 'muted', 'data-testid': 'cert-actions' }, t('cert.noActions'));
  return h(
    'div',
    { 'data-testid': 'cert-actions' },
    holdings.map((hd) => {
      const to = h('input', { type: 'text', 'data-testid': 'transfer-to', 'aria-label': t('cert.form.to') });
      const tv = h('input', { type: 'text', inputmode: 'numeric', 'data-testid': 'transfer-volume', 'aria-label': t('cert.form.volume') });
      const tb = h('button', { type: 'submit', 'data-testid': 'transfer-submit' }, t('cert.form.transfer'));
      const transfer = h('form', { class: 'cert-form', 'data-form': 'transfer' }, h('label', null, t('cert.form.to'), ' ', to), h('label', null, t('cert.form.volume'), ' ', tv), tb);
      transfer.addEventListener('submit', (ev) => {
        ev.preventDefault();
        const v = volumeInput(tv.value, hd.volume_m3);
        if (v.error) return toast(t(v.error as 'cert.form.volumeWhole'), 'error');
        if (!to.value.trim()) return toast(t('cert.form.needTo'), 'error');
        void submitting(tb, () => postJSON(`/certificates/${encodeURIComponent(c.id)}/transfer`, { from: hd.holder, to: to.value.trim(), volume: v.volume }));
      });
      const rv = h('input', { type: 'text', inputmode: 'numeric', 'data-testid': 'retire-volume', 'aria-label': t('cert.form.volume') });
      const purpose = h('input', { type: 'text', class: 'wide-input', 'data-testid': 'retire-purpose', 'aria-label': t('cert.form.purpose') });
      const rb = h('button', { type: 'submit', class: 'secondary', 'data-testid': 'retire-submit' }, t('cert.form.retire'));
      const retire = h('form', { class: 'cert-form', 'data-form': 'retire' }, h('label', null, t('cert.form.volume'), ' ', rv), h('label', null, t('cert.form.purpose'), ' ', purpose), rb);
      retire.addEventListener('submit', (ev) => {
        ev.preventDefault();
        const v = volumeInput(rv.value, hd.volume_m3);
        if (v.error) return toast(t(v.error as 'cert.form.volumeWhole'), 'error');
        if (!purpose.value.trim()) return toast(t('cert.form.needPurpose'), 'error');
        void submitting(rb, () => postJSON(`/certificates/${encodeURIComponent(c.id)}/retire`, { holder: hd.holder, volume: v.volume, purpose: purpose.value.trim() }));
      });
      return h('div', { class: 'cert-act', 'data-act-for': hd.holder }, h('h3', null, t('cert.form.act', { holder: nameOf(names, hd.holder), n: fmtNum(hd.volume_m3, 0) })), transfer, retire);
    }),
  );
}

export async function certificatePage(ctx: PageContext): Promise<void> {
  const id = ctx.params.id;
  const [raw, names] = await Promise.all([getJSON<unknown>(`/certificates/${encodeURIComponent(id)}`), settle(enterprises())]);
  if (ctx.signal.aborted) return;
  const c = certificateOf(raw);
  if (!c) throw new Error(`certificate ${id}: unreadable answer`);
  pageTitle(`${t('cert.title')} ${c.id}`);
  const me = currentMe();
  replace(
    ctx.root,
    breadcrumbs([{ label: t('cert.title'), href: '/certificates' }, { label: c.id }]),
    h('div', { class: 'page-head' }, h('h1', null, c.id, h('span', { class: 'subtitle' }, nameOf(names, c.enterprise)))),
    consistent(c) ? null : h('p', { class: 'bad-text', 'data-testid': 'cert-inconsistent' }, t('cert.inconsistent')),
    h(
      'div',
      { class: 'kpis', 'data-testid': 'cert-figures' },
      kpi(t('cert.volume'), m3(c.volume_m3)),
      kpi(t('cert.held'), m3(c.holdings.reduce((s, x) => s + x.volume_m3, 0))),
      kpi(t('cert.retired'), m3(c.retired_m3)),
    ),
    card(
      t('cert.details'),
      h(
        'dl',
        { class: 'facts', 'data-testid': 'cert-facts' },
        h('dt', null, t('cert.statement')),
        h('dd', null, h('code', null, c.statement)),
        h('dt', null, t('cert.digest')),
        h('dd', null, h('code', { class: 'hash' }, c.statement_digest ?? '—')),
        h('dt', null, t('cert.allowance')),
        h('dd', { 'data-testid': 'cert-allowance' }, ((u) => (u ? t('cert.allowance.use', { issued: fmtNum(u.issued, 0), allowance: fmtNum(u.allowance, 0), left: fmtNum(u.left, 0) }) : '—'))(statementUse(c))),
        h('dt', null, t('cert.checkpoint')),
        h('dd', null, c.checkpoint_size !== undefined ? String(c.checkpoint_size) : '—'),
        h('dt', null, t('cert.enterprise')),
        h('dd', null, nameOf(names, c.enterprise)),
        h('dt', null, t('cert.issuedAt')),
        h('dd', null, hasTime(c.issued) ? fmtTime(c.issued) : '—', c.issued_index !== undefined ? h('span', { class: 'muted' }, ` · ${t('cert.index')} ${c.issued_index}`) : null),
      ),
      { id: 'cert-card' },
    ),
    card(
      t('cert.holdings'),
      h(
        'div',
        { 'data-testid': 'cert-holdings' },
        table(
          [
            { head: t('cert.holder'), cell: (s) => (s.holder ? nameOf(names, s.holder) : h('span', { class: 'muted' }, t('cert.retiredPart'))) },
            { head: t('cert.holding'), cell: (s) => m3(s.volume), num: true },
            { head: t('cert.share'), cell: (s) => `${fmtNum(s.share * 100, 1)}%`, num: true },
          ],
          shares(c),
          { rowAttrs: (s) => ({ 'data-holding': s.holder || 'retired' }) },
        ),
      ),
      { id: 'cert-holdings-card' },
    ),
    card(t('cert.form.transfer') + ' / ' + t('cert.form.retire'), actionForms(c, actsFor(me?.role, me?.scope, c), names), { id: 'cert-actions-card' }),
    card(t('cert.history'), historyTable(c, names), { wide: true, id: 'cert-history-card' }),
  );
}
