// c2sp.org/tlog-proof@v1: the offline receipt that shows one entry is in a
// transparency log. Layout:
//
//   c2sp.org/tlog-proof@v1
//   extra <base64>          (optional; here: the signed reading itself)
//   index <n>
//   <base64 hash>           (zero or more: the inclusion path)
//                           (blank line)
//   <signed checkpoint note>

import { decodeBase64, fromUTF8 } from './bytes';

/** TLOG_PROOF_HEADER is the first line of every receipt. */
export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';

/** TLogProof is a parsed receipt. */
export interface TLogProof {
  index: bigint;
  hashes: Uint8Array[];
  checkpoint: string;
  extra: Uint8Array | null;
}

/** parseTLogProof parses a receipt and throws with a line number on malformed input. */
export function parseTLogProof(data: Uint8Array | string): TLogProof {
  const s = typeof data === 'string' ? data : fromUTF8(data);
  if (s.includes('\r')) throw new Error('tlog-proof: carriage return in receipt');
  const blank = s.indexOf('\n\n');
  if (blank < 0) throw new Error('tlog-proof: no blank line before the checkpoint');
  const head = s.slice(0, blank).split('\n');
  const checkpoint = s.slice(blank + 2);
  if (head[0] !== TLOG_PROOF_HEADER) throw new Error('tlog-proof: missing header line');
  let i = 1;
  let extra: Uint8Array | null = null;
  if (head[i]?.startsWith('extra ')) {
    try {
      extra = decodeBase64(head[i].slice(6));
    } catch (e) {
      throw new Error(`tlog-proof line ${i + 1}: extra is not base64 (${(e as Error).message})`);
    }
    i++;
  }
  const m = /^index (0|[1-9][0-9]*)$/.exec(head[i] ?? '');
  if (!m) throw new Error(`tlog-proof line ${i + 1}: want "index N"`);
  const index = BigInt(m[1]);
  if (index >= 1n << 64n) throw new Error(`tlog-proof line ${i + 1}: index out of range`);
  i++;
  const hashes: Uint8Array[] = [];
  for (; i < head.length; i++) {
    let h: Uint8Array;
    try {
      h = decodeBase64(head[i]);
    } catch (e) {
      throw new Error(`tlog-proof line ${i + 1}: hash is not base64 (${(e as Error).message})`);
    }
    if (h.length !== 32) throw new Error(`tlog-proof line ${i + 1}: hash is ${h.length} bytes, want 32`);
    hashes.push(h);
  }
  if (hashes.length > 63) throw new Error('tlog-proof: more than 63 proof hashes');
  if (checkpoint === '') throw new Error('tlog-proof: no checkpoint');
  return { index, hashes, checkpoint, extra };
}
