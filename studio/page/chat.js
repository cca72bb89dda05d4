// agora studio, the chat room: choose a scenario and a role, start, see
// every reply stream in, answer when asked; or watch another tab's run.
// Text from the server goes in with textContent only.
//
// Whispers: each step's `step` event says whom its replies go to, before
// any chunk. A person playing a role sees a reply stream at once when the
// step's replies go to all or to that role; a reply of a step that goes
// to others only is held: its bubble is in the log, hidden and empty, its
// text kept out of the page, and its `message` event (after its `end`,
// with `heard`) removes it, or shows it if the role heard it after all. A
// message with no reply that the role did not hear (a task the script sent
// to others) gets no bubble. A watcher sees everything at once, whispers
// marked (.whisper, "to ...") when their message comes. Bubbles get their
// message id as data-id; messages with no reply (a task sent by the
// script) get a bubble of their own.
//
// Runs: #runs lists the studio's runs (GET /api/runs), refreshed when the
// tab is shown, every few seconds while it is, and when a run starts or
// ends here. Watching a run replays its events from the start into the log
// read-only (`/events?watch=1`: the studio does not count that stream as
// the person's, so closing it, or the watching tab, never stops the run):
// no input box, no Leave; "stop watching" closes this tab's stream only.
// A tab with a run of its own going cannot watch (the buttons are
// disabled); starting a run ends watching.
//
// Stable hooks (browser tests rely on them):
//   #log                  the bubbles: data-run (the run shown), data-mode
//                         ("play": this tab's run, "watch": another's)
//     .bubble             one per reply or message: data-id once stored;
//                         .whisper (a watcher's view), .error; .who, .to,
//                         .text
//   #say                  the input box (never shown while watching)
//   #leave                stops this tab's own run (disabled while watching)
//   #unwatch              "stop watching" (shown while watching)
//   #runs                 the studio's runs
//     li[data-run]        one per run: data-run (its id), data-state
//                         (running, awaiting, done, failed), data-session,
//                         data-scenario, data-role ("" for a watch run),
//                         data-own ("true": this tab's run); .run-id,
//                         .run-scenario, .run-role, .run-session, .run-state
//       button.run-watch  data-run; watches that run here
'use strict';

