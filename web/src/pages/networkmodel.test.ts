import { describe, expect, it } from 'vitest';
import {
  FLOW_COLORS,
  PRESSURE_COLORS,
  calibrationProgress,
  candidateStyle,
  chartLoad,
  mapData,
  networkMs,
  openLeaks,
  realMs,
  robustRange,
  scaleColor,
  zoneChart,
  type LeakEntry,
  type NetState,
  type NetworkDetail,
  type ZoneBalance,
} from './networkmodel';

const detail: NetworkDetail = {
  network: { id: 'N1', name: '管网', junctions: 3, links: 3, sensors: 2, zones: 1 },
  config: {
    sensors: [
      { kind: 'pressure', element: 'J2', point: 'PT2' },
      { kind: 'flow', element: 'P1', point: 'IN' },
    ],
  },
  nodes: [
    { id: 'R', kind: 'RESERVOIR', x: 0, y: 0, has_coords: true, elevation: 50 },
    { id: 'J1', kind: 'JUNCTION', x: 100, y: 0, has_coords: true, elevation: 10, zone: 'A' },
    { id: 'J2', kind: 'JUNCTION', x: 200, y: 50, has_coords: true, elevation: 12, zone: 'A' },
    { id: 'J3', kind: 'JUNCTION', x: 300, y: 50, has_coords: true, elevation: 14, zone: 'A' },
  ],
  links: [
    { id: 'P1', kind: 'PIPE', from: 'R', to: 'J1', diameter: 300 },
    { id: 'P2', kind: 'PIPE', from: 'J1', to: 'J2', diameter: 150 },
    { id: 'P3', kind: 'PIPE', from: 'J2', to: 'J3', diameter: 100 },
  ],
};

const state: NetState = {
  time: '2026-11-28T02:00:00Z',
  network_time: '10:00',
  measured: true,
  demand_multiplier: 1,
  nodes: [
    { id: 'R', head: 50, pressure: 0, demand: -30 },
    { id: 'J1', head: 48, pressure: 38, demand: 10 },
    { id: 'J2', head: 45, pressure: 33, demand: 10 },
    { id: 'J3', head: 41, pressure: 27, demand: 10 },
  ],
  links: [
    { id: 'P1', flow: 30, velocity: 0.1, headloss: 2, status: 'open' },
    { id: 'P2', flow: 20, velocity: 0.3, headloss: 3, status: 'open' },
    { id: 'P3', flow: 10, velocity: 0.4, headloss: 4, status: 'open' },
  ],
  sensors: [],
};

describe('network clock', () => {
  it('is real time at speed 1', () => {
    expect(networkMs({ speed: 1 }, 1000)).toBe(1000);
    expect(networkMs(undefined, 1000)).toBe(1000);
  });
  it('runs faster from its epoch and maps back', () => {
    const c = { speed: 60, epoch: '2026-11-28T00:00:00Z' };
    const e = Date.parse(c.epoch);
    expect(networkMs(c, e + 60e3)).toBe(e + 3600e3);
    expect(realMs(c, networkMs(c, e + 12345))).toBeCloseTo(e + 12345, 6);
  });
});

describe('colour scales', () => {
  it('ends at the palette ends and clamps', () => {
    expect(scaleColor(0, 0, 10, PRESSURE_COLORS)).toBe(PRESSURE_COLORS[0]);
    expect(scaleColor(10, 0, 10, PRESSURE_COLORS)).toBe(PRESSURE_COLORS[PRESSURE_COLORS.length - 1]);
    expect(scaleColor(-5, 0, 10, FLOW_COLORS)).toBe(FLOW_COLORS[0]);
    expect(scaleColor(50, 0, 10, FLOW_COLORS)).toBe(FLOW_COLORS[FLOW_COLORS.length - 1]);
    expect(scaleColor(NaN, 0, 10, FLOW_COLORS)).toBe('#8c96a0');
  });
  it('interpolates between stops', () => {
    expect(scaleColor(5, 0, 10, ['#000000', '#ffffff'])).toBe('#808080');
  });
  it('robust range ignores outliers and bad values', () => {
    const v = Array.from({ length: 100 }, (_, i) => i);
    v.push(1e9, NaN);
    const [lo, hi] = robustRange(v);
    expect(lo).toBeLessThan(5);
    expect(hi).toBeLessThan(200);
    expect(robustRange([])).toEqual([0, 1]);
    expect(robustRange([3, 3])).toEqual([2, 4]);
  });
});

