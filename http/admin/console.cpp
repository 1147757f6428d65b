// The operator console: one static page that polls the admin endpoints with
// the bearer key the operator gives it (kept in this browser tab only). Its
// charts draw the server's 15-minute window (/admin/trends) with Chart.js,
// which the admin listener serves from the Debian package: no network fetch.
// Each canvas's box carries data-chart-points (values drawn) and
// data-chart-max, so a headless browser can tell that the charts have data.
#include "http/admin/admin_actor.hpp"

namespace boxoffice::http {

const std::string& console_html() {
  static const std::string page = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>boxoffice console</title>
<style>
 body{font-family:system-ui,sans-serif;margin:1.5rem;background:#f6f7f9;color:#1d2330}
 h1{font-size:1.3rem} .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:.8rem}
 .card{background:#fff;border-radius:.5rem;padding:.8rem;box-shadow:0 1px 2px #0002}
 .card b{display:block;font-size:1.6rem} .bad{color:#b00020} .ok{color:#0a7d32}
 table{border-collapse:collapse;width:100%;background:#fff} td,th{padding:.25rem .5rem;border-bottom:1px solid #eee;text-align:left;font-size:.85rem}
 #keyform{margin-bottom:1rem}
 .charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(26rem,1fr));gap:.8rem}
 .chart{background:#fff;border-radius:.5rem;padding:.5rem .8rem;box-shadow:0 1px 2px #0002;height:14rem}
 .chart h3{margin:0 0 .3rem;font-size:.9rem} .chart div{position:relative;height:12rem}
</style>
<script src="/admin/chart.js"></script>
</head><body>
<h1>boxoffice console <small id="updated"></small></h1>
<form id="keyform"><input id="key" type="password" placeholder="admin key"> <button>use key</button> <span id="error" class="bad"></span></form>
<div class="grid">
 <div class="card">Waiting <b id="waiting">–</b></div>
 <div class="card">Active <b id="active">–</b></div>
 <div class="card">Outbox pending <b id="pending">–</b></div>
 <div class="card">Dead letters <b id="dead">–</b></div>
 <div class="card">Oldest pending (s) <b id="oldest">–</b></div>
 <div class="card">Breaker <b id="breaker">–</b></div>
 <div class="card">Delivered <b id="delivered">–</b></div>
 <div class="card">Live actors <b id="actors">–</b></div>
</div>
<h2>Last 15 minutes <small id="chartnote"></small></h2>
<div class="charts" id="charts"></div>
<h2>Actors by type</h2><table id="types"></table>
<h2>Deepest mailboxes</h2><table id="mailboxes"></table>
<h2>Recent sagas</h2><table id="sagas"></table>
<h2>Cluster <small id="clusternote"></small></h2><table id="nodes"></table>
<script>
const params = new URLSearchParams(location.hash.slice(1));
let key = params.get('key') || sessionStorage.getItem('boxoffice-key') || '';
document.getElementById('keyform').onsubmit = e => { e.preventDefault();
  key = document.getElementById('key').value; sessionStorage.setItem('boxoffice-key', key); refresh(); };
const get = p => fetch(p, {headers: {Authorization: 'Bearer ' + key}}).then(r => {
  if (!r.ok) throw new Error(p + ': HTTP ' + r.status); return r.json(); });
const set = (id, v) => document.getElementById(id).textContent = v;
const rows = (id, list, cols) => document.getElementById(id).innerHTML =
  '<tr>' + cols.map(c => '<th>' + c + '</th>').join('') + '</tr>' +
  list.map(x => '<tr>' + cols.map(c => '<td>' + (x[c] ?? '') + '</td>').join('') + '</tr>').join('');
// Charts: id, title, and the series (label -> values) taken from /admin/trends.
const keyed = (obj, suffix = '') => Object.entries(obj || {}).map(([k, v]) => [k + suffix, v]);
const byRoute = tr => Object.entries(tr.requestsPerSecond).map(([route, cls]) =>
  [route, tr.t.map((_, i) => Object.values(cls).reduce((a, c) => a + (c[i] || 0), 0))]);
const byClass = tr => {
  const sums = {};
  for (const cls of Object.values(tr.requestsPerSecond))
    for (const [c, v] of Object.entries(cls)) sums[c] = (sums[c] || tr.t.map(() => 0)).map((x, i) => x + v[i]);
  return [...Object.entries(sums).sort(), ['503 shed', tr.shedPerSecond]];
};
const CHARTS = [
  ['requests', 'Requests/s by route', byRoute],
  ['classes', 'Requests/s by status class', byClass],
  ['p50', 'p50 latency by route (ms)', tr => keyed(tr.latencyP50Ms)],
  ['p99', 'p99 latency by route (ms)', tr => keyed(tr.latencyP99Ms)],
  ['sales', 'Holds/s and payments/s (2xx)', tr => [['holds/s', tr.holdsPerSecond], ['payments/s', tr.paymentsPerSecond]]],
  ['room', 'Waiting room size', tr => [['waiting', tr.waiting], ['active', tr.active]]],
  ['admission', 'Admissions/s', tr => [['admitted/s', tr.admittedPerSecond]]],
  ['outbox', 'Outbox pending (left) and oldest pending age, s (right)',
   tr => [['pending', tr.outboxPending], ['oldest age (s)', tr.oldestPendingSeconds, 'y1']]],
  ['deliveries', 'Deliveries/s and failures/s', tr => [['delivered/s', tr.deliveriesPerSecond], ['failed/s', tr.failuresPerSecond]]],
  ['breaker', 'Breaker (0 closed, 1 half-open, 2 open)', tr => [['breaker', tr.breaker]]],
  ['actors', 'Live actors by type', tr => keyed(tr.actors)],
];
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f',
                '#bcbd22', '#17becf', '#393b79', '#637939', '#8c6d31', '#843c39', '#7b4173', '#3182bd'];
const charts = {};
function makeChart(id, title) {
  const box = document.createElement('div'); box.className = 'chart'; box.id = 'chart-' + id;
  box.innerHTML = '<h3>' + title + '</h3><div><canvas></canvas></div>';
  document.getElementById('charts').appendChild(box);
  const right = id === 'outbox' ? {y1: {position: 'right', beginAtZero: true, grid: {drawOnChartArea: false}}} : {};
  return new Chart(box.querySelector('canvas'), {type: 'line', data: {labels: [], datasets: []},
    // Latency exists only in seconds with requests: join those points.
    options: {animation: false, responsive: true, maintainAspectRatio: false, normalized: true,
      spanGaps: id === 'p50' || id === 'p99',
      elements: {point: {radius: 0}, line: {borderWidth: 1.5}},
      scales: {x: {ticks: {maxTicksLimit: 6, maxRotation: 0}},
               y: {beginAtZero: true, ...(id === 'breaker' ? {max: 2, ticks: {stepSize: 1}} : {})}, ...right},
      plugins: {legend: {labels: {boxWidth: 10, font: {size: 10}}}}}});
}
// Updates in place: datasets are matched by label, so lines keep their colour
// and nothing is rebuilt (no flicker).
function drawTrends(tr) {
  const labels = tr.t.map(t => new Date(t).toTimeString().slice(0, 8)); // HH:MM:SS, local
  for (const [id, title, series] of CHARTS) {
    const chart = charts[id] || (charts[id] = makeChart(id, title));
    const wanted = series(tr).filter(([, v]) => v);
    chart.data.labels = labels;
    chart.data.datasets = wanted.map(([label, values, axis], i) => {
      const ds = chart.data.datasets.find(d => d.label === label) ||
        {label, borderColor: COLORS[i % COLORS.length], backgroundColor: COLORS[i % COLORS.length],
         stepped: id === 'breaker', yAxisID: axis || 'y'};
      ds.data = values; return ds; });
    chart.update('none');
    let points = 0, max = 0;
    for (const [, values] of wanted) for (const v of values) if (v !== null) { points++; max = Math.max(max, v); }
    const box = document.getElementById('chart-' + id);
    box.dataset.chartPoints = points; box.dataset.chartMax = max;
  }
  document.body.dataset.charts = Object.keys(charts).length;
}
async function refreshTrends() {
  if (typeof Chart === 'undefined') { set('chartnote', 'charts unavailable: Chart.js was not served (admin.chart_js)'); return; }
  try { drawTrends(await get('/admin/trends')); set('chartnote', ''); }
  catch (e) { set('chartnote', 'charts: ' + e.message); }
}
async function refresh() {
  try {
    const [queue, actors, sagas] = await Promise.all([get('/admin/queue'), get('/admin/actors'), get('/admin/sagas')]);
    set('waiting', queue.waiting); set('active', queue.active); set('actors', actors.total);
    rows('types', Object.entries(actors.actors).map(([type, n]) => ({type, n})), ['type', 'n']);
    rows('mailboxes', actors.deepestMailboxes, ['type', 'id', 'mailbox']);
    rows('sagas', sagas.slice(0, 15), ['id', 'kind', 'state', 'step', 'reservationId']);
    try {
      const outbox = (await get('/admin/outbox')).status;
      set('pending', outbox.pending); set('dead', outbox.dead); set('delivered', outbox.delivered);
      set('oldest', (outbox.oldestPendingAgeMs / 1000).toFixed(1));
      const b = document.getElementById('breaker'); b.textContent = outbox.breaker;
      b.className = outbox.breaker === 'closed' ? 'ok' : 'bad';
    } catch (e) { set('breaker', 'no platform'); }
    try {
      const cluster = await get('/admin/cluster');
      rows('nodes', cluster.nodes, ['nodeId', 'incarnation', 'apiUrl', 'seenAgoMs', 'leasedPartitions']);
      const epochs = cluster.partitions.map(p => p.epoch);
      set('clusternote', cluster.partitions.length + ' partitions, epochs ' +
          Math.min(...epochs) + '–' + Math.max(...epochs));
    } catch (e) { set('clusternote', e.message); }
    set('error', ''); set('updated', 'updated ' + new Date().toLocaleTimeString());
    await refreshTrends();
    document.body.dataset.loaded = 'true';
  } catch (e) { set('error', e.message); }
}
refresh(); setInterval(refresh, 2000);
</script></body></html>
)HTML";
  return page;
}

} // namespace boxoffice::http
