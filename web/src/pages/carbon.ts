// Water–carbon accounts (水–碳协同核算): the electricity attributable to
// water and its CO₂ for the year to date, of the province with its parks, a
// park with its enterprises, or an enterprise; by stage, with the factors
// used and whether they were verified. Figures from GET /carbon.

import './mgmt.css';
import { getJSON, qs } from '../app/api';
import { h, replace } from '../app/dom';
import { fmtNum, fmtTime } from '../app/format';
import { t, tOr } from '../app/i18n';
import type { PageContext } from '../app/router';
import { currentMe } from '../app/session';
import { breadcrumbs, card, kpi, pageTitle, table } from '../app/ui';
import { carbonStages, tonnes, type StageEnergy } from './planmodel';

interface Line {
  level: string;
  id: string;
  name: string;
  enterprises: number;
  intake_m3: number;
  discharge_m3: number;
  kg_co2_per_m3: number;
  incomplete: boolean;
  account: { stages: StageEnergy[]; kwh: number; kg_co2: number; verified: boolean };
}

interface Answer {
  year: number;
  from: string;
  to: string;
  level: string;
  line: Line;
  parts: Line[];
  factors: { grid: { name: string; data_year: number; kg_co2_per_kwh: number; source: string; verified: boolean } };
}

export async function carbonPage(ctx: PageContext): Promise<void> {
  const me = currentMe();
  let level = ctx.query.get('level') ?? '';
  let id = ctx.query.get('id') ?? '';
  if (!level) {
    if (me?.role === 'enterprise' && me.scope) [level, id] = ['enterprise', me.scope];
    else if (me?.role === 'park' && me.scope) [level, id] = ['park', me.scope];
    else level = 'province';
  }
  const a = await getJSON<Answer>(`/carbon${qs({ level, id: id || undefined, year: ctx.query.get('year') ?? undefined })}`);
  if (ctx.signal.aborted) return;
  pageTitle(t('carbon.title'));
  const l = a.line;
  const g = a.factors.grid;
  const partLevel = a.level === 'province' ? 'park' : 'enterprise';
  replace(
    ctx.root,
    a.level === 'province' ? null : breadcrumbs([{ label: t('carbon.title'), href: '/carbon?level=province' }, { label: l.name || l.id }]),
    h('div', { class: 'page-head' }, h('h1', null, t('carbon.title'), h('span', { class: 'subtitle' }, `${l.name || l.id} · ${t('carbon.subtitle')}`))),
    h('p', { class: 'muted' }, t('carbon.lead')),
    h('p', { 'data-testid': 'carbon-period' }, t('carbon.period', { from: fmtTime(a.from, false), to: fmtTime(a.to, false) })),
    h(
      'div',
      { class: 'kpis', 'data-testid': 'carbon-kpis' },
      kpi(t('carbon.intake'), fmtNum(l.intake_m3, 0)),
      kpi(t('carbon.kwh'), fmtNum(l.account.kwh, 0)),
      kpi(t('carbon.co2'), tonnes(l.account.kg_co2), { testid: 'carbon-co2', hint: l.incomplete ? t('carbon.incomplete') : undefined }),
      kpi(t('carbon.perM3'), l.intake_m3 > 0 ? fmtNum(l.kg_co2_per_m3, 3) : '—'),
    ),
    card(
      t('carbon.stages'),
      table(
        [
          { head: t('carbon.col.stage'), cell: (s: ReturnType<typeof carbonStages>[number]) => tOr(`carbon.stage.${s.stage}`, s.stage) },
          { head: t('carbon.col.water'), cell: (s) => fmtNum(s.water_m3, 0), num: true },
          { head: t('carbon.kwh'), cell: (s) => fmtNum(s.kwh, 0), num: true },
          { head: t('carbon.co2'), cell: (s) => tonnes(s.kg_co2), num: true },
          { head: t('carbon.col.part'), cell: (s) => `${(s.part * 100).toFixed(0)} %`, num: true },
          {
            head: t('carbon.col.basis'),
            cell: (s) =>
              h('span', { title: s.factor?.source ?? '' }, tOr(`carbon.basis.${s.basis}`, s.basis), s.factor ? h('span', { class: 'muted' }, ` ${fmtNum(s.factor.kwh_per_m3, 2)} kWh/m³ · ${s.factor.verified ? t('carbon.verified') : t('carbon.unverified')}`) : null),
          },
        ],
        carbonStages(l.account.stages),
        { rowAttrs: (s) => ({ 'data-stage': s.stage }) },
      ),
      { wide: true, id: 'carbon-stages' },
    ),
    h('p', { class: 'muted', 'data-testid': 'carbon-factor' }, t('carbon.factor', { name: g.name, value: g.kg_co2_per_kwh, year: g.data_year, source: g.source }), ' · ', g.verified ? t('carbon.verified') : t('carbon.unverified')),
    a.parts.length
      ? card(
          t(a.level === 'province' ? 'carbon.parts.province' : 'carbon.parts.park'),
          table(
            [
              { head: t('carbon.col.unit'), cell: (p: Line) => h('a', { href: `/carbon?level=${partLevel}&id=${encodeURIComponent(p.id)}` }, p.name || p.id) },
              { head: t('carbon.intake'), cell: (p) => fmtNum(p.intake_m3, 0), num: true },
              { head: t('carbon.kwh'), cell: (p) => fmtNum(p.account.kwh, 0), num: true },
              { head: t('carbon.co2'), cell: (p) => tonnes(p.account.kg_co2), num: true },
            ],
            [...a.parts].sort((x, y) => y.account.kg_co2 - x.account.kg_co2),
            { rowAttrs: (p) => ({ 'data-part': p.id }) },
          ),
          { wide: true, id: 'carbon-parts' },
        )
      : null,
  );
}
