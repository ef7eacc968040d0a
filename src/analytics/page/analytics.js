/* global Chart */
// The analytics page: reads /admin/analytics/data/funnel (the funnel API behind the admin check) and draws it.
'use strict';

const DAY = 86_400_000;
const MIN_SYNCED = 1;
const TOP_PARTNERS = 10;
const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
const charts = {};

const isoDay = (t) => new Date(t).toISOString().slice(0, 10);

function setRange(days) {
  const to = Date.now();
  document.getElementById('to').value = isoDay(to);
  document.getElementById('from').value = isoDay(to - (days - 1) * DAY);
}

async function fetchFunnel(range, groupBy) {
  const res = await fetch(`/admin/analytics/data/funnel?${new URLSearchParams({ ...range, groupBy })}`, {
    credentials: 'same-origin',
  });
  const body = await res.json();
  if (!res.ok) {
    const fields = (body.errors || []).map((e) => `${e.field} ${e.message}`).join('; ');
    throw new Error(fields || body.detail || `HTTP ${res.status}`);
  }
  return body;
}

function duration(ms) {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (ms < DAY) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / DAY).toFixed(1)} d`;
}

const percent = (rate) => (rate === null || rate === undefined ? '–' : `${(rate * 100).toFixed(1)}%`);

function draw(id, config) {
  charts[id]?.destroy();
  charts[id] = new Chart(document.getElementById(id), config);
}

function render(byDay, byPartner) {
  const t = byDay.totals;
  const set = (id, text) => (document.getElementById(id).textContent = text);
  set('kpi-created', t.created.toLocaleString('en-US'));
  set('kpi-synced', t.synced.toLocaleString('en-US'));
  set('kpi-completed', t.completed.toLocaleString('en-US'));
  set('kpi-conversion', percent(t.conversionRate));
  set('kpi-revenue', money.format(t.revenueCents / 100));
  set('kpi-to-synced', duration(t.medianCreatedToSyncedMs));
  set('kpi-to-completed', duration(t.medianSyncedToCompletedMs));

  const steps = [
    ['Created', t.created],
    ['Synced', t.synced],
    ['Scheduled', t.scheduled],
    ['In progress', t.inProgress],
    ['Completed', t.completed],
    ['Canceled', t.canceled],
    ['Permanently failed', t.permanentlyFailed],
  ];
  draw('funnel-chart', {
    type: 'bar',
    data: {
      labels: steps.map((s) => s[0]),
      datasets: [
        {
          label: 'Routings',
          data: steps.map((s) => s[1]),
          backgroundColor: ['#93c5fd', '#60a5fa', '#3b82f6', '#2563eb', '#16a34a', '#f59e0b', '#dc2626'],
        },
      ],
    },
    options: { indexAxis: 'y', animation: false, plugins: { legend: { display: false } } },
  });

  const months = new Map();
  for (const g of byDay.groups) {
    const month = g.key.slice(0, 7);
    const m = months.get(month) || { revenueCents: 0, completed: 0 };
    m.revenueCents += g.revenueCents;
    m.completed += g.completed;
    months.set(month, m);
  }
  const monthKeys = [...months.keys()].sort();
  draw('revenue-chart', {
    type: 'bar',
    data: {
      labels: monthKeys,
      datasets: [
        {
          label: 'Revenue (USD)',
          data: monthKeys.map((k) => months.get(k).revenueCents / 100),
          backgroundColor: '#16a34a',
        },
      ],
    },
    options: { animation: false, plugins: { legend: { display: false } } },
  });

  const top = byPartner.groups
    .filter((g) => g.synced >= MIN_SYNCED)
    .sort((a, b) => b.conversionRate - a.conversionRate || b.completed - a.completed || (a.key < b.key ? -1 : 1))
    .slice(0, TOP_PARTNERS);
  document.getElementById('min-synced').textContent = String(MIN_SYNCED);
  draw('partners-chart', {
    type: 'bar',
    data: {
      labels: top.map((g) => g.name || g.key),
      datasets: [
        {
          label: 'Conversion (%)',
          data: top.map((g) => +(g.conversionRate * 100).toFixed(1)),
          backgroundColor: '#2563eb',
        },
      ],
    },
    options: {
      indexAxis: 'y',
      animation: false,
      scales: { x: { min: 0, max: 100 } },
      plugins: { legend: { display: false } },
    },
  });
  const tbody = document.querySelector('#partners-table tbody');
  tbody.replaceChildren(
    ...top.map((g) => {
      const row = document.createElement('tr');
      for (const text of [
        g.name || g.key,
        g.created,
        g.synced,
        g.completed,
        percent(g.conversionRate),
        money.format(g.revenueCents / 100),
      ]) {
        const cell = document.createElement('td');
        cell.textContent = String(text);
        row.append(cell);
      }
      return row;
    }),
  );
}

async function load() {
  const error = document.getElementById('error');
  const from = document.getElementById('from').value;
  const to = document.getElementById('to').value;
  document.body.dataset.state = 'loading';
  try {
    // The picker's "to" is the last day shown; the API's `to` is exclusive.
    const range = { from, to: isoDay(Date.parse(to) + DAY) };
    const [byDay, byPartner] = await Promise.all([fetchFunnel(range, 'day'), fetchFunnel(range, 'partner')]);
    render(byDay, byPartner);
    error.hidden = true;
    window.analyticsData = { range, byDay, byPartner };
    document.body.dataset.state = 'ready';
  } catch (e) {
    error.textContent = `Could not load the analytics: ${e.message}`;
    error.hidden = false;
    document.body.dataset.state = 'error';
  }
}

document.addEventListener('DOMContentLoaded', () => {
  setRange(90);
  document.getElementById('range').addEventListener('submit', (event) => {
    event.preventDefault();
    void load();
  });
  for (const button of document.querySelectorAll('.presets button')) {
    button.addEventListener('click', () => {
      setRange(Number(button.dataset.days));
      void load();
    });
  }
  void load();
});
