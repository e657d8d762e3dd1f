// One meter: its registration and key, and its readings with ledger index,
// data-quality flags and a per-reading receipt check done in the browser.

import { getJSON, getText, qs, type Channel, type Enterprise, type Meter, type Point, type ReadingItem, type ReadingPage } from '../app/api';
import { settle } from '../app/cache';
import { h, replace } from '../app/dom';
import { fmtAgo, fmtNum, fmtTime, fmtValue, hasTime } from '../app/format';
import { pick, t, tOr } from '../app/i18n';
import type { PageContext } from '../app/router';
import { breadcrumbs, card, download, errorPanel, flagBadges, loading, pageTitle, statusBadge, trustBadge } from '../app/ui';
import { verificationView, verifyIndex } from './verifyview';

const PAGE_SIZE = 50;

function receiptName(r: ReadingItem): string {
  return `shuixiao-${r.meter}-seq${r.seq}-index${r.index}.tlog-proof`;
}

export async function meterPage(ctx: PageContext): Promise<void> {
  const id = ctx.params.id;
  const m = await getJSON<Meter>(`/meters/${encodeURIComponent(id)}`);
  if (ctx.signal.aborted) return;
  pageTitle(m.id);
  const [ent, pts] = await Promise.all([
    m.enterprise ? settle(getJSON<Enterprise>(`/enterprises/${encodeURIComponent(m.enterprise)}`)) : undefined,
    m.enterprise ? settle(getJSON<Point[]>(`/points${qs({ enterprise: m.enterprise })}`)) : undefined,
  ]);
  const point = pts?.find((p) => p.id === m.point);
  const channels: Channel[] = point?.channels ?? [];

  const info = h(
    'dl',
    { class: 'facts', 'data-testid': 'meter-info' },
    h('dt', null, t('meter.id')),
    h('dd', null, h('code', null, m.id)),
    h('dt', null, t('meter.point')),
    h('dd', null, point ? `${pick(point.name, point.name_en)} (${tOr(`level.${point.level}`, String(point.level))}, ${tOr(`stage.${point.stage}`, point.stage)})` : m.point),
    h('dt', null, t('meter.enterprise')),
    h('dd', null, m.enterprise ? h('a', { href: `/enterprises/${encodeURIComponent(m.enterprise)}` }, ent ? pick(ent.name, ent.name_en) : m.enterprise) : '—'),
    h('dt', null, t('meter.status')),
    h('dd', null, statusBadge(m.status), hasTime(m.last_time) ? h('span', { class: 'muted' }, ' ', t('meter.lastSeen'), ' ', fmtAgo(m.last_time)) : null),
    h('dt', null, t('meter.signed')),
    h('dd', null, tOr(`signed.${m.signed}`, m.signed ?? '—'), m.gateway ? h('span', { class: 'muted' }, ` (${m.gateway})`) : null),
    h('dt', null, t('trust.label')),
    h('dd', { 'data-testid': 'meter-trust' }, trustBadge(m.trust)),
    h('dt', null, t('meter.interval')),
    h('dd', null, m.interval_s ? t('meter.seconds', { n: m.interval_s }) : '—'),
    h('dt', null, t('meter.last')),
    h('dd', null, m.last_seq !== undefined ? t('meter.lastSeqIndex', { seq: fmtNum(m.last_seq, 0), index: fmtNum(m.last_index ?? null, 0) }) : '—'),
    h('dt', null, t('meter.registered')),
    h('dd', null, fmtTime(m.registered)),
    h('dt', null, t('meter.key')),
    h('dd', null, h('code', { class: 'key', 'data-testid': 'meter-key' }, m.key)),
  );

  const readingsBox = h('div', null, loading());
  const pager = h('div', { class: 'pager' });
  replace(
    ctx.root,
    breadcrumbs([
      ...(m.enterprise ? [{ label: ent ? pick(ent.name, ent.name_en) : m.enterprise, href: `/enterprises/${encodeURIComponent(m.enterprise)}` }] : []),
      { label: m.id },
    ]),
    h('div', { class: 'page-head' }, h('h1', null, t('meter.title', { id: m.id }), h('span', { class: 'subtitle' }, point ? pick(point.name, point.name_en) : ''))),
    card(t('meter.info'), info, { wide: true }),
    card(t('meter.readings'), [h('p', { class: 'hint' }, t('meter.readings.hint')), readingsBox, pager], { wide: true, id: 'readings-card' }),
  );

  // Cursor paging: `cursors` holds the cursor of every page seen so far.
  const cursors: string[] = [''];
  let pageNo = 0;
  const to = new Date(Date.now() + 3600e3).toISOString();
  const from = new Date(0).toISOString();

  const load = async () => {
    replace(readingsBox, loading());
    let page: ReadingPage;
    try {
      page = await getJSON<ReadingPage>(`/readings${qs({ meter: id, from, to, limit: PAGE_SIZE, order: 'desc', cursor: cursors[pageNo] })}`);
    } catch (e) {
      replace(readingsBox, errorPanel(e, { compact: true }));
      return;
    }
    if (ctx.signal.aborted) return;
    if (page.next) cursors[pageNo + 1] = page.next;
    replace(readingsBox, page.trust ? h('p', { class: 'trust-line', 'data-testid': 'readings-trust' }, t('trust.line'), trustBadge(page.trust)) : null, readingsTable(page.items ?? [], channels));
    replace(
      pager,
      h('button', { type: 'button', class: 'secondary', disabled: pageNo === 0, onclick: () => go(-1) }, t('common.prev')),
      h('span', { class: 'page-no' }, t('common.page', { n: pageNo + 1 })),
      h('button', { type: 'button', class: 'secondary', disabled: !page.next, onclick: () => go(1), 'data-testid': 'next-page' }, t('common.next')),
    );
  };
  const go = (d: number) => {
    pageNo = Math.max(0, pageNo + d);
    void load();
  };
  await load();
}

