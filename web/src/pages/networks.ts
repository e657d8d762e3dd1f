// The pipe networks the token may see, with their monitoring state; and the
// small list other pages (enterprise, park) embed.

import { getJSON, qs } from '../app/api';
import { enterprises, parks, settle } from '../app/cache';
import { h, replace } from '../app/dom';
import { fmtPct } from '../app/format';
import { pick, t } from '../app/i18n';
import type { PageContext } from '../app/router';
import { card, errorPanel, pageTitle, table } from '../app/ui';
import { calibrationProgress, type NetworkSummary } from './networkmodel';
import './network.css';

/** monitorBadge says what a network's detector is doing. */
export function monitorBadge(n: NetworkSummary): HTMLElement {
  const m = n.monitor;
  const d = m?.detector;
  let cls = 'none';
  let text = t('net.monitor.none');
  if (m?.error) {
    cls = 'error';
    text = t('net.monitor.error');
  } else if (m?.open_alarm) {
    cls = 'holding';
    text = t('net.monitor.holding');
  } else if (d && !d.calibrated) {
    cls = 'calibrating';
    text = t('net.monitor.calibrating', { pct: fmtPct(calibrationProgress(d), 0) });
  } else if (d) {
    cls = 'watching';
    text = t('net.monitor.watching');
  }
  return h('span', { class: `net-badge net-${cls}`, 'data-monitor': cls, title: m?.error ?? d?.last_error ?? '' }, text);
}

/** networkTable lists networks with links to their pages. */
export async function networkTable(list: NetworkSummary[]): Promise<HTMLElement> {
  const [ents, pks] = await Promise.all([settle(enterprises()), settle(parks())]);
  const entName = (id?: string) => {
    const e = id ? ents?.get(id) : undefined;
    return e ? pick(e.name, e.name_en) : (id ?? '—');
  };
  const parkName = (id?: string) => {
    const p = id ? pks?.get(id) : undefined;
    return p ? pick(p.name, p.name_en) : (id ?? '—');
  };
  return table<NetworkSummary>(
    [
      { head: t('net.col.name'), cell: (n) => h('a', { href: `/networks/${encodeURIComponent(n.id)}`, 'data-network': n.id }, pick(n.name, n.name_en)) },
      { head: t('net.col.park'), cell: (n) => parkName(n.park) },
      { head: t('net.col.operator'), cell: (n) => (n.enterprise ? h('a', { href: `/enterprises/${encodeURIComponent(n.enterprise)}` }, entName(n.enterprise)) : '—') },
      { head: t('net.col.size'), cell: (n) => t('net.size', { j: n.junctions, l: n.links, s: n.sensors, z: n.zones }) },
      { head: t('net.col.monitor'), cell: (n) => monitorBadge(n) },
    ],
    list,
    { empty: t('networks.none'), rowAttrs: (n) => ({ 'data-network-row': n.id }) },
  );
}

/**
 * appendNetworksCard adds a card listing the networks of a park or of an
 * operating enterprise to a page, if there are any the token may see.
 */
export async function appendNetworksCard(root: HTMLElement, filter: { park?: string; enterprise?: string }, title: string, signal: AbortSignal): Promise<void> {
  const list = await settle(getJSON<NetworkSummary[]>(`/networks${qs(filter)}`));
  if (!list || list.length === 0 || signal.aborted) return;
  const tbl = await networkTable(list);
  if (signal.aborted) return;
  root.append(card(title, tbl, { wide: true, id: 'networks-card' }));
}

export async function networksPage(ctx: PageContext): Promise<void> {
  pageTitle(t('networks.title'));
  const park = ctx.query.get('park') ?? '';
  let list: NetworkSummary[];
  try {
    list = await getJSON<NetworkSummary[]>(`/networks${qs({ park })}`);
  } catch (e) {
    replace(ctx.root, errorPanel(e));
    return;
  }
  if (ctx.signal.aborted) return;
  replace(
    ctx.root,
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, t('networks.title'), h('span', { class: 'subtitle' }, t('networks.count', { n: list.length }))),
    ),
    h('p', { class: 'muted' }, t('networks.subtitle')),
    h('div', { 'data-testid': 'networks' }, await networkTable(list)),
  );
}
