// agora studio, the chat room: choose a scenario and a role, start, see
// every reply stream in, answer when asked. Text from the server goes in
// with textContent only.
//
// Whispers: each step's `step` event says whom its replies go to, before
// any chunk. A person playing a role sees a reply stream at once when the
// step's replies go to all or to that role; a reply of a step that goes
// to others only is held unseen, and its `message` event (after its
// `end`, with `heard`) removes it. A watcher sees everything at once,
// whispers marked (.whisper, "to ...") when their message comes. Bubbles
// get their message id as data-id; messages with no reply (a task sent by
// the script) get a bubble of their own.
'use strict';

// A block: this part's names are its own (the parts' scripts share one
// global scope, where a name in one would replace the same in another).
{
  let scenarios = [];
  let run = null; // {id, role, source}
  const bubbles = new Map(); // reply number -> {div, text, role}
  const ended = new Map(); // role -> reply numbers ended, awaiting a message
  let stepHeard = true; // the running step's replies reach the person's role

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
    let b = bubbles.get(d.reply);
    if (!b) {
      const text = bubble($('log'), d.role, type === 'error' ? 'error' : '');
      b = {div: text.parentNode, text: text, role: d.role};
      // Held (unseen) when the step's replies go to others only.
      b.div.hidden = !stepHeard && d.role !== run.role && type !== 'error';
      bubbles.set(d.reply, b);
    }
    if (type === 'chunk' || type === 'error') b.text.textContent += d.text;
    if (type === 'error') b.div.hidden = false;
    if (type === 'end') {
      if (!ended.has(d.role)) ended.set(d.role, []);
      ended.get(d.role).push(d.reply);
    }
  }

  function onMessage(ev) {
    const m = JSON.parse(ev.data);
    const q = ended.get(m.sent_from);
    let b = q && q.length ? bubbles.get(q.shift()) : null;
    if (!b) {
      const text = bubble($('log'), m.sent_from, '');
      text.textContent = m.content;
      b = {div: text.parentNode, text: text, role: m.sent_from};
    }
    b.div.dataset.id = String(m.id);
    // A person's words come with no chunk: their message has the text.
    if (b.text.textContent === '') b.text.textContent = m.content;
    if (m.whisper) {
      b.div.classList.add('whisper');
      const to = document.createElement('span');
      to.className = 'to';
      to.textContent = 'to ' + m.send_to.join(', ');
      b.div.insertBefore(to, b.text);
    }
    if (run && run.role && m.heard === false) {
      b.div.remove(); // a whisper the person's role did not hear
    } else {
      b.div.hidden = false;
    }
  }

  function onStep(ev) {
    const to = JSON.parse(ev.data).send_to;
    stepHeard = !run || !run.role || to.length === 0 || to.includes('all') ||
      to.includes(run.role);
  }

  function followRun(id) {
    const src = new EventSource('/api/runs/' + encodeURIComponent(id) +
      '/events?t=' + encodeURIComponent(token));
    for (const type of ['chunk', 'end', 'error', 'awaiting_input']) {
      src.addEventListener(type, (ev) => onFrame(type, ev));
    }
    src.addEventListener('message', onMessage);
    src.addEventListener('step', onStep);
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
      ended.clear();
      stepHeard = true;
      run = {id: r.run, role: role, source: null};
      run.source = followRun(r.run);
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
}
