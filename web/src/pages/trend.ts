// Trends of one meter channel with zoom: volumes per interval for totalisers,
// averages for rates. The time axis shows Beijing time whatever the browser's
// zone: instants are shifted by +8 h and the axis runs in UTC.

import { getJSON, getText, qs, type Channel, type Series } from '../app/api';
import { COLORS, SHANGHAI_OFFSET_MS, makeChart, type Chart } from '../app/charts';
import { esc, h, replace } from '../app/dom';
import { fmtTime, fmtValue, prettyUnit } from '../app/format';
import { t, tOr } from '../app/i18n';
import { download, errorPanel, loading, trustBadge } from '../app/ui';

/** TrendMeter is a meter the trend can show, with its point's channels. */
export interface TrendMeter {
  id: string;
  label: string;
  channels: Channel[];
}

const RANGES = {
  '24h': { ms: 24 * 3600e3, interval: '15m' },
  '7d': { ms: 7 * 24 * 3600e3, interval: '1h' },
  '30d': { ms: 30 * 24 * 3600e3, interval: '1d' },
} as const;
type Range = keyof typeof RANGES;

function fnFor(c: Channel | undefined): string {
  if (c?.kind === 'total') return 'delta';
  if (c?.kind === 'interval') return 'sum';
  return 'avg';
}

function defaultChannel(channels: Channel[]): string {
  return (channels.find((c) => c.kind === 'total') ?? channels.find((c) => c.name === 'flow_m3h') ?? channels[0])?.name ?? 'total_m3';
}

/** trendView returns the controls and chart of the trend card. */
export function trendView(meters: TrendMeter[], onCleanup: (fn: () => void) => void): HTMLElement {
  const box = h('div', { class: 'trend' });
  if (meters.length === 0) {
    replace(box, h('p', { class: 'empty' }, t('trend.noMeters')));
    return box;
  }
  let chart: Chart | null = null;
  const meterSel = h('select', { 'aria-label': t('trend.meter'), 'data-testid': 'trend-meter' }, meters.map((m) => h('option', { value: m.id }, m.label)));
  const channelSel = h('select', { 'aria-label': t('trend.channel'), 'data-testid': 'trend-channel' });
  const rangeSel = h(
    'select',
    { 'aria-label': t('trend.range') },
    (Object.keys(RANGES) as Range[]).map((r) => h('option', { value: r, selected: r === '7d' }, t(`trend.range.${r}`))),
  );
  const chartBox = h('div', { class: 'chart-box' });
  const csv = h('button', { type: 'button', class: 'secondary' }, t('trend.csv'));

  const current = () => {
    const m = meters.find((x) => x.id === meterSel.value) ?? meters[0];
    const c = m.channels.find((x) => x.name === channelSel.value) ?? m.channels[0];
    const r = RANGES[rangeSel.value as Range] ?? RANGES['7d'];
    const to = new Date();
    const from = new Date(to.getTime() - r.ms);
    return {
      m,
      c,
      params: { meter: m.id, channel: c?.name ?? channelSel.value, from: from.toISOString(), to: to.toISOString(), interval: r.interval, fn: fnFor(c) },
    };
  };

  const fillChannels = () => {
    const m = meters.find((x) => x.id === meterSel.value) ?? meters[0];
    replace(
      channelSel,
      m.channels.map((c) => h('option', { value: c.name }, `${tOr(`channel.${c.name}`, c.name)} (${prettyUnit(c.unit)})`)),
    );
    channelSel.value = defaultChannel(m.channels);
  };

  const load = async () => {
    const { c, params } = current();
    if (chart && !chart.isDisposed()) chart.dispose();
    chart = null;
    replace(chartBox, loading());
    let s: Series;
    try {
      s = await getJSON<Series>(`/series${qs(params)}`);
    } catch (e) {
      replace(chartBox, errorPanel(e, { compact: true }));
      return;
    }
    const unit = s.unit ?? c?.unit ?? '';
    const isVolume = params.fn === 'delta' || params.fn === 'sum';
    const data = s.t.map((ts, i) => [new Date(ts).getTime() + SHANGHAI_OFFSET_MS, s.v[i]]);
    const el = h('div', { class: 'chart', 'data-testid': 'trend-chart' });
    const trust = s.trust ? h('p', { class: 'trust-line', 'data-testid': 'series-trust' }, t('trust.line'), trustBadge(s.trust.level)) : null;
    replace(chartBox, data.length ? el : h('p', { class: 'empty' }, t('trend.noData')), trust);
    if (!data.length) return;
    const title = isVolume ? t('trend.perInterval', { interval: t(`interval.${params.interval}` as 'interval.1h') }) : t('trend.average');
    chart = makeChart(
      el,
      {
        useUTC: true,
        title: { text: title, left: 'center', textStyle: { fontSize: 13, fontWeight: 'normal' } },
        tooltip: {
          trigger: 'axis',
          formatter: (ps: { value: [number, number | null] }[]) => {
            const p = ps[0];
            if (!p) return '';
            return `${esc(fmtTime(new Date(p.value[0] - SHANGHAI_OFFSET_MS).toISOString(), false))}<br>${esc(fmtValue(p.value[1], unit))}`;
          },
        },
        grid: { left: 64, right: 24, top: 40, bottom: 72 },
        xAxis: { type: 'time' },
        yAxis: { type: 'value', name: prettyUnit(unit), scale: !isVolume },
        dataZoom: [{ type: 'inside' }, { type: 'slider', height: 24, bottom: 16 }],
        series: [
          isVolume
            ? { type: 'bar', data, itemStyle: { color: COLORS.intake }, barMaxWidth: 18 }
            : { type: 'line', data, showSymbol: false, connectNulls: false, lineStyle: { color: COLORS.intake }, areaStyle: { opacity: 0.08 } },
        ],
      },
      onCleanup,
    );
  };

  csv.addEventListener('click', async () => {
    const { m, params } = current();
    try {
      download(`${m.id}-${params.channel}-${params.interval}.csv`, await getText(`/series${qs({ ...params, format: 'csv' })}`), 'text/csv');
    } catch (e) {
      replace(chartBox, errorPanel(e, { compact: true }));
    }
  });
  meterSel.addEventListener('change', () => {
    fillChannels();
    void load();
  });
  channelSel.addEventListener('change', () => void load());
  rangeSel.addEventListener('change', () => void load());
  fillChannels();
  void load();
  replace(
    box,
    h(
      'div',
      { class: 'controls' },
      h('label', null, t('trend.meter'), ' ', meterSel),
      h('label', null, t('trend.channel'), ' ', channelSel),
      h('label', null, t('trend.range'), ' ', rangeSel),
      csv,
    ),
    chartBox,
  );
  return box;
}
