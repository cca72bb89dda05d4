// agora studio, the sessions of the Redis: the list (counts, a live mark)
// and one session's messages, followed live through /api/sessions/events.
// A session of 10,000 messages stays responsive: its history is fetched in
// pages (after, limit) and only the rows in view are in the DOM (a
// windowed list of fixed-height rows; a row shows one line, a click shows
// the whole message below). Text from the server goes in with textContent
// and createElement only.
//
// Stable hooks (for tests):
//   #session-list li[data-session]     one session; .count says
//                                      "N messages, R roles";
//                                      .live-mark present while live
//   #session-list li.selected          the session shown
//   #session-view                      the scrolling window (fixed height)
//   #session-view .msg[data-id]        a rendered row (only rows in view),
//                                      .whisper for a whisper; .from, .to,
//                                      .text inside
//   #session-view[data-count]          messages loaded for the session
//   #session-detail                    the clicked message in full
//                                      (data-id)
//   #session-follow[data-state]        "live" while the events stream is
//                                      open, "off" otherwise
//   #session-usage tr.usage-row[data-role]  one agent of the session (the
//                                      registry): .u-kind .u-status
//                                      .u-steps .u-prompt .u-completion
//                                      .u-total; button.u-memory shows
//                                      its memory in #session-detail
//                                      (data-memory = the role)
'use strict';

