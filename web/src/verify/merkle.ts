// RFC 6962 Merkle tree hashing and inclusion-proof checking, following
// RFC 9162 §2.1.3.2 ("Verifying an Inclusion Proof"), the algorithm that
// transparency-dev/merkle and golang.org/x/mod/sumdb/tlog implement.

import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from './bytes';

/** leafHash is SHA-256(0x00 || entry). */
export function leafHash(entry: Uint8Array): Uint8Array {
  return sha256(concatBytes(new Uint8Array([0]), entry));
}

/** nodeHash is SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concatBytes(new Uint8Array([1]), left, right));
}

/**
 * rootFromInclusionProof recomputes the root of a tree of `size` leaves from
 * the leaf hash at `index` and its audit path. It throws if the path has the
 * wrong length for (index, size), so a caller only has to compare the result
 * with the checkpoint's root.
 */
export function rootFromInclusionProof(index: bigint, size: bigint, leaf: Uint8Array, proof: Uint8Array[]): Uint8Array {
  if (index < 0n || index >= size) throw new Error(`index ${index} is outside a tree of size ${size}`);
  let fn = index;
  let sn = size - 1n;
  let r = leaf;
  for (const p of proof) {
    if (p.length !== 32) throw new Error('proof hash is not 32 bytes');
    if (sn === 0n) throw new Error('inclusion proof is too long');
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new Error('inclusion proof is too short');
  return r;
}