describe('map data', () => {
  it('places nodes with y up and colours junctions by pressure', () => {
    const m = mapData(detail, state, 'pressure');
    const j3 = m.nodes.find((n) => n.id === 'J3')!;
    const j1 = m.nodes.find((n) => n.id === 'J1')!;
    expect(j3.y).toBe(-50);
    expect(j3.itemStyle.color).not.toBe(j1.itemStyle.color);
    // the lowest pressure is the red end of the palette
    expect(j3.itemStyle.color).toBe(scaleColor(27, m.range[0], m.range[1], PRESSURE_COLORS));
    expect(m.nodes.find((n) => n.id === 'R')!.symbol).toBe('rect');
    expect(m.nodes.find((n) => n.id === 'J2')!.sensor).toBe('pressure');
    expect(m.highlighted).toEqual([]);
  });
  it('sizes links by flow in flow mode', () => {
    const m = mapData(detail, state, 'flow');
    const p1 = m.edges.find((e) => e.id === 'P1')!;
    const p3 = m.edges.find((e) => e.id === 'P3')!;
    expect(p1.lineStyle.width).toBeGreaterThan(p3.lineStyle.width);
    expect(p1.value).toBe(30);
  });
  it('highlights candidate pipes and nodes by rank', () => {
    const m = mapData(detail, state, 'pressure', [
      { rank: 1, link: 'P3', node: 'J3', flow_m3h: 12, misfit: 1 },
      { rank: 2, link: 'P2', node: 'J2', flow_m3h: 9, misfit: 3 },
    ]);
    expect(m.highlighted).toEqual(['P3', 'P2']);
    const p3 = m.edges.find((e) => e.id === 'P3')!;
    expect(p3.lineStyle.color).toBe(candidateStyle(1).color);
    expect(p3.label?.show).toBe(true);
    expect(m.nodes.find((n) => n.id === 'J3')!.candidateRank).toBe(1);
    expect(m.edges.find((e) => e.id === 'P1')!.candidateRank).toBeUndefined();
  });
  it('works without a state', () => {
    const m = mapData(detail, null, 'pressure');
    expect(m.nodes).toHaveLength(4);
    expect(m.edges.every((e) => e.value === null)).toBe(true);
  });
});

describe('zones, leaks and status', () => {
  const zb: ZoneBalance = {
    network: 'N1',
    bucket_s: 3600,
    t: ['2026-11-28T00:01:00Z', '2026-11-28T00:02:00Z'],
    zones: [
      {
        id: 'A',
        name: 'A区',
        inflow_m3h: [100, null],
        consumption_m3h: [90, null],
        loss_m3h: [10, null],
        inflow_m3: 100,
        consumption_m3: 90,
        loss_m3: 10,
        loss_share: 0.1,
        mnf: [{ t: '2026-11-28T00:01:00Z', inflow_m3h: 100, loss_m3h: 10 }],
      },
    ],
  };
  it('moves zone series to network time', () => {
    const c = { speed: 60, epoch: '2026-11-28T00:00:00Z' };
    const z = zoneChart(zb, 'A', c)!;
    expect(z.x[1] - z.x[0]).toBe(3600e3);
    expect(z.mnf[0].y).toBe(100);
    expect(zoneChart(zb, 'B', c)).toBeNull();
  });
  it('keeps open leaks', () => {
    const e = (state: string) => ({ alarm: { id: 1, kind: 'leak', raised: '', state }, leak: { candidates: [] } }) as unknown as LeakEntry;
    expect(openLeaks([e('active'), e('cleared'), e('acked')])).toHaveLength(2);
  });
  it('reports calibration progress and chart load', () => {
    expect(calibrationProgress({ steps: 432, calibration_steps: 864, calibrated: false, errors: 0, watching: true })).toBe(0.5);
    expect(calibrationProgress({ steps: 10, calibration_steps: 864, calibrated: true, errors: 0, watching: true })).toBe(1);
    expect(chartLoad({ steps: 1, calibration_steps: 1, calibrated: true, errors: 0, watching: true, statistics: [5, 30], thresholds: [50, 40] })).toBe(0.75);
    expect(chartLoad(undefined)).toBeNull();
  });
});
