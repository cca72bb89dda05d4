// agora studio, the Server Manager: the agent servers of the Redis's
// registry in a table, refreshed when the tab is shown and every 3 s while
// it is visible; per server its agents (each with a delete button and its
// memory), "delete all" and "stop" (both asked with confirm()). Every
// server field is hostile input: it goes in with textContent only.
//
// Stable hooks (browser tests rely on them):
//   #server-table, its body #server-rows; #server-error: the last error
//   tr.srv-row            one per server: data-id (the studio's id,
//                         "srv3"), data-url, data-live ("true"/"false")
//     td.srv-url .srv-status .srv-agents .srv-cpu .srv-rss
//        .srv-sessions .srv-seen          the columns
//     button.srv-show-agents .srv-delete-all .srv-stop (data-id)
//   #server-agents        the agents of one server: data-id, data-url
//     li.agent-row        data-session, data-role, data-status
//       button.agent-delete   (no confirm), button.agent-memory
//   #agent-memory         the memory shown (.bubble per message)
'use strict';

// A block: this part's names are its own (the parts' scripts share one
// global scope, where a name in one would replace the same in another).
{
  const serversEvery = 3000;
  let serversTimer = null;
  let serversBusy = false;

  function cell(tr, cls, text) {
    const td = document.createElement('td');
    td.className = cls;
    td.textContent = text;
    tr.append(td);
    return td;
  }

  function button(text, cls, id, act) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = cls;
    b.textContent = text;
    b.dataset.id = id;
    b.addEventListener('click', () => act().catch(serverError));
    return b;
  }

  function serverError(e) {
    $('server-error').textContent = e ? e.message : '';
  }

  function ago(ms) {
    if (typeof ms !== 'number' || ms < 0) return '';
    if (ms < 60000) return Math.round(ms / 1000) + ' s ago';
    if (ms < 3600000) return Math.round(ms / 60000) + ' min ago';
    return Math.round(ms / 3600000) + ' h ago';
  }

  function num(v, fmt) { return typeof v === 'number' ? fmt(v) : ''; }

  function serverRow(s) {
    const tr = document.createElement('tr');
    tr.className = 'srv-row';
    tr.dataset.id = s.id || '';
    tr.dataset.url = s.url;
    tr.dataset.live = String(!!s.live);
    cell(tr, 'srv-url', s.url);
    const st = cell(tr, 'srv-status', s.live ? 'live' : 'gone');
    if (s.info_error) {
      st.textContent = 'live, no info: ' + s.info_error;
      st.classList.add('srv-bad');
    }
    cell(tr, 'srv-agents', num(s.agents, String) +
      (s.busy ? ' (' + s.busy + ' busy)' : ''));
    cell(tr, 'srv-cpu', num(s.cpu_s, (v) => v.toFixed(1) + ' s'));
    cell(tr, 'srv-rss', num(s.rss_kib, (v) => (v / 1024).toFixed(1) + ' MiB'));
    cell(tr, 'srv-sessions', num(s.sessions, String));
    cell(tr, 'srv-seen', ago(s.seen_ago_ms));
    const acts = cell(tr, 'srv-acts', '');
    if (s.id) {
      acts.append(
        button('agents', 'srv-show-agents', s.id, () => showAgents(s.id, s.url)),
        button('delete all', 'srv-delete-all', s.id, () => deleteAll(s.id, s.url)),
        button('stop', 'srv-stop', s.id, () => stopServer(s.id, s.url)));
    }
    return tr;
  }

  async function showServers() {
    if (serversBusy) return;
    serversBusy = true;
    try {
      const j = await api('/api/servers');
      $('server-rows').replaceChildren(...j.servers.map(serverRow));
      $('server-none').hidden = j.servers.length > 0;
      serverError(null);
    } finally {
      serversBusy = false;
    }
  }

  function path(id) { return '/api/servers/' + encodeURIComponent(id); }

  async function showAgents(id, url) {
    const box = $('server-agents');
    const list = $('agent-list');
    const j = await api(path(id) + '/agents');
    box.dataset.id = id;
    box.dataset.url = url;
    $('agent-title').textContent = 'Agents of ' + url +
      (j.truncated ? ' (the first ' + j.agents.length + ')' : '');
    $('agent-memory').replaceChildren();
    list.replaceChildren();
    for (const a of j.agents) {
      const li = document.createElement('li');
      li.className = 'agent-row';
      li.dataset.session = a.session;
      li.dataset.role = a.role;
      const who = document.createElement('span');
      who.textContent = a.role + ' (' + a.kind + ') in ' + a.session +
        ', ' + a.status;
      li.dataset.status = a.status;
      const mem = button('memory', 'agent-memory', id,
        () => showMemory(id, a.session, a.role));
      const del = button('delete', 'agent-delete', id, async () => {
        await api(path(id) + '/agents/' + encodeURIComponent(a.role) +
          '/delete', {session: a.session});
        await showAgents(id, url);
        await showServers();
      });
      li.append(who, ' ', mem, ' ', del);
      list.append(li);
    }
    if (j.agents.length === 0) list.textContent = 'No agents.';
    box.hidden = false;
  }

  async function showMemory(id, session, role) {
    const out = $('agent-memory');
    const j = await api(path(id) + '/agents/' + encodeURIComponent(role) +
      '/memory?session=' + encodeURIComponent(session));
    out.replaceChildren();
    for (const m of j.memory) {
      bubble(out, String(m.sent_from || '?'), '').textContent =
        String(m.content === undefined ? '' : m.content);
    }
    if (j.memory.length === 0) out.textContent = role + ' remembers nothing.';
  }

  async function deleteAll(id, url) {
    if (!confirm('Delete every agent of ' + url + '?')) return;
    const j = await api(path(id) + '/delete-all', {});
    serverError({message: url + ': ' + j.deleted + ' agents deleted'});
    if ($('server-agents').dataset.id === id) $('server-agents').hidden = true;
    await showServers();
  }

  async function stopServer(id, url) {
    if (!confirm('Stop the server ' + url + '? Its agents go with it.')) return;
    await api(path(id) + '/stop', {});
    if ($('server-agents').dataset.id === id) $('server-agents').hidden = true;
    await showServers();
  }

  // Every few seconds while the tab is shown (and the window visible).
  function serversTick() {
    if ($('servers').hidden) {
      clearInterval(serversTimer);
      serversTimer = null;
    } else if (!document.hidden) {
      showServers().catch(serverError);
    }
  }

  parts.servers = {
    async show() {
      if (serversTimer === null) {
        serversTimer = setInterval(serversTick, serversEvery);
      }
      await showServers().catch(serverError);
    },
  };
}
