// Per-token caches of slowly changing lists (names of regions, parks,
// enterprises; the log key), so tables can show names instead of IDs.

import { getJSON, getText, type Enterprise, type Meter, type Park, type Region } from './api';
import { getToken } from './session';

const store = new Map<string, Promise<unknown>>();

function cached<T>(key: string, load: () => Promise<T>): Promise<T> {
  const k = `${getToken()}|${key}`;
  let p = store.get(k) as Promise<T> | undefined;
  if (!p) {
    p = load();
    store.set(k, p);
    // A failed load is not cached, so a later visit retries.
    p.catch(() => store.delete(k));
  }
  return p;
}

/** clearCache forgets everything (after a token change). */
export function clearCache(): void {
  store.clear();
}

async function byId<T extends { id: string }>(path: string): Promise<Map<string, T>> {
  const list = await getJSON<T[]>(path);
  return new Map(list.map((x) => [x.id, x]));
}

/** enterprises maps the enterprises the token may see by ID. */
export function enterprises(): Promise<Map<string, Enterprise>> {
  return cached('enterprises', () => byId<Enterprise>('/enterprises'));
}

/** parks maps the parks the token may see by ID. */
export function parks(): Promise<Map<string, Park>> {
  return cached('parks', () => byId<Park>('/parks'));
}

/** regions maps regions by GB/T 2260 code. */
export function regions(): Promise<Map<string, Region>> {
  return cached('regions', async () => new Map((await getJSON<Region[]>('/regions')).map((r) => [r.code, r])));
}

/** logKey is the log's note verifier key. */
export function logKey(): Promise<string> {
  return cached('logkey', async () => (await getText('/ledger/key')).trim());
}

/** meter returns one meter (its key, for signature checks). */
export function meter(id: string): Promise<Meter> {
  return cached(`meter:${id}`, () => getJSON<Meter>(`/meters/${encodeURIComponent(id)}`));
}

/** settle returns a value or undefined when the request fails (names are optional). */
export async function settle<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch {
    return undefined;
  }
}