// A block: this part's names are its own (the parts' scripts share one
// global scope, where a name in one would replace the same in another).
{
  const runsEvery = 3000;
  let scenarios = [];
  // The stream this tab shows: {id, role (null: watching), own (this tab
  // started it), source, bubbles, ended, stepHeard, over}. Handlers of a
  // stream that is no longer `view` do nothing.
  let view = null;
  let runsBusy = false;

  // Whether a step's replies reach role: to all ([] too), or to role. A
  // watcher (no role) sees everything.
  function heardBy(to, role) {
    return !role || to.length === 0 || to.includes('all') || to.includes(role);
  }

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

  function onFrame(v, type, ev) {
    const d = JSON.parse(ev.data);
    if (type === 'awaiting_input') {
      if (v.role && d.role === v.role && !v.over) {
        $('asked').textContent = d.role + ':';
        $('say').hidden = false;
        $('words').focus();
      }
      return;
    }
    let b = v.bubbles.get(d.reply);
    if (!b) {
      const text = bubble($('log'), d.role, type === 'error' ? 'error' : '');
      // Held (unseen, its text kept here) when the step's replies go to
      // others only.
      const held = !v.stepHeard && d.role !== v.role && type !== 'error';
      b = {div: text.parentNode, text: text, role: d.role,
        held: held ? '' : null};
      b.div.hidden = held;
      v.bubbles.set(d.reply, b);
    }
    if (type === 'chunk' || type === 'error') {
      if (b.held !== null) b.held += d.text;
      else b.text.textContent += d.text;
    }
    if (type === 'error') show(b);
    if (type === 'end') {
      if (!v.ended.has(d.role)) v.ended.set(d.role, []);
      v.ended.get(d.role).push(d.reply);
    }
  }

  // A held bubble's text goes into the page.
  function show(b) {
    if (b.held !== null) {
      b.text.textContent += b.held;
      b.held = null;
    }
    b.div.hidden = false;
  }

  function onMessage(v, ev) {
    const m = JSON.parse(ev.data);
    const unheard = !!v.role && m.heard === false;
    const q = v.ended.get(m.sent_from);
    let b = q && q.length ? v.bubbles.get(q.shift()) : null;
    if (!b) {
      if (unheard) return; // a whisper with no bubble: nothing to show
      const text = bubble($('log'), m.sent_from, '');
      b = {div: text.parentNode, text: text, role: m.sent_from, held: null};
    }
    if (unheard) {
      b.div.remove(); // a whisper the person's role did not hear
      return;
    }
    b.div.dataset.id = String(m.id);
    show(b);
    // A person's words (and a task) come with no chunk: the message has
    // the text.
    if (b.text.textContent === '') b.text.textContent = m.content;
    if (m.whisper) {
      b.div.classList.add('whisper');
      const to = document.createElement('span');
      to.className = 'to';
      to.textContent = 'to ' + m.send_to.join(', ');
      b.div.insertBefore(to, b.text);
    }
  }

  function onStep(v, ev) {
    v.stepHeard = heardBy(JSON.parse(ev.data).send_to, v.role);
  }

  function onDone(v, ev) {
    const d = JSON.parse(ev.data);
    v.over = true;
    v.source.close();
    say((v.role === null ? 'Watched run ' + v.id + ': ' : '') +
      (d.ok ? 'The chat is over.' : 'The run failed: ' + d.error));
    $('say').hidden = true;
    $('leave').disabled = true;
    refreshRuns().catch((e) => say(e.message));
  }

  // Show run id's events in the log, from its start. role: the role this
  // tab plays ('' for a watch run of its own), or null to watch another's.
  function follow(id, role, own) {
    if (view) view.source.close();
    $('log').replaceChildren();
    $('log').dataset.run = id;
    $('log').dataset.mode = own ? 'play' : 'watch';
    $('say').hidden = true;
    $('leave').disabled = !own;
    $('unwatch').hidden = own;
    const v = {id: id, role: role, own: own, source: null,
      bubbles: new Map(), ended: new Map(), stepHeard: true, over: false};
    v.source = new EventSource('/api/runs/' + encodeURIComponent(id) +
      '/events?t=' + encodeURIComponent(token) + (own ? '' : '&watch=1'));
    const on = (type, fn) => v.source.addEventListener(type, (ev) => {
      v.seen = true;
      if (view === v) fn(v, ev);
    });
    // The browser reconnects a dropped stream by itself, and the run
    // replays from its start: the view starts over rather than twice.
    v.source.addEventListener('open', () => {
      if (!v.seen || view !== v) return;
      $('log').replaceChildren();
      v.bubbles.clear();
      v.ended.clear();
      v.stepHeard = true;
    });
    // A reply's error is `reply_error`: `error` is EventSource's own.
    for (const type of ['chunk', 'end', 'reply_error', 'awaiting_input']) {
      on(type, (v2, ev) =>
        onFrame(v2, type === 'reply_error' ? 'error' : type, ev));
    }
    on('message', onMessage);
    on('step', onStep);
    on('done', onDone);
    view = v;
    return v;
  }

  // This tab's own run, going.
  function ownRunGoing() {
    return view !== null && view.own && !view.over;
  }

  function unwatch() {
    if (!view || view.own) return;
    view.source.close();
    view = null;
    $('unwatch').hidden = true;
    $('log').dataset.mode = '';
    say('Stopped watching.');
    refreshRuns().catch((e) => say(e.message));
  }

  function runRow(r) {
    const li = document.createElement('li');
    li.dataset.run = r.run;
    li.dataset.state = r.state;
    li.dataset.session = r.session;
    li.dataset.scenario = r.scenario;
    li.dataset.role = r.role || '';
    const own = view !== null && view.own && view.id === r.run;
    li.dataset.own = String(own);
    const part = (cls, text) => {
      const s = document.createElement('span');
      s.className = cls;
      s.textContent = text;
      li.append(s, ' ');
    };
    part('run-id', r.run);
    part('run-scenario', r.scenario);
    part('run-role', r.role ? 'as ' + r.role : '(watch)');
    part('run-session', r.session);
    part('run-state', r.state + (own ? ' (this tab)' : ''));
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'run-watch';
    b.dataset.run = r.run;
    b.textContent = 'watch';
    b.disabled = own || ownRunGoing() ||
      (view !== null && !view.own && view.id === r.run);
    b.addEventListener('click', () => watch(r.run));
    li.append(b);
    return li;
  }

  async function refreshRuns() {
    if (runsBusy) return;
    runsBusy = true;
    try {
      const j = await api('/api/runs');
      $('runs').replaceChildren(...j.runs.map(runRow));
      $('runs-none').hidden = j.runs.length > 0;
    } finally {
      runsBusy = false;
    }
  }

  function watch(id) {
    if (ownRunGoing()) return;
    follow(id, null, false);
    say('Watching run ' + id + ' (read-only).');
    refreshRuns().catch((e) => say(e.message));
  }

  async function start(e) {
    e.preventDefault();
    if (ownRunGoing()) return;
    const role = $('role').value;
    const body = role ? {scenario: $('scenario').value, role: role}
                      : {scenario: $('scenario').value, watch: true};
    try {
      const r = await api('/api/runs', body);
      follow(r.run, role, true);
      say('Session ' + r.session);
    } catch (err) {
      say(err.message);
    }
    refreshRuns().catch((err) => say(err.message));
  }

  async function send(e) {
    e.preventDefault();
    if (!ownRunGoing()) return;
    const words = $('words').value;
    $('words').value = '';
    $('say').hidden = true;
    try {
      await api('/api/runs/' + encodeURIComponent(view.id) + '/input',
        {words: words});
    } catch (err) {
      say(err.message);
      $('words').value = words; // refused: the box comes back with them
      $('say').hidden = false;
    }
  }

  // The person leaves their own run; its `done` ends the view.
  async function leave() {
    if (!ownRunGoing()) return;
    $('leave').disabled = true;
    $('say').hidden = true;
    try {
      await api('/api/runs/' + encodeURIComponent(view.id) + '/stop', {});
    } catch (err) {
      say(err.message);
    }
  }

  // Every few seconds while the tab is shown (and the window visible).
  function runsTick() {
    if (!$('chat').hidden && !document.hidden) {
      refreshRuns().catch((e) => say(e.message));
    }
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
      $('unwatch').addEventListener('click', unwatch);
      setInterval(runsTick, runsEvery);
      await refreshRuns();
    },
    show: refreshRuns,
  };
}
