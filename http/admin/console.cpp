// The operator console: one static page that polls the admin endpoints with
// the bearer key the operator gives it (kept in this browser tab only).
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
</style></head><body>
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
<h2>Actors by type</h2><table id="types"></table>
<h2>Deepest mailboxes</h2><table id="mailboxes"></table>
<h2>Recent sagas</h2><table id="sagas"></table>
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
    set('error', ''); set('updated', 'updated ' + new Date().toLocaleTimeString());
    document.body.dataset.loaded = 'true';
  } catch (e) { set('error', e.message); }
}
refresh(); setInterval(refresh, 2000);
</script></body></html>
)HTML";
  return page;
}

} // namespace boxoffice::http
