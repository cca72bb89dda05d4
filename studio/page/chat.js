// agora studio, the chat room: choose a scenario and a role, start, see
// every reply stream in, answer when asked. Text from the server goes in
// with textContent only.
'use strict';

let scenarios = [];
let run = null; // {id, role, source}
const bubbles = new Map(); // reply number -> text element

function fillRoles() {
  const sc = scenarios.find((s) => s.file === $('scenario').value);
  const sel = $('role');
  sel.replaceChildren();
  const watch = document.createElement('option');
  watch.value = '';
  watch.textContent = '(watch)';
  sel.append(watch);
  for (const r of (sc && sc.roles) || []) {
    if (!r.human) continue;
    const o = document.createElement('option');
    o.value = r.role;
    o.textContent = r.role;
    sel.append(o);
    sel.value = r.role;
  }
  $('about').textContent = sc ? (sc.description || sc.error || '') : '';
}

function onFrame(type, ev) {
  const d = JSON.parse(ev.data);
  if (type === 'awaiting_input') {
    if (run && d.role === run.role) {
      $('asked').textContent = d.role + ':';
      $('say').hidden = false;
      $('words').focus();
    }
    return;
  }
  let t = bubbles.get(d.reply);
  // The person's words got their bubble when sent: the end of their
  // reply makes no second, empty one.
  if (!t && type === 'end' && run && d.role === run.role) return;
  if (!t) {
    t = bubble($('log'), d.role, type === 'error' ? 'error' : '');
    bubbles.set(d.reply, t);
  }
  if (type === 'chunk' || type === 'error') t.textContent += d.text;
}

function follow(id) {
  const src = new EventSource('/api/runs/' + encodeURIComponent(id) +
    '/events?t=' + encodeURIComponent(token));
  for (const type of ['chunk', 'end', 'error', 'awaiting_input']) {
    src.addEventListener(type, (ev) => onFrame(type, ev));
  }
  src.addEventListener('done', (ev) => {
    const d = JSON.parse(ev.data);
    say(d.ok ? 'The chat is over.' : 'The run failed: ' + d.error);
    src.close();
    $('say').hidden = true;
    $('leave').disabled = true;
  });
  return src;
}

async function start(e) {
  e.preventDefault();
  if (run) return;
  const role = $('role').value;
  const body = role ? {scenario: $('scenario').value, role: role}
                    : {scenario: $('scenario').value, watch: true};
  try {
    const r = await api('/api/runs', body);
    $('log').replaceChildren();
    bubbles.clear();
    run = {id: r.run, role: role, source: null};
    run.source = follow(r.run);
    $('leave').disabled = false;
    say('Session ' + r.session);
  } catch (err) {
    say(err.message);
  }
}

async function send(e) {
  e.preventDefault();
  const words = $('words').value;
  $('words').value = '';
  $('say').hidden = true;
  if (words) bubble($('log'), run.role, '').textContent = words;
  try {
    await api('/api/runs/' + encodeURIComponent(run.id) + '/input',
      {words: words});
  } catch (err) {
    say(err.message);
  }
}

async function leave() {
  if (!run) return;
  try {
    await api('/api/runs/' + encodeURIComponent(run.id) + '/stop', {});
  } catch (err) {
    say(err.message);
  }
  run = null;
}

parts.chat = {
  async init() {
    scenarios = (await api('/api/scenarios')).scenarios;
    for (const s of scenarios) {
      const o = document.createElement('option');
      o.value = s.file;
      o.textContent = s.name || s.file;
      $('scenario').append(o);
    }
    fillRoles();
    $('scenario').addEventListener('change', fillRoles);
    $('start').addEventListener('submit', start);
    $('say').addEventListener('submit', send);
    $('leave').addEventListener('click', leave);
  },
};
