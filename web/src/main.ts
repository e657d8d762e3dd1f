// The console's entry point: the page shell (header, navigation, language
// switch, identity) and the routes.

import './style.css';
import { ApiError, getJSON, type Me } from './app/api';
import { clearCache } from './app/cache';
import { h, replace } from './app/dom';
import { getLang, setLang, t, tOr } from './app/i18n';
import { navigate, rerender, route, startRouter } from './app/router';
import { capabilities, currentMe, getToken, homePath, setMe, setToken } from './app/session';
import { errorPanel, pageTitle } from './app/ui';
import { alarmsPage } from './pages/alarms';
import { certificatePage, certificatesPage } from './pages/certificates';
import { efficiencyPage } from './pages/efficiency';
import { enterprisePage } from './pages/enterprise';
import { ledgerPage } from './pages/ledger';
import { loginPage } from './pages/login';
import { meterPage } from './pages/meter';
import { networkPage } from './pages/network';
import { networksPage } from './pages/networks';
import { overviewPage } from './pages/overview';
import { plantPage } from './pages/plant';
import { quotaBoardPage, quotaCasePage } from './pages/quotas';
import { targetsPage } from './pages/targets';

const header = h('header', { class: 'topbar' });
const main = h('main', { id: 'main' });
const footer = h('footer', { class: 'footer' });

function renderShell(): void {
  const me = currentMe();
  const caps = capabilities(me?.role);
  const page = document.body.dataset.page;
  // A case page belongs to the quota board in the navigation.
  const section = page === 'quotacase' ? 'quotas' : page === 'certificate' ? 'certificates' : page;
  const link = (href: string, label: string, name: string) =>
    h('a', { href, class: section === name ? 'active' : undefined, 'data-nav': name }, label);
  replace(
    header,
    h('a', { class: 'brand', href: me ? homePath(me) : '/login' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, '水'), h('span', null, t('app.name'))),
    me
      ? h(
          'nav',
          { class: 'mainnav' },
          me.role === 'enterprise' && me.scope
            ? link(`/enterprises/${encodeURIComponent(me.scope)}`, t('nav.myEnterprise'), 'enterprise')
            : link(homePath(me), t('nav.overview'), 'overview'),
          caps.province
            ? link('/targets', t('nav.targets'), 'targets')
            : me.role === 'park' && me.scope
              ? link(`/targets?level=park&code=${encodeURIComponent(me.scope)}`, t('nav.targets'), 'targets')
              : null,
          me.role === 'enterprise' && me.scope ? link(`/enterprises/${encodeURIComponent(me.scope)}/efficiency`, t('nav.efficiency'), 'efficiency') : null,
          link('/quotas', t('nav.quotas'), 'quotas'),
          link('/certificates', t('nav.certificates'), 'certificates'), // water-rights certificates (helper certs)
          link('/networks', t('nav.networks'), 'networks'),
          link('/alarms', t('nav.alarms'), 'alarms'),
          caps.ledger ? link('/log', t('nav.ledger'), 'ledger') : null,
        )
      : h('nav', { class: 'mainnav' }),
    h(
      'div',
      { class: 'tools' },
      me
        ? h(
            'span',
            { class: 'identity', 'data-testid': 'identity', title: me.scope ?? '' },
            tOr(`role.${me.role}`, me.role),
            me.scope ? h('span', { class: 'scope' }, me.name || me.scope) : null,
          )
        : null,
      h(
        'button',
        {
          class: 'lang',
          type: 'button',
          'data-testid': 'lang-switch',
          title: t('lang.switch.hint'),
          onclick: () => {
            setLang(getLang() === 'zh' ? 'en' : 'zh');
            renderShell();
            rerender();
          },
        },
        getLang() === 'zh' ? 'English' : '中文',
      ),
      me
        ? h(
            'button',
            {
              class: 'logout',
              type: 'button',
              onclick: () => {
                setToken('');
                clearCache();
                navigate('/login');
              },
            },
            t('nav.logout'),
          )
        : null,
    ),
  );
  replace(footer, t('footer.text'));
}

/** ensureIdentity loads /me for the stored token once; false means "go to login". */
async function ensureIdentity(): Promise<boolean> {
  if (currentMe()) return true;
  if (!getToken()) return false;
  try {
    setMe(await getJSON<Me>('/me'));
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      setToken('');
      return false;
    }
    throw e;
  }
}

/** authed wraps a page so that it needs a valid token. */
function authed(page: Parameters<typeof route>[2]): Parameters<typeof route>[2] {
  return async (ctx) => {
    if (!(await ensureIdentity())) {
      navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, true);
      return;
    }
    renderShell();
    await page(ctx);
  };
}

function errorView(e: unknown, root: HTMLElement): void {
  if (e instanceof ApiError && e.status === 401) {
    setToken('');
    navigate(`/login?reason=expired&next=${encodeURIComponent(location.pathname + location.search)}`, true);
    return;
  }
  pageTitle(t(e instanceof ApiError && e.status === 403 ? 'error.403.title' : 'error.other.title'));
  replace(root, errorPanel(e), h('p', null, h('a', { href: homePath(currentMe()) }, t('common.backHome'))));
}

// A token may arrive in the URL fragment (#token=…), e.g. from the link the
// demo prints; the fragment never reaches the server. It is stored and removed.
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get('token')) {
  setToken(fragment.get('token')!);
  history.replaceState(null, '', location.pathname + location.search);
}

setLang(getLang());
route('login', '/login', loginPage);
route('overview', '/overview', authed(overviewPage));
route('enterprise', '/enterprises/:id', authed(enterprisePage));
route('efficiency', '/enterprises/:id/efficiency', authed(efficiencyPage));
route('targets', '/targets', authed(targetsPage));
route('quotas', '/quotas', authed(quotaBoardPage));
route('quotacase', '/quota-cases/:id', authed(quotaCasePage));
route('certificates', '/certificates', authed(certificatesPage)); // water-rights certificates (helper certs)
route('certificate', '/certificates/:id', authed(certificatePage));
route('meter', '/meters/:id', authed(meterPage));
route('ledger', '/log', authed(ledgerPage));
route('alarms', '/alarms', authed(alarmsPage));
route('plant', '/plants/:id', authed(plantPage));
route('networks', '/networks', authed(networksPage));
route('network', '/networks/:id', authed(networkPage));
route('home', '/', async () => {
  navigate((await ensureIdentity()) ? homePath(currentMe()) : '/login', true);
});

document.body.append(header, main, footer);
document.addEventListener('identity', () => renderShell());
renderShell();
startRouter(main, errorView, () => renderShell());
