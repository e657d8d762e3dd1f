import { describe, expect, it } from 'vitest';
import { describePolicy, keyIdent, kOfN, parseWitnessPolicy, quorumMet } from './policy';
import { newKey } from './testlog';

const w = [newKey('witness.test/a', 4), newKey('witness.test/b', 4), newKey('witness.test/c', 4)];
const ids = (...i: number[]) => new Set(i.map((n) => `${w[n].name}+${parseInt(w[n].vkey.split('+')[1], 16).toString(16)}`));

describe('parseWitnessPolicy', () => {
  const text = `# three departments, two must cosign
log ledger.test+00000000+AQ
witness gxt ${w[0].vkey} http://127.0.0.1:1/w
witness slt ${w[1].vkey}
witness sthjt ${w[2].vkey}
group depts 2 gxt slt sthjt
quorum depts
`;
  const p = parseWitnessPolicy(text);
  it('reads witnesses, groups and the quorum', () => {
    expect(p.witnesses.map((x) => x.name)).toEqual(['gxt', 'slt', 'sthjt']);
    expect(describePolicy(p)).toBe('2 of {gxt, slt, sthjt}');
    expect(keyIdent(p.witnesses[0].key)).toBe([...ids(0)][0]);
  });
  it.each([
    [[], false],
    [[0], false],
    [[0, 2], true],
    [[0, 1, 2], true],
  ])('cosigned by %j → %s', (signed, met) => {
    expect(quorumMet(p, ids(...signed))).toBe(met);
  });
  it('nested groups', () => {
    const q = parseWitnessPolicy(`witness a ${w[0].vkey}\nwitness b ${w[1].vkey}\nwitness c ${w[2].vkey}\ngroup ab any a b\ngroup all2 all ab c\nquorum all2\n`);
    expect(describePolicy(q)).toBe('2 of {1 of {a, b}, c}');
    expect(quorumMet(q, ids(1, 2))).toBe(true);
    expect(quorumMet(q, ids(0, 1))).toBe(false);
  });
  it('quorum none needs nothing', () => {
    expect(quorumMet(parseWitnessPolicy(`witness a ${w[0].vkey}\nquorum none\n`), new Set())).toBe(true);
  });
  it.each([
    ['no quorum line', `witness a ${w[0].vkey}\n`],
    ['unknown member', `witness a ${w[0].vkey}\ngroup g 1 a b\nquorum g\n`],
    ['threshold too high', `witness a ${w[0].vkey}\ngroup g 2 a\nquorum g\n`],
    ['threshold 0', `witness a ${w[0].vkey}\ngroup g 0 a\nquorum g\n`],
    ['keyword as name', `witness any ${w[0].vkey}\nquorum any\n`],
    ['duplicate name', `witness a ${w[0].vkey}\nwitness a ${w[1].vkey}\nquorum a\n`],
    ['undefined quorum', `witness a ${w[0].vkey}\nquorum b\n`],
    ['two quorums', `witness a ${w[0].vkey}\nquorum a\nquorum none\n`],
    ['bad key', `witness a not-a-key\nquorum a\n`],
    ['unknown keyword', `witnes a ${w[0].vkey}\nquorum a\n`],
  ])('rejects %s', (_n, text) => {
    expect(() => parseWitnessPolicy(text)).toThrow();
  });
});

describe('kOfN', () => {
  it('is a group of all keys', () => {
    const p = kOfN(w.map((x) => x.vkey), 2);
    expect(describePolicy(p)).toBe('2 of {w1, w2, w3}');
    expect(quorumMet(p, ids(0))).toBe(false);
    expect(quorumMet(p, ids(1, 2))).toBe(true);
  });
});
