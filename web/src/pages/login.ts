// Sign in by pasting an API token; the server's /me tells the role and scope.

import { ApiError, getJSON, type Me } from '../app/api';
import { clearCache } from '../app/cache';
import { h, replace } from '../app/dom';
import { t, tOr } from '../app/i18n';
import { navigate, type PageContext } from '../app/router';
import { currentMe, getToken, homePath, setMe, setToken } from '../app/session';
import { pageTitle } from '../app/ui';

function identityCard(me: Me): HTMLElement {
  return h(
    'dl',
    { class: 'identity-card', 'data-testid': 'me' },
    h('dt', null, t('login.role')),
    h('dd', { 'data-role': me.role }, tOr(`role.${me.role}`, me.role), ' ', h('span', { class: 'muted' }, tOr(`role.${me.role}.hint`, ''))),
    h('dt', null, t('login.scope')),
    h('dd', null, me.scope ? h('code', null, me.scope) : t('login.scope.all')),
    me.name ? [h('dt', null, t('login.name')), h('dd', null, me.name)] : null,
  );
}

export async function loginPage(ctx: PageContext): Promise<void> {
  pageTitle(t('login.title'));
  const next = ctx.query.get('next');
  const safeNext = next && next.startsWith('/') && !next.startsWith('//') ? next : null;
  const status = h('div', { class: 'login-status', 'aria-live': 'polite' });
  const input = h('textarea', {
    id: 'token',
    name: 'token',
    rows: 3,
    spellcheck: 'false',
    autocomplete: 'off',
    placeholder: t('login.placeholder'),
  });

  const showIdentity = (me: Me) => {
    replace(
      status,
      h('h3', null, t('login.signedIn')),
      identityCard(me),
      h('button', { type: 'button', class: 'primary', 'data-testid': 'enter', onclick: () => navigate(safeNext ?? homePath(me)) }, t('login.enter')),
    );
  };

  const form = h(
    'form',
    {
      class: 'login-form',
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        const token = input.value.trim();
        if (!token) {
          replace(status, h('p', { class: 'error-text' }, t('login.empty')));
          return;
        }
        replace(status, h('p', { class: 'loading' }, t('login.checking')));
        try {
          const me = await getJSON<Me>('/me', token);
          setToken(token);
          clearCache();
          setMe(me);
          input.value = '';
          showIdentity(me);
          document.dispatchEvent(new CustomEvent('identity'));
        } catch (e) {
          const msg = e instanceof ApiError && e.status === 401 ? t('login.invalid') : e instanceof ApiError && e.status === 0 ? t('error.network.body') : (e as Error).message;
          replace(status, h('p', { class: 'error-text', role: 'alert' }, msg));
        }
      },
    },
    h('label', { for: 'token' }, t('login.label')),
    input,
    h('p', { class: 'hint' }, t('login.hint')),
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'login' }, t('login.submit')),
  );

  replace(
    ctx.root,
    h(
      'div',
      { class: 'login' },
      h('h1', null, t('login.title')),
      h('p', { class: 'lead' }, t('app.tagline')),
      ctx.query.get('reason') === 'expired' ? h('p', { class: 'error-text' }, t('login.expired')) : null,
      form,
      status,
    ),
  );

  // Already signed in: show who, and offer to continue or switch token.
  if (getToken()) {
    try {
      const me = currentMe() ?? (await getJSON<Me>('/me'));
      setMe(me);
      showIdentity(me);
    } catch {
      setToken('');
    }
  }
}
