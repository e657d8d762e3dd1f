// The plan's registries (登记库): search over technologies, service providers
// and water managers; the water-manager standing of every enterprise in
// scope with a flag on those above 100,000 m³ a year without one (and the
// form an enterprise appoints its own with); the third-party service
// library; the technology catalogue with the retrofit cases linked to each.

import './mgmt.css';
import { ApiError, getComputed, getJSON, putJSON, qs } from '../app/api';
import { h, replace } from '../app/dom';
import { dateInShanghai, fmtM3 } from '../app/format';
import { t, tOr } from '../app/i18n';
import { setQuery, type PageContext } from '../app/router';
import { currentMe } from '../app/session';
import { card, errorPanel, loading, pageTitle, table, toast } from '../app/ui';
import { checkManager, managerBody, servedText, standing, type ManagerForm, type ManagerStatus, type Provider } from './registriesmodel';

interface Hit {
  kind: string;
  id: string;
  name: string;
  detail?: string;
}

interface Technology {
  id: string;
  kind: string;
  industry_zh: string;
  industries?: string[];
  name_zh: string;
  seed_line: number;
  cases: number[];
}

const SERVICES = ['water_balance_test', 'diagnosis', 'contract_saving', 'design'];

function standingBadge(m: ManagerStatus): HTMLElement {
  const s = standing(m);
  const tone = s === 'missing' ? 'bad' : s === 'ok' ? 'good' : s === 'unknown' ? 'warn' : '';
  return h('span', { class: `badge ${tone}`, 'data-standing': s }, t(`reg.flag.${s}`));
}

async function section(box: HTMLElement, signal: AbortSignal, fill: () => Promise<HTMLElement | HTMLElement[]>): Promise<void> {
  try {
    const el = await fill();
    if (!signal.aborted) replace(box, ...(Array.isArray(el) ? el : [el]));
  } catch (e) {
    if (!signal.aborted) replace(box, errorPanel(e, { compact: true }));
  }
}

/**
 * scaleCell shows whether an enterprise is above scale (规模以上: the plan's
 * reuse-rate target counts those only); admin and regulators may change it.
 */
function scaleCell(m: ManagerStatus, reload: () => Promise<void>): HTMLElement {
  const role = currentMe()?.role;
  if (role !== 'admin' && role !== 'regulator') return h('span', { 'data-above-scale': String(!!m.above_scale) }, m.above_scale ? t('reg.aboveScale.yes') : t('reg.aboveScale.no'));
  return h('input', {
    type: 'checkbox',
    checked: !!m.above_scale,
    'data-above-scale': String(!!m.above_scale),
    'aria-label': t('reg.aboveScale'),
    onchange: async (e: Event) => {
      const on = (e.target as HTMLInputElement).checked;
      try {
        await putJSON(`/enterprises/${encodeURIComponent(m.enterprise)}/scale`, { above_scale: on });
        toast(t('reg.aboveScale.saved'));
        await reload();
      } catch (err) {
        (e.target as HTMLInputElement).checked = !on;
        toast(err instanceof ApiError ? err.message : String(err), 'error');
      }
    },
  });
}

/** managerForm is the form an enterprise (or a regulator) appoints a water manager with. */
function managerForm(id: string, current: ManagerStatus['manager'], done: () => void): HTMLElement {
  const f: ManagerForm = { name: current?.name ?? '', phone: current?.phone ?? '', email: current?.email ?? '', certificate: current?.certificate ?? '', appointed: current ? dateInShanghai(new Date(current.appointed)) : '' };
  const input = (k: keyof ManagerForm, type = 'text') =>
    h('input', { type, value: f[k], 'data-manager': k, 'aria-label': t(`reg.manager.${k}`), oninput: (e: Event) => ((f[k] = (e.target as HTMLInputElement).value), (e.target as HTMLInputElement).setCustomValidity('')) });
  const inputs = { name: input('name'), phone: input('phone', 'tel'), email: input('email', 'email'), certificate: input('certificate'), appointed: input('appointed', 'date') };
  const save = h('button', { type: 'button', 'data-testid': 'save-manager' }, t('reg.manager.save'));
  save.addEventListener('click', async () => {
    const bad = checkManager(f);
    if (bad) {
      const el = inputs[bad.field] as HTMLInputElement;
      el.setCustomValidity(t(bad.key));
      el.reportValidity();
      return;
    }
    try {
      await putJSON(`/enterprises/${encodeURIComponent(id)}/water-manager`, managerBody(f));
      toast(t('reg.manager.saved'));
      done();
    } catch (e) {
      toast(e instanceof ApiError ? e.message : String(e), 'error');
    }
  });
  return h(
    'div',
    { class: 'filters', 'data-testid': 'manager-form' },
    (Object.keys(inputs) as (keyof ManagerForm)[]).map((k) => h('label', null, t(`reg.manager.${k}`), ' ', inputs[k])),
    save,
  );
}

