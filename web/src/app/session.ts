// The signed-in token and what it may do. The token lives in localStorage so
// that a reload keeps the session; the server decides every access, and the
// console only hides what the role could not use anyway (docs/api.md, roles).

import type { Me, Role } from './api';

const TOKEN_KEY = 'shuixiao.token';

let me: Me | null = null;

/** getToken returns the stored API token, or "". */
export function getToken(): string {
  try {
    return localStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

/** setToken stores (or, with "", forgets) the token and the cached identity. */
export function setToken(token: string): void {
  me = null;
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // private mode: the token lasts for this page only
  }
}

/** currentMe returns the identity fetched for the current token, if any. */
export function currentMe(): Me | null {
  return me;
}

/** setMe records the identity the server reported for the token. */
export function setMe(m: Me | null): void {
  me = m;
}

/** Capabilities are what the UI offers a role. */
export interface Capabilities {
  /** sees the province-wide overview */
  province: boolean;
  /** sees the ledger status page and rejection counters */
  ledger: boolean;
  /** may acknowledge and clear alarms */
  handleAlarms: boolean;
}

/** capabilities maps a role to what the console shows it. */
export function capabilities(role: Role | undefined): Capabilities {
  switch (role) {
    case 'admin':
    case 'regulator':
      return { province: true, ledger: true, handleAlarms: true };
    case 'auditor':
      return { province: true, ledger: true, handleAlarms: false };
    case 'park':
      return { province: false, ledger: false, handleAlarms: true };
    case 'enterprise':
      return { province: false, ledger: false, handleAlarms: true };
    default:
      return { province: false, ledger: false, handleAlarms: false };
  }
}

/** homePath is where a role starts: the province, its park, or its enterprise. */
export function homePath(m: Me | null): string {
  if (!m) return '/login';
  if (m.role === 'enterprise' && m.scope) return `/enterprises/${encodeURIComponent(m.scope)}`;
  if (m.role === 'park' && m.scope) return `/overview?level=park&code=${encodeURIComponent(m.scope)}`;
  return '/overview';
}
