// Chinese first, English on request. The choice is kept in localStorage.
// Every label lives in messages.ts with both languages; a unit test checks
// that every key the code uses exists there in both.

import { messages } from './messages';

export type Lang = 'zh' | 'en';
const LANG_KEY = 'shuixiao.lang';

let lang: Lang = readLang();

function readLang(): Lang {
  try {
    return localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'zh';
  } catch {
    return 'zh';
  }
}

/** getLang returns the current language. */
export function getLang(): Lang {
  return lang;
}

/** setLang switches and remembers the language. */
export function setLang(l: Lang): void {
  lang = l;
  try {
    localStorage.setItem(LANG_KEY, l);
  } catch {
    // not persisted in private mode
  }
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
}

export type MessageKey = keyof typeof messages;

/** t translates a key and fills {placeholders}. */
export function t(key: MessageKey, params?: Record<string, string | number>): string {
  const m = messages[key];
  let s: string = m ? m[lang === 'zh' ? 0 : 1] : key;
  if (params) s = s.replace(/\{(\w+)\}/g, (all, k: string) => (k in params ? String(params[k]) : all));
  return s;
}

/** tOr translates a dynamic key (a kind or stage sent by the server), or returns the fallback. */
export function tOr(key: string, fallback: string, params?: Record<string, string | number>): string {
  return key in messages ? t(key as MessageKey, params) : fallback;
}

/** pick chooses the Chinese or English name of an object. */
export function pick(zh: string | undefined | null, en: string | undefined | null): string {
  if (lang === 'en' && en) return en;
  return zh || en || '';
}
