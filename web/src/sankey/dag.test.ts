import { describe, expect, it } from 'vitest';
import { checkFlowGraph, findCycle, withUnaccounted, type FlowLink } from './dag';

const link = (source: string, target: string, value = 1): FlowLink => ({ source, target, value });

describe('findCycle', () => {
  it.each([
    { name: 'empty', nodes: [], links: [], cycle: null },
    { name: 'chain', nodes: ['a', 'b', 'c'], links: [link('a', 'b'), link('b', 'c')], cycle: null },
    { name: 'diamond', nodes: ['a', 'b', 'c', 'd'], links: [link('a', 'b'), link('a', 'c'), link('b', 'd'), link('c', 'd')], cycle: null },
    { name: 'self loop', nodes: ['a'], links: [link('a', 'a')], cycle: ['a', 'a'] },
    { name: 'two-node loop', nodes: ['a', 'b'], links: [link('a', 'b'), link('b', 'a')], cycle: ['a', 'b', 'a'] },
    {
      name: 'recirculation behind a tail',
      nodes: ['intake', 'tower', 'process', 'return'],
      links: [link('intake', 'tower'), link('tower', 'process'), link('process', 'return'), link('return', 'tower')],
      cycle: ['tower', 'process', 'return', 'tower'],
    },
  ])('$name', ({ nodes, links, cycle }) => {
    expect(findCycle(nodes, links)).toEqual(cycle);
  });

  it('handles a 100 000-node chain without recursion', () => {
    const n = 100_000;
    const nodes = Array.from({ length: n }, (_, i) => `n${i}`);
    const links = nodes.slice(1).map((m, i) => link(nodes[i], m));
    expect(findCycle(nodes, links)).toBeNull();
    links.push(link(nodes[n - 1], nodes[0]));
    expect(findCycle(nodes, links)?.length).toBe(n + 1);
  });
});

describe('checkFlowGraph', () => {
  const nodes = [{ name: 'a' }, { name: 'b' }];
  it.each([
    { name: 'fine', links: [link('a', 'b', 3)], code: null },
    { name: 'unknown node', links: [link('a', 'x')], code: 'unknown-node' },
    { name: 'negative', links: [link('a', 'b', -1)], code: 'bad-value' },
    { name: 'NaN', links: [link('a', 'b', NaN)], code: 'bad-value' },
    { name: 'cycle', links: [link('a', 'b'), link('b', 'a')], code: 'cycle' },
  ])('$name', ({ links, code }) => {
    expect(checkFlowGraph(nodes, links)?.code ?? null).toBe(code);
  });
  it('duplicate node', () => {
    expect(checkFlowGraph([{ name: 'a' }, { name: 'a' }], [])?.code).toBe('duplicate-node');
  });
});

describe('withUnaccounted', () => {
  const u = { name: 'unaccounted', kind: 'unaccounted' };
  it('adds the gap of a leaking node', () => {
    // 100 in, 70 out: the 30 must show up (reference/platform.md §5).
    const g = withUnaccounted(
      [{ name: 'in' }, { name: 'plant' }, { name: 'out' }],
      [link('in', 'plant', 100), link('plant', 'out', 70)],
      u,
    );
    expect(g.links).toContainEqual(link('plant', 'unaccounted', 30));
    expect(g.nodes.map((n) => n.name)).toContain('unaccounted');
  });
  it('leaves balanced graphs and sinks alone', () => {
    const nodes = [{ name: 'in' }, { name: 'plant' }, { name: 'out' }];
    const links = [link('in', 'plant', 100), link('plant', 'out', 99.8)];
    expect(withUnaccounted(nodes, links, u)).toEqual({ nodes, links });
  });
  it('keeps the server’s own unaccounted node', () => {
    const nodes = [{ name: 'in' }, { name: 'plant' }, { name: 'loss', kind: 'unaccounted' }];
    const links = [link('in', 'plant', 100), link('plant', 'loss', 10)];
    expect(withUnaccounted(nodes, links, u)).toEqual({ nodes, links });
  });
});
