// agora studio's page. Everything shown from the server (agent text, role
// names, scenario content) is hostile input: it goes into the page with
// textContent and createElement only, never innerHTML.
'use strict';

const $ = (id) => document.getElementById(id);
let token = '';
let scenarios = [];
let run = null; // {id, role, source}
const bubbles = new Map(); // reply number -> text element

function colour(name) {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return 'c' + (h % 8);
}

async function api(path, body) {
  const opt = body === undefined ? {} : {
    method: 'POST',
    headers: {'Content-Type': 'application/json', 'X-Agora-Token': token},
    body: JSON.stringify(body),
  };
  const r = await fetch(path, opt);
  const j = await r.json();
  if (!r.ok) throw new Error(j.error || r.statusText);
  return j;
}

function bubble(parent, role, cls) {
  const div = document.createElement('div');
  div.className = 'bubble ' + colour(role) + (cls ? ' ' + cls : '');
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = role;
  const text = document.createElement('span');
  div.append(who, text);
  parent.append(div);
  return text;
}

function say(msg) { $('state').textContent = msg; }

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

async function showSessions() {
  const list = $('session-list');
  list.replaceChildren();
  const j = await api('/api/sessions');
  for (const s of j.sessions) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = s.session;
    b.addEventListener('click', () => showSession(s.session));
    li.append(b);
    list.append(li);
  }
}

async function showSession(s) {
  const log = $('session-log');
  log.replaceChildren();
  const j = await api('/api/sessions/' + encodeURIComponent(s) +
    '/messages');
  for (const m of j.messages) {
    bubble(log, m.sent_from + ' \u2192 ' + m.send_to.join(', '),
      m.whisper ? 'whisper' : '').textContent = m.content;
  }
}

function tab(which) {
  $('chat').hidden = which !== 'chat';
  $('sessions').hidden = which !== 'sessions';
  if (which === 'sessions') showSessions().catch((e) => say(e.message));
}

async function main() {
  token = (await api('/api/token')).token;
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
  $('tab-chat').addEventListener('click', () => tab('chat'));
  $('tab-sessions').addEventListener('click', () => tab('sessions'));
  $('refresh').addEventListener('click', () => tab('sessions'));
}

main().catch((e) => say(e.message));
