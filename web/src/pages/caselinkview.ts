// The link of a retrofit case to the third-party service provider that
// carries it out and the catalogue technology it applies (PUT
// /quota-cases/{id}/link): shown to everyone who sees the case, editable by
// admin, regulators and the case's enterprise.

import { ApiError, getJSON, putJSON, qs } from '../app/api';
import { h, replace } from '../app/dom';
import { fmtTime } from '../app/format';
import { t } from '../app/i18n';
import { currentMe } from '../app/session';
import { card, loading, toast } from '../app/ui';
import { canAnswer } from './evaluationmodel';

interface CaseLink {
  case: number;
  provider?: string;
  technology?: string;
  note?: string;
  linked_by: string;
  linked_at: string;
  linked: boolean;
}

/** caseLinkCard loads and shows the link of case id of enterprise ent (industry: its GB/T 4754 code). */
export function caseLinkCard(id: number, enterprise: string, industry: string, signal: AbortSignal): HTMLElement {
  const body = h('div', null, loading());
  const box = card(t('reg.link'), body, { wide: true, id: 'case-link-card' });
  const load = async (): Promise<void> => {
    const got = await getJSON<CaseLink>(`/quota-cases/${id}/link`);
    const link = got.linked ? got : null;
    const [provs, techs] = await Promise.all([
      getJSON<{ providers: { id: string; name: string }[] }>('/service-providers'),
      getJSON<{ technologies: { id: string; name_zh: string; industry_zh: string }[] }>(`/technologies${qs({ industry })}`),
    ]);
    if (signal.aborted) return;
    const provName = (p?: string) => provs.providers.find((x) => x.id === p)?.name ?? p ?? t('reg.link.none');
    const techName = (x?: string) => techs.technologies.find((y) => y.id === x)?.name_zh ?? x ?? t('reg.link.none');
    const current = link
      ? h('p', { 'data-testid': 'case-link', 'data-provider': link.provider ?? '', 'data-technology': link.technology ?? '' }, t('reg.link.current', { provider: provName(link.provider), technology: techName(link.technology) }), ` · ${link.linked_by} ${fmtTime(link.linked_at, false)}`)
      : h('p', { class: 'muted', 'data-testid': 'case-link' }, t('reg.link.none'));
    const me = currentMe();
    if (!canAnswer(me?.role, me?.scope, enterprise)) {
      replace(body, current);
      return;
    }
    const provSel = h('select', { 'data-testid': 'link-provider', 'aria-label': t('reg.link.provider') }, h('option', { value: '' }, t('reg.link.none')), provs.providers.map((p) => h('option', { value: p.id, selected: p.id === link?.provider }, p.name)));
    const techSel = h('select', { 'data-testid': 'link-technology', 'aria-label': t('reg.link.technology') }, h('option', { value: '' }, t('reg.link.none')), techs.technologies.map((x) => h('option', { value: x.id, selected: x.id === link?.technology }, `${x.name_zh}（${x.industry_zh}）`)));
    const save = h('button', { type: 'button', 'data-testid': 'save-link' }, t('reg.link.save'));
    save.addEventListener('click', async () => {
      try {
        await putJSON(`/quota-cases/${id}/link`, { provider: (provSel as HTMLSelectElement).value, technology: (techSel as HTMLSelectElement).value });
        toast(t('reg.link.saved'));
        await load();
      } catch (e) {
        toast(e instanceof ApiError ? e.message : String(e), 'error');
      }
    });
    replace(body, current, h('div', { class: 'filters' }, h('label', null, t('reg.link.provider'), ' ', provSel), h('label', null, t('reg.link.technology'), ' ', techSel), save));
  };
  void load().catch(() => replace(body, h('p', { class: 'muted' }, t('reg.link.none'))));
  return box;
}