export async function registriesPage(ctx: PageContext): Promise<void> {
  pageTitle(t('reg.title'));
  const me = currentMe();
  const q = ctx.query.get('q') ?? '';
  const service = SERVICES.includes(ctx.query.get('service') ?? '') ? ctx.query.get('service')! : '';
  const industry = /^\d{1,4}$/.test(ctx.query.get('industry') ?? '') ? ctx.query.get('industry')! : '';
  const flaggedOnly = ctx.query.get('flagged') === '1';

  const searchInput = h('input', { type: 'search', value: q, placeholder: t('reg.searchHint'), 'data-testid': 'reg-search', 'aria-label': t('reg.search'), maxlength: '100' });
  const go = () => setQuery({ q: (searchInput as HTMLInputElement).value.trim() });
  searchInput.addEventListener('keydown', (e) => (e as KeyboardEvent).key === 'Enter' && go());
  const hitsBox = h('div', null, q ? loading() : null);
  const mgrBox = h('div', null, loading());
  const provBox = h('div', null, loading());
  const techBox = h('div', null, loading());
  const serviceSelect = h(
    'select',
    { 'data-testid': 'service', 'aria-label': t('reg.provider.services'), onchange: (e: Event) => setQuery({ service: (e.target as HTMLSelectElement).value }) },
    h('option', { value: '' }, t('reg.service.all')),
    SERVICES.map((s) => h('option', { value: s, selected: s === service }, tOr(`reg.service.${s}`, s))),
  );
  const industryInput = h('input', { type: 'text', value: industry, size: '5', 'data-testid': 'industry', 'aria-label': t('reg.tech.industryFilter'), placeholder: 'GB/T 4754' });
  industryInput.addEventListener('change', () => setQuery({ industry: (industryInput as HTMLInputElement).value.trim() }));
  const flaggedBox = h('input', { type: 'checkbox', checked: flaggedOnly, 'data-testid': 'flagged-only', onchange: (e: Event) => setQuery({ flagged: (e.target as HTMLInputElement).checked ? '1' : '' }) });

  replace(
    ctx.root,
    h('div', { class: 'page-head' }, h('h1', null, t('reg.title'))),
    h('p', { class: 'muted' }, t('reg.lead')),
    h('div', { class: 'filters' }, h('label', null, t('reg.search'), ' ', searchInput), h('button', { type: 'button', onclick: go, 'data-testid': 'reg-search-go' }, t('reg.search'))),
    q ? card(`${t('reg.search')}: ${q}`, hitsBox, { wide: true, id: 'reg-hits' }) : null,
    card(t('reg.managers', { threshold: '100,000' }), mgrBox, { wide: true, id: 'reg-managers', actions: h('label', null, flaggedBox, ' ', t('reg.managers.flaggedOnly')) }),
    card(t('reg.providers'), provBox, { wide: true, id: 'reg-providers', actions: serviceSelect }),
    card(t('reg.technologies'), techBox, { wide: true, id: 'reg-technologies', actions: h('label', null, t('reg.tech.industryFilter'), ' ', industryInput) }),
  );

  if (q) {
    void section(hitsBox, ctx.signal, async () => {
      const r = await getJSON<{ hits: Hit[] }>(`/registries/search${qs({ q })}`);
      return table(
        [
          { head: t('reg.kind'), cell: (x: Hit) => tOr(`reg.hitKind.${x.kind}`, x.kind) },
          { head: 'ID', cell: (x: Hit) => x.id },
          { head: t('reg.tech.name'), cell: (x: Hit) => x.name },
          { head: '', cell: (x: Hit) => x.detail ?? '' },
        ],
        r.hits,
        { empty: t('reg.searchEmpty'), rowAttrs: (x) => ({ 'data-hit': x.kind }) },
      );
    });
  }

  const loadManagers = () =>
    section(mgrBox, ctx.signal, async () => {
      const r = await getComputed<{ year: number; flagged: number; enterprises: ManagerStatus[] }>(
        `/water-managers${qs({ flagged: flaggedOnly ? '1' : undefined })}`,
        undefined,
        ctx.signal,
      );
      const own = me?.role === 'enterprise' && me.scope ? r.enterprises.find((m) => m.enterprise === me.scope) : undefined;
      return [
        h('p', { class: r.flagged ? 'warning-text' : 'muted', 'data-testid': 'flagged-count', 'data-n': String(r.flagged) }, t('reg.managers.flagged', { n: r.flagged })),
        table(
          [
            { head: t('reg.enterprise'), cell: (m: ManagerStatus) => h('a', { href: `/enterprises/${encodeURIComponent(m.enterprise)}` }, m.name || m.enterprise) },
            { head: t('reg.managers.year', { year: r.year }), cell: (m: ManagerStatus) => (m.annual_intake_m3 === undefined ? '—' : `${fmtM3(m.annual_intake_m3)}${m.basis ? ` · ${tOr(`basis.${m.basis}`, m.basis)}` : ''}`), num: true },
            { head: t('reg.aboveScale'), cell: (m: ManagerStatus) => scaleCell(m, loadManagers) },
            { head: t('reg.manager'), cell: (m: ManagerStatus) => (m.manager ? [m.manager.name, m.manager.phone ? ` · ${m.manager.phone}` : ''].join('') : '—') },
            { head: t('reg.status'), cell: standingBadge },
          ],
          r.enterprises,
          { rowAttrs: (m) => ({ 'data-enterprise': m.enterprise, 'data-standing': standing(m) }) },
        ),
        own ? h('div', null, h('h3', null, t('reg.manager.set')), managerForm(own.enterprise, own.manager, () => void loadManagers())) : h('span'),
      ];
    });
  void loadManagers();

  void section(provBox, ctx.signal, async () => {
    const r = await getJSON<{ providers: Provider[] }>(`/service-providers${qs({ service })}`);
    return table(
      [
        { head: t('reg.tech.name'), cell: (p: Provider) => p.name },
        { head: t('reg.provider.services'), cell: (p: Provider) => p.services.map((s) => tOr(`reg.service.${s}`, s)).join('、') },
        { head: t('reg.provider.qualifications'), cell: (p: Provider) => (p.qualifications ?? []).join('；') },
        {
          head: t('reg.provider.served'),
          cell: (p: Provider) => [servedText(p).join('、'), p.served_elsewhere ? ` ${t('reg.provider.elsewhere', { n: p.served_elsewhere })}` : ''].join(''),
        },
      ],
      r.providers,
      { rowAttrs: (p) => ({ 'data-provider': p.id }) },
    );
  });

  void section(techBox, ctx.signal, async () => {
    const r = await getJSON<{ technologies: Technology[] }>(`/technologies${qs({ industry })}`);
    return table(
      [
        { head: 'ID', cell: (x: Technology) => x.id },
        { head: t('reg.tech.name'), cell: (x: Technology) => x.name_zh },
        { head: t('reg.tech.industry'), cell: (x: Technology) => x.industry_zh },
        { head: t('reg.kind'), cell: (x: Technology) => tOr(`reg.techKind.${x.kind}`, x.kind) },
        { head: t('reg.tech.line'), cell: (x: Technology) => String(x.seed_line), num: true },
        { head: t('reg.tech.cases'), cell: (x: Technology) => x.cases.map((c, i) => [i ? ' ' : '', h('a', { href: `/quota-cases/${c}` }, `#${c}`)]) },
      ],
      r.technologies,
      { rowAttrs: (x) => ({ 'data-technology': x.id }) },
    );
  });
}
