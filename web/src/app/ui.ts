// Building blocks shared by the pages: cards, KPI tiles, tables, badges,
// error panels and toasts.

import { ApiError, type BalanceTrust } from './api';
import { h, type Child } from './dom';
import { trustGroups, trustLabel, trustTone } from './format';
import { t, tOr } from './i18n';

/** card is a titled panel. */
export function card(title: Child, body: Child, opts: { id?: string; actions?: Child; wide?: boolean } = {}): HTMLElement {
  return h(
    'section',
    { class: `card${opts.wide ? ' wide' : ''}`, id: opts.id },
    h('header', { class: 'card-head' }, h('h2', null, title), opts.actions ? h('div', { class: 'card-actions' }, opts.actions) : null),
    h('div', { class: 'card-body' }, body),
  );
}

/** kpi is one figure with its label. */
export function kpi(label: string, value: string, opts: { hint?: string; tone?: 'good' | 'warn' | 'bad'; testid?: string } = {}): HTMLElement {
  return h(
    'div',
    { class: `kpi${opts.tone ? ' ' + opts.tone : ''}`, 'data-testid': opts.testid },
    h('div', { class: 'kpi-label' }, label),
    h('div', { class: 'kpi-value' }, value),
    opts.hint ? h('div', { class: 'kpi-hint' }, opts.hint) : null,
  );
}

/** Column describes one table column. */
export interface Column<T> {
  head: string;
  cell: (row: T) => Child;
  num?: boolean;
}

/** table renders rows; empty tables show a message instead. */
export function table<T>(cols: Column<T>[], rows: T[], opts: { empty?: string; rowAttrs?: (r: T) => Record<string, string> } = {}): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty' }, opts.empty ?? t('common.empty'));
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      null,
      h('thead', null, h('tr', null, cols.map((c) => h('th', { class: c.num ? 'num' : undefined }, c.head)))),
      h(
        'tbody',
        null,
        rows.map((r) => h('tr', opts.rowAttrs?.(r) ?? null, cols.map((c) => h('td', { class: c.num ? 'num' : undefined }, c.cell(r))))),
      ),
    ),
  );
}

/** flagBadges shows a reading's data-quality flags. */
export function flagBadges(flags: string[] | null | undefined): Child {
  if (!flags || flags.length === 0) return h('span', { class: 'badge ok', title: t('flag.none.hint') }, t('flag.none'));
  return flags.map((f) => h('span', { class: `badge flag-${f}`, title: tOr(`flag.${f}.hint`, f) }, tOr(`flag.${f}`, f)));
}

/** statusBadge shows a meter's status. */
export function statusBadge(status: string | undefined): HTMLElement {
  const s = status ?? 'unknown';
  return h('span', { class: `status status-${s}` }, tOr(`status.${s}`, s));
}

/** trustBadge shows where the data behind a figure are signed (表计签名 / 网关签名 / 混合). */
export function trustBadge(level: string | null | undefined): HTMLElement {
  return h('span', { class: `badge trust ${trustTone(level)}`, 'data-trust': level ?? '', title: t('trust.hint') }, trustLabel(level));
}

/**
 * trustLine states the trust level of a balance and, when its points differ,
 * which points are of which level.
 */
export function trustLine(trust: BalanceTrust | undefined): HTMLElement | null {
  if (!trust) return null;
  const groups = trustGroups(trust.points);
  return h(
    'p',
    { class: 'trust-line', 'data-testid': 'balance-trust', 'data-trust': trust.level },
    t('trust.line'),
    trustBadge(trust.level),
    // Mixed: the meter-signed points are counted, the others (the exceptions) named.
    groups.length > 1
      ? groups.map(([l, ids]) => h('span', { class: 'muted', 'data-trust-points': l, title: ids.join('、') }, ` ${trustLabel(l)}: ${l === 'meter-signed' ? t('trust.points', { n: ids.length }) : ids.join('、')}`))
      : null,
  );
}

/** levelBadge shows 一级/二级/三级. */
export function levelBadge(level: number | undefined): HTMLElement {
  return h('span', { class: `level level-${level ?? 0}` }, tOr(`level.${level}`, String(level ?? '?')));
}

/** errorPanel explains an error: access denied, not found, offline or other. */
export function errorPanel(e: unknown, opts: { compact?: boolean } = {}): HTMLElement {
  const err = e instanceof ApiError ? e : null;
  let title: string;
  let body: string;
  let cls = 'error-panel';
  if (err?.status === 403) {
    title = t('error.403.title');
    body = t('error.403.body');
    cls += ' forbidden';
  } else if (err?.status === 404) {
    title = t('error.404.title');
    body = t('error.404.body');
  } else if (err?.status === 0) {
    title = t('error.network.title');
    body = t('error.network.body');
  } else {
    title = t('error.other.title');
    body = err ? t('error.other.status', { status: err.status }) : t('error.other.body');
  }
  const detail = e instanceof Error ? e.message : String(e);
  return h(
    'div',
    { class: cls + (opts.compact ? ' compact' : ''), role: 'alert', 'data-status': err ? String(err.status) : 'error' },
    h('h3', null, title),
    h('p', null, body),
    detail ? h('p', { class: 'detail' }, t('error.detail'), ' ', h('code', null, detail)) : null,
  );
}

/** loading is a placeholder while a section loads. */
export function loading(): HTMLElement {
  return h('p', { class: 'loading' }, t('common.loading'));
}

/** toast shows a short message for a few seconds. */
export function toast(message: string, tone: 'info' | 'error' = 'info'): void {
  let box = document.getElementById('toasts');
  if (!box) {
    box = h('div', { id: 'toasts', 'aria-live': 'polite' });
    document.body.append(box);
  }
  const el = h('div', { class: `toast ${tone}` }, message);
  box.append(el);
  setTimeout(() => el.remove(), 5000);
}

/** breadcrumbs renders a trail; items without href are plain text. */
export function breadcrumbs(items: { label: string; href?: string }[]): HTMLElement {
  return h(
    'nav',
    { class: 'breadcrumbs', 'aria-label': t('common.breadcrumbs') },
    items.map((it, i) => [
      i > 0 ? h('span', { class: 'sep' }, '›') : null,
      it.href && i < items.length - 1 ? h('a', { href: it.href }, it.label) : h('span', { class: 'here' }, it.label),
    ]),
  );
}

/** download saves text as a file. */
export function download(name: string, text: string, type = 'text/plain'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** pageTitle sets the document title. */
export function pageTitle(title: string): void {
  document.title = `${title} · ${t('app.name')}`;
}