// A block: this part's names are its own (the parts' scripts share one
// global scope, where a name in one would replace the same in another).
{
  const ROW_H = 28; // px, .msg's height in style.css
  const PAGE = 1000; // messages per history request
  const sess = {
    name: null, // the session shown
    msgs: [], // its messages, oldest first
    ids: new Set(),
    loading: false,
    again: false, // a message came while loading
    src: null, // the events stream (all sessions)
    live: new Set(), // sessions a message was seen for on the stream
  };

  function liveMark(li) {
    if (li.querySelector('.live-mark')) return;
    const m = document.createElement('span');
    m.className = 'live-mark';
    m.textContent = 'live';
    m.title = 'a message was stored in the last minute, or a run drives it';
    li.append(m);
  }

  function sessionItem(s) {
    const li = document.createElement('li');
    li.dataset.session = s.session;
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = s.session;
    b.addEventListener('click', () => showSession(s.session));
    const c = document.createElement('span');
    c.className = 'count';
    c.textContent = s.messages + ' messages, ' + s.roles + ' roles';
    li.dataset.messages = String(s.messages);
    li.dataset.roles = String(s.roles);
    li.append(b, c);
    if (s.live) liveMark(li);
    if (s.session === sess.name) li.classList.add('selected');
    return li;
  }

  async function listSessions() {
    const j = await api('/api/sessions');
    $('session-list').replaceChildren(...j.sessions.map(sessionItem));
  }

  async function showSessions() {
    await listSessions();
    follow();
  }

  // One row of the window, at index i.
  function row(i) {
    const m = sess.msgs[i];
    const div = document.createElement('div');
    div.className = 'msg ' + colour(m.sent_from) + (m.whisper ? ' whisper' : '');
    div.dataset.id = String(m.id);
    div.style.top = (i * ROW_H) + 'px';
    const from = document.createElement('span');
    from.className = 'from';
    from.textContent = m.sent_from;
    const to = document.createElement('span');
    to.className = 'to';
    to.textContent = '\u2192 ' + m.send_to.join(', ');
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = m.content;
    div.append(from, to, text);
    div.addEventListener('click', () => detail(m));
    return div;
  }

  function detail(m) {
    const d = $('session-detail');
    d.dataset.id = String(m.id);
    delete d.dataset.memory;
    const head = document.createElement('div');
    head.className = 'who';
    head.textContent = '#' + m.id + ' ' + m.sent_from + ' \u2192 ' +
      m.send_to.join(', ') + (m.whisper ? ' (whisper)' : '') +
      ', round ' + m.round + ', ' + new Date(m.time_ms).toLocaleString();
    const body = document.createElement('div');
    body.className = 'text';
    body.textContent = m.content;
    d.replaceChildren(head, body);
  }

  // Render the rows in view (and a few around them).
  function render() {
    const view = $('session-view');
    const inner = $('session-rows');
    const n = sess.msgs.length;
    inner.style.height = (n * ROW_H) + 'px';
    view.dataset.count = String(n);
    const first = Math.max(0, Math.floor(view.scrollTop / ROW_H) - 5);
    const last = Math.min(n, Math.ceil((view.scrollTop + view.clientHeight) /
      ROW_H) + 5);
    const rows = [];
    for (let i = first; i < last; i++) rows.push(row(i));
    inner.replaceChildren(...rows);
  }

  let pending = false;
  function renderSoon() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      render();
    });
  }

  // Append messages (in id order, each once); keep the view at the bottom if
  // it was there.
  function add(list) {
    const view = $('session-view');
    const atEnd = view.scrollTop + view.clientHeight >=
      view.scrollHeight - ROW_H;
    for (const m of list) {
      if (sess.ids.has(m.id)) continue;
      const last = sess.msgs[sess.msgs.length - 1];
      sess.ids.add(m.id);
      sess.msgs.push(m);
      if (last && m.id < last.id) sess.msgs.sort((a, b) => a.id - b.id);
    }
    renderSoon();
    if (atEnd) {
      requestAnimationFrame(() => { view.scrollTop = view.scrollHeight; });
    }
  }

  // Fetch the history after the last message held, page by page.
  async function catchUp() {
    if (sess.loading || !sess.name) return;
    sess.loading = true;
    const name = sess.name;
    try {
      for (;;) {
        const after = sess.msgs.length ? sess.msgs[sess.msgs.length - 1].id : 0;
        const j = await api('/api/sessions/' + encodeURIComponent(name) +
          '/messages?after=' + after + '&limit=' + PAGE);
        if (name !== sess.name) break; // another session was chosen
        add(j.messages);
        if (j.messages.length < PAGE) break;
      }
    } finally {
      sess.loading = false;
    }
    // Another session chosen meanwhile (its own load was refused while
    // this one ran), or messages came: load on.
    if (name !== sess.name || sess.again) {
      sess.again = false;
      await catchUp();
    }
  }

  // The agents of session s with their token counts (the registry), at
  // most every 2 s while messages come.
  let usageAt = 0;
  let usageTimer = null;

  function usageCell(tr, cls, text) {
    const td = document.createElement('td');
    td.className = cls;
    td.textContent = text;
    tr.append(td);
  }

  const tokens = (n) => (n > 0 ? n.toLocaleString() : '\u2013');

  async function showUsage(s) {
    usageAt = Date.now();
    const j = await api('/api/sessions/' + encodeURIComponent(s) + '/usage');
    if (s !== sess.name) return;
    const rows = j.agents.map((a) => {
      const tr = document.createElement('tr');
      tr.className = 'usage-row';
      tr.dataset.role = a.role;
      usageCell(tr, 'u-role', a.role);
      usageCell(tr, 'u-kind', a.kind);
      usageCell(tr, 'u-status', a.status);
      usageCell(tr, 'u-steps', String(a.steps));
      usageCell(tr, 'u-prompt', tokens(a.prompt_tokens));
      usageCell(tr, 'u-completion', tokens(a.completion_tokens));
      usageCell(tr, 'u-total', tokens(a.total_tokens));
      const td = document.createElement('td');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'u-memory';
      b.textContent = 'memory';
      b.addEventListener('click', () =>
        showMemory(s, a.role).catch((e) => say(e.message)));
      td.append(b);
      tr.append(td);
      return tr;
    });
    $('usage-rows').replaceChildren(...rows);
    $('session-usage').hidden = rows.length === 0;
  }

  function usageSoon(s) {
    if (usageTimer) return;
    const wait = Math.max(0, 2000 - (Date.now() - usageAt));
    usageTimer = setTimeout(() => {
      usageTimer = null;
      if (s === sess.name) showUsage(s).catch((e) => say(e.message));
    }, wait);
  }

  // An agent's memory (what its next prompt is made of), in full.
  async function showMemory(s, role) {
    const j = await api('/api/sessions/' + encodeURIComponent(s) +
      '/agents/' + encodeURIComponent(role) + '/memory?limit=200');
    const d = $('session-detail');
    d.dataset.memory = role;
    delete d.dataset.id;
    const head = document.createElement('div');
    head.className = 'who';
    head.textContent = 'Memory of ' + role + ' (' + j.memory.length +
      ' messages)';
    const items = j.memory.map((m) => {
      const div = document.createElement('div');
      div.className = 'text';
      div.textContent = m.sent_from + ': ' + m.content;
      return div;
    });
    d.replaceChildren(head, ...items);
  }

  async function showSession(s) {
    sess.name = s;
    sess.msgs = [];
    sess.ids = new Set();
    sess.again = false;
    for (const li of $('session-list').querySelectorAll('li')) {
      li.classList.toggle('selected', li.dataset.session === s);
    }
    $('session-title').textContent = s;
    $('session-detail').replaceChildren();
    $('usage-rows').replaceChildren();
    $('session-usage').hidden = true;
    showUsage(s).catch((e) => say(e.message));
    $('session-view').scrollTop = 0;
    render();
    await catchUp();
  }

  // One stream for every session: counts and live marks in the list, new
  // rows for the session shown. On `ready` (the studio subscribed, again
  // after a Redis outage) the history fills any gap.
  function follow() {
    if (sess.src) return;
    const src = new EventSource('/api/sessions/events?t=' +
      encodeURIComponent(token));
    sess.src = src;
    src.addEventListener('open', () => {
      $('session-follow').dataset.state = 'live';
    });
    src.addEventListener('error', () => {
      $('session-follow').dataset.state = 'off';
    });
    // Subscribed (again): what came before is read once more, the list
    // (sessions begun before the stream was up) and the session shown.
    src.addEventListener('ready', () => {
      $('session-follow').dataset.state = 'live';
      listSessions().catch((e) => say(e.message));
      catchUp().catch((e) => say(e.message));
    });
    src.addEventListener('message', (ev) => {
      const d = JSON.parse(ev.data);
      let li = null;
      for (const x of $('session-list').querySelectorAll('li')) {
        if (x.dataset.session === d.session) li = x;
      }
      if (!li) {
        li = sessionItem({session: d.session, messages: 0, roles: 0,
          live: true});
        $('session-list').append(li);
      }
      liveMark(li);
      li.dataset.messages = String(Number(li.dataset.messages || 0) + 1);
      li.dataset.roles = li.dataset.roles || '0';
      li.querySelector('.count').textContent = li.dataset.messages +
        ' messages, ' + li.dataset.roles + ' roles';
      if (d.session !== sess.name) return;
      usageSoon(d.session);
      const last = sess.msgs[sess.msgs.length - 1];
      if (sess.loading) {
        sess.again = true; // the history is coming: read on after it
      } else if ((last && d.message.id > last.id + 1) ||
          (!last && d.message.id > 1)) {
        catchUp().catch((e) => say(e.message)); // a gap: the history fills it
      } else {
        add([d.message]);
      }
    });
  }

  parts.sessions = {
    init() {
      $('refresh').addEventListener('click', () => tab('sessions'));
      $('session-view').addEventListener('scroll', renderSoon);
      window.addEventListener('resize', renderSoon);
    },
    show: showSessions,
  };
}
