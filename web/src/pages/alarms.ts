// Alarms: filter by state and kind, acknowledge, clear, and see each alarm's history.

import { ApiError, getJSON, postJSON, qs, type Alarm, type AlarmEvent } from '../app/api';
import { enterprises, settle } from '../app/cache';
import { h, replace } from '../app/dom';
import { fmtNum, fmtTime, hasTime } from '../app/format';
import { pick, t, tOr } from '../app/i18n';
import { setQuery, type PageContext } from '../app/router';
import { capabilities, currentMe } from '../app/session';
import { errorPanel, loading, pageTitle, table, toast } from '../app/ui';

const STATES = ['active', 'acked', 'cleared', 'all'] as const;
const KINDS = ['offline', 'gap', 'rejected', 'replay', 'quarantined', 'skew', 'implausible', 'balance', 'leak'];

function historyView(events: AlarmEvent[]): HTMLElement {
  return table<AlarmEvent>(
    [
      { head: t('alarm.history.time'), cell: (e) => fmtTime(e.time) },
      { head: t('alarm.state'), cell: (e) => h('span', { class: `state state-${e.state}` }, tOr(`alarmState.${e.state}`, e.state)) },
      { head: t('alarm.history.by'), cell: (e) => e.by || '—' },
      { head: t('alarm.history.note'), cell: (e) => e.note || '' },
    ],
    events,
    { empty: t('alarm.history.none') },
  );
}

export async function alarmsPage(ctx: PageContext): Promise<void> {
  pageTitle(t('alarms.title'));
  const state = (STATES as readonly string[]).includes(ctx.query.get('state') ?? '') ? ctx.query.get('state')! : 'active';
  const kind = ctx.query.get('kind') ?? '';
  const enterprise = ctx.query.get('enterprise') ?? '';
  const caps = capabilities(currentMe()?.role);

  const list = await getJSON<Alarm[]>(`/alarms${qs({ state, kind, enterprise })}`);
  if (ctx.signal.aborted) return;
  const names = await settle(enterprises());
  const entName = (id?: string) => {
    const e = id ? names?.get(id) : undefined;
    return e ? pick(e.name, e.name_en) : (id ?? '—');
  };

  const filters = h(
    'div',
    { class: 'filters' },
    h(
      'div',
      { class: 'segmented', role: 'group', 'aria-label': t('alarm.state') },
      STATES.map((s) =>
        h('button', { type: 'button', class: s === state ? 'on' : undefined, 'data-state': s, 'aria-pressed': s === state ? 'true' : 'false', onclick: () => setQuery({ state: s }) }, t(`alarmState.${s}`)),
      ),
    ),
    h(
      'label',
      null,
      t('alarm.kind'),
      ' ',
      h(
        'select',
        { onchange: (ev: Event) => setQuery({ kind: (ev.target as HTMLSelectElement).value }) },
        h('option', { value: '' }, t('common.all')),
        KINDS.map((k) => h('option', { value: k, selected: k === kind }, tOr(`alarmKind.${k}`, k))),
      ),
    ),
    names && names.size > 1
      ? h(
          'label',
          null,
          t('alarm.enterprise'),
          ' ',
          h(
            'select',
            { onchange: (ev: Event) => setQuery({ enterprise: (ev.target as HTMLSelectElement).value }) },
            h('option', { value: '' }, t('common.all')),
            [...names.values()].map((e) => h('option', { value: e.id, selected: e.id === enterprise }, pick(e.name, e.name_en))),
          ),
        )
      : null,
    h('button', { type: 'button', class: 'secondary', onclick: () => setQuery({}) }, t('common.refresh')),
  );

  const act = async (a: Alarm, action: 'ack' | 'clear', btn: HTMLButtonElement) => {
    btn.disabled = true;
    try {
      await postJSON(`/alarms/${encodeURIComponent(String(a.id))}/${action}`);
      toast(t(action === 'ack' ? 'alarm.acked' : 'alarm.cleared'));
      setQuery({});
    } catch (e) {
      btn.disabled = false;
      toast(e instanceof ApiError && e.status === 403 ? t('error.403.title') : (e as Error).message, 'error');
    }
  };

  const rows = h('tbody');
  const cols = 9;
  for (const a of list) {
    const hist = h('tr', { class: 'history', hidden: true }, h('td', { colspan: cols }));
    const histBtn = h('button', { type: 'button', class: 'small secondary', 'data-action': 'history' }, t('alarm.history'));
    histBtn.addEventListener('click', async () => {
      hist.hidden = !hist.hidden;
      if (hist.hidden) return;
      const cell = hist.firstElementChild as HTMLElement;
      replace(cell, loading());
      try {
        replace(cell, historyView(await getJSON<AlarmEvent[]>(`/alarms/${encodeURIComponent(String(a.id))}/history`)));
      } catch (e) {
        replace(cell, errorPanel(e, { compact: true }));
      }
    });
    const buttons: HTMLElement[] = [];
    if (caps.handleAlarms && a.state === 'active') {
      const b = h('button', { type: 'button', class: 'small', 'data-action': 'ack' }, t('alarm.ack'));
      b.addEventListener('click', () => void act(a, 'ack', b));
      buttons.push(b);
    }
    if (caps.handleAlarms && a.state !== 'cleared') {
      const b = h('button', { type: 'button', class: 'small secondary', 'data-action': 'clear' }, t('alarm.clear'));
      b.addEventListener('click', () => void act(a, 'clear', b));
      buttons.push(b);
    }
    rows.append(
      h(
        'tr',
        { 'data-alarm': String(a.id), 'data-state': a.state },
        h('td', null, h('span', { class: `sev sev-${a.severity ?? 'warning'}` }, tOr(`severity.${a.severity}`, a.severity ?? '—'))),
        h('td', null, tOr(`alarmKind.${a.kind}`, a.kind)),
        h('td', null, pick(a.message, a.message_en)),
        h('td', null, a.enterprise ? h('a', { href: `/enterprises/${encodeURIComponent(a.enterprise)}` }, entName(a.enterprise)) : '—'),
        h('td', null, a.meter ? h('a', { href: `/meters/${encodeURIComponent(a.meter)}` }, a.meter) : (a.point ?? '—')),
        h('td', null, fmtTime(a.raised)),
        h('td', null, hasTime(a.acked) ? [fmtTime(a.acked), a.acked_by ? h('span', { class: 'muted' }, ` (${a.acked_by})`) : null] : '—'),
        h('td', null, h('span', { class: `state state-${a.state}` }, tOr(`alarmState.${a.state}`, a.state)), hasTime(a.cleared) ? h('div', { class: 'muted' }, fmtTime(a.cleared)) : null),
        h('td', { class: 'actions' }, buttons, histBtn),
      ),
      hist,
    );
  }

  replace(
    ctx.root,
    h('div', { class: 'page-head' }, h('h1', null, t('alarms.title'), h('span', { class: 'subtitle' }, t('alarms.count', { n: fmtNum(list.length, 0) })))),
    filters,
    list.length === 0
      ? h('p', { class: 'empty', 'data-testid': 'alarms-empty' }, t('alarm.none'))
      : h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'alarms', 'data-testid': 'alarms' },
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                [t('alarm.severity'), t('alarm.kind'), t('alarm.message'), t('alarm.enterprise'), t('alarm.source'), t('alarm.raised'), t('alarm.ackedAt'), t('alarm.state'), t('alarm.actions')].map((x) => h('th', null, x)),
              ),
            ),
            rows,
          ),
        ),
  );
}