function readingsTable(items: ReadingItem[], channels: Channel[]): HTMLElement {
  if (items.length === 0) return h('p', { class: 'empty' }, t('meter.noReadings'));
  const names = [...new Set(items.flatMap((r) => Object.keys(r.values ?? {})))];
  const order = (c: string) => {
    const i = channels.findIndex((x) => x.name === c);
    return i < 0 ? 99 : i;
  };
  names.sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  const unit = (c: string) => channels.find((x) => x.name === c)?.unit;
  const cols = 6 + names.length;
  const tbody = h('tbody');
  for (const r of items) {
    const result = h('td', { class: 'verify-cell' });
    const detail = h('tr', { class: 'verify-detail', hidden: true }, h('td', { colspan: cols }));
    const verifyBtn = h('button', { type: 'button', class: 'small', 'data-action': 'verify' }, t('verify.button'));
    verifyBtn.addEventListener('click', async () => {
      verifyBtn.disabled = true;
      replace(result, h('span', { class: 'muted' }, t('verify.running')));
      detail.hidden = false;
      const cell = detail.firstElementChild as HTMLElement;
      replace(cell, loading());
      try {
        const v = await verifyIndex(r.index, { meter: r.meter, seq: r.seq, index: r.index, values: r.values });
        replace(result, h('span', { class: v.result.ok ? 'verdict-ok' : 'verdict-fail', 'data-result': v.result.ok ? 'ok' : 'fail' }, v.result.ok ? '✓' : '✗'));
        replace(cell, verificationView(v, receiptName(r)));
      } catch (e) {
        replace(result, h('span', { class: 'verdict-fail', 'data-result': 'error' }, '✗'));
        replace(cell, errorPanel(e, { compact: true }));
      } finally {
        verifyBtn.disabled = false;
      }
    });
    const dlBtn = h('button', { type: 'button', class: 'small secondary', 'data-action': 'download' }, t('verify.download'));
    dlBtn.addEventListener('click', async () => {
      try {
        download(receiptName(r), await getText(`/proof?index=${r.index}`));
      } catch (e) {
        detail.hidden = false;
        replace(detail.firstElementChild as HTMLElement, errorPanel(e, { compact: true }));
      }
    });
    tbody.append(
      h(
        'tr',
        { 'data-seq': String(r.seq), 'data-index': String(r.index) },
        h('td', null, fmtTime(r.time)),
        h('td', { class: 'num' }, fmtNum(r.seq, 0)),
        h('td', { class: 'num' }, fmtNum(r.index, 0)),
        names.map((c) => h('td', { class: 'num' }, fmtValue(r.values?.[c], unit(c)))),
        h('td', null, flagBadges(r.flags)),
        h('td', { class: 'actions' }, verifyBtn, ' ', dlBtn),
        result,
      ),
      detail,
    );
  }
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'readings', 'data-testid': 'readings' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', null, t('reading.time')),
          h('th', { class: 'num' }, t('reading.seq')),
          h('th', { class: 'num', title: t('reading.index.hint') }, t('reading.index')),
          names.map((c) => h('th', { class: 'num' }, tOr(`channel.${c}`, c))),
          h('th', null, t('reading.flags')),
          h('th', null, t('reading.receipt')),
          h('th', null, t('reading.verified')),
        ),
      ),
      tbody,
    ),
  );
}
