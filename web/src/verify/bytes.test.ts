import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64 } from './bytes';

describe('base64', () => {
  it('round-trips every length up to 40 against Node', () => {
    for (let n = 0; n <= 40; n++) {
      const b = new Uint8Array(n).map((_, i) => (i * 37 + n) & 255);
      const s = Buffer.from(b).toString('base64');
      expect(encodeBase64(b)).toBe(s);
      expect(Array.from(decodeBase64(s))).toEqual(Array.from(b));
    }
  });
  it.each([
    ['missing padding', 'QQ'],
    ['bad character', 'QQ-='],
    ['url alphabet', 'a_b='],
    ['non-canonical padding bits', 'QR=='],
    ['padding in the middle', 'QQ==QQ=='],
    ['whitespace', 'QUJD\n'],
  ])('rejects %s', (_name, s) => {
    expect(() => decodeBase64(s)).toThrow();
  });
});
