// agora studio's page. Everything shown from the server (agent text, role
// names, scenario content) is hostile input: it goes into the page with
// textContent and createElement only, never innerHTML.
'use strict';

const $ = (id) => document.getElementById(id);
let token = '';
// The page's parts (chat.js, sessions.js, servers.js) add themselves here.
// Each keeps its names in a block of its own: they are classic scripts
// sharing one global scope.
// {init(), show()}; init runs once the token is known, show on their tab.
const parts = {};
function colour(name) {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return 'c' + (h % 8);
}

// Every API request carries the access token.
async function api(path, body) {
  const opt = body === undefined ? {headers: {'X-Agora-Token': token}} : {
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
  text.className = 'text';
  div.append(who, text);
  parent.append(div);
  return text;
}

function say(msg) { $('state').textContent = msg; }

// Resolved once the token is good and every part's init has run: a tab
// clicked before (a slow start) shows its part then.
let markStarted;
const started = new Promise((resolve) => { markStarted = resolve; });

function tab(which) {
  if (!$('login').hidden) return; // nothing to show without the token
  for (const name of Object.keys(parts)) {
    $(name).hidden = name !== which;
    $('tab-' + name).setAttribute('aria-selected', String(name === which));
  }
  if (parts[which].show) {
    started.then(() => {
      // Still the tab shown (another may have been clicked meanwhile).
      if (!$(which).hidden) return parts[which].show();
      return undefined;
    }).catch((e) => say(e.message));
  }
}

// The access token: from the URL's fragment (#token=..., as agora studio
// printed it; a fragment never goes to the server), then kept in this
// browser's storage for this studio's other tabs and reloads, and taken
// out of the address bar.
const tokenKey = 'agora-studio-token@' + location.host;

function takeToken() {
  const t = new URLSearchParams(location.hash.slice(1)).get('token');
  if (t) {
    localStorage.setItem(tokenKey, t);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return localStorage.getItem(tokenKey) || '';
}

// The URL with its token pasted into a page already open here.
window.addEventListener('hashchange', () => {
  if (new URLSearchParams(location.hash.slice(1)).get('token')) {
    takeToken();
    location.reload();
  }
});

// No token, or a stale one (the studio was started again): ask for it.
function askToken() {
  for (const name of Object.keys(parts)) $(name).hidden = true;
  $('login').hidden = false;
  // The --token-file token is traded for this studio's own (the page
  // keeps only that one: the file's also opens the agent servers).
  $('login').addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const j = await api('/api/login', {token: $('login-token').value});
      localStorage.setItem(tokenKey, j.token);
      location.reload();
    } catch (err) {
      $('login-error').textContent = err.message;
    }
  });
}

async function main() {
  // The tabs answer at once, whatever the start still waits for.
  for (const name of Object.keys(parts)) {
    $('tab-' + name).addEventListener('click', () => tab(name));
  }
  token = takeToken();
  try {
    await api('/api/runs');
  } catch (e) {
    askToken();
    return;
  }
  for (const name of Object.keys(parts)) {
    if (parts[name].init) await parts[name].init();
  }
  markStarted();
}

// Deferred scripts all run before DOMContentLoaded: every part is in.
document.addEventListener('DOMContentLoaded',
  () => main().catch((e) => say(e.message)));
