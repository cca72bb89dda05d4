// agora studio, the sessions of the Redis: the list, and one session's
// messages from its history. Text from the server goes in with
// textContent only.
'use strict';

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

parts.sessions = {
  init() {
    $('refresh').addEventListener('click', () => tab('sessions'));
  },
  show: showSessions,
};
