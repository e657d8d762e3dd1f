// A small history-API router. Pages are functions that fill a container and
// register cleanups (charts, event streams) that run when the user leaves.
// The document body carries data-page and data-state (loading | ready |
// error) so that browser tests can wait for a page to settle.

import { ApiError } from './api';

/** PageContext is what a page gets when it is shown. */
export interface PageContext {
  root: HTMLElement;
  params: Record<string, string>;
  query: URLSearchParams;
  /** aborted when the user leaves the page */
  signal: AbortSignal;
  onCleanup(fn: () => void): void;
}

export type PageFn = (ctx: PageContext) => Promise<void> | void;

interface Route {
  name: string;
  pattern: RegExp;
  keys: string[];
  page: PageFn;
}

const routes: Route[] = [];
let current: { controller: AbortController; cleanups: (() => void)[] } | null = null;
let root: HTMLElement;
let onError: (e: unknown, root: HTMLElement) => void = () => {};
let onRendered: (name: string) => void = () => {};

/** route registers a page for a path pattern such as "/meters/:id". */
export function route(name: string, path: string, page: PageFn): void {
  const keys: string[] = [];
  const re = path.replace(/:([a-z]+)/g, (_m, k: string) => {
    keys.push(k);
    return '([^/]+)';
  });
  routes.push({ name, pattern: new RegExp(`^${re}/?$`), keys, page });
}

/** startRouter renders the current URL and follows links and history. */
export function startRouter(el: HTMLElement, errorView: typeof onError, rendered: typeof onRendered): void {
  root = el;
  onError = errorView;
  onRendered = rendered;
  document.addEventListener('click', (ev) => {
    const a = (ev.target as Element | null)?.closest?.('a');
    if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    if (a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/ledger/')) return;
    ev.preventDefault();
    navigate(url.pathname + url.search);
  });
  window.addEventListener('popstate', () => void render());
  void render();
}

/** navigate goes to a path inside the console. */
export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  void render();
  if (!replace) window.scrollTo(0, 0);
}

/** setQuery changes the current URL's query without adding a history entry, and re-renders. */
export function setQuery(params: Record<string, string | undefined>): void {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === '') q.delete(k);
    else q.set(k, v);
  }
  const s = q.toString();
  navigate(location.pathname + (s ? `?${s}` : ''), true);
}

/** rerender shows the current page again (after a language switch, say). */
export function rerender(): void {
  void render();
}

function leave(): void {
  if (!current) return;
  current.controller.abort();
  for (const fn of current.cleanups.splice(0)) {
    try {
      fn();
    } catch {
      // a failing cleanup must not block navigation
    }
  }
  current = null;
}

async function render(): Promise<void> {
  leave();
  const path = location.pathname;
  let match: { route: Route; params: Record<string, string> } | null = null;
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (m) {
      const params: Record<string, string> = {};
      r.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1])));
      match = { route: r, params };
      break;
    }
  }
  const controller = new AbortController();
  const state = { controller, cleanups: [] as (() => void)[] };
  current = state;
  const container = document.createElement('div');
  container.className = 'page';
  root.replaceChildren(container);
  const name = match?.route.name ?? 'notfound';
  document.body.dataset.page = name;
  document.body.dataset.state = 'loading';
  try {
    if (!match) throw new ApiError(404, path, path);
    await match.route.page({
      root: container,
      params: match.params,
      query: new URLSearchParams(location.search),
      signal: controller.signal,
      onCleanup: (fn) => state.cleanups.push(fn),
    });
    if (controller.signal.aborted) return;
    document.body.dataset.state = 'ready';
    onRendered(name);
  } catch (e) {
    if (controller.signal.aborted) return;
    onError(e, container);
    document.body.dataset.state = 'error';
    onRendered(name);
  }
}
