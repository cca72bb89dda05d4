// agora studio in Chromium: several tabs. Each tab is a page in a browser
// context of its own, on one studio, playing tests/browser/scenarios/
// tour.json (a guide who speaks to all and then whispers to the spy, the
// spy's answer to the guide only, then "you" and an echo bot and a
// narrator in turn until "you" leaves). Cases: two tabs run two sessions
// at once and each sees only its own; a second tab watches the first's
// run from the Chat tab's run list and sees the same replies stream, in
// the same order, with no way to answer, and "stop watching" closes only
// its own stream; closing a tab whose run waits for input stops that run
// (done within a deadline, nothing left in flight in Redis) even while
// another tab watches it, and another tab's run goes on; a whisper to
// another role never reaches the person's page (checked at every DOM
// mutation), while a watcher sees it marked.
import assert from 'node:assert/strict';
import path from 'node:path';
import { run, src, until, WAIT_MS } from './lib.mjs';
import { watchLog, readStates } from './watch.mjs';

const scenarios = path.join(src, 'tests/browser/scenarios');
const TASK = 'The tour of the base begins.';
const GUIDE1 = 'Welcome to the base, everyone: the tour starts at the north gate.';
const NARR1 = 'The lights dim as the rover rolls out of the hangar.';
const NARR2 = 'Dust drifts slowly past the greenhouse windows.';
// The whispers: a task to the spy, the guide's line to the spy, the spy's
// answer to the guide.
const WHISPERS = {
	task: 'For the spy only: meet at the vault at noon.',
	guide: 'Psst, spy: the vault code is seven four one one, tell nobody.',
	spy: 'Understood, your vault secret is safe with me.',
};
// What must never be in the person's page: a word of every whisper.
const SECRETS = ['vault', 'seven four', 'safe with me'];

async function studio(ctx) {
	const redis = await ctx.redis();
	return ctx.studio(['--redis', redis, '--scenarios', scenarios]);
}

async function runs(url) {
	// The studio's access token, from the URL's #token= it printed.
	const token = new URLSearchParams(new URL(url).hash.slice(1)).get('token');
	const r = await fetch(new URL('/api/runs', url),
		{ headers: { 'X-Agora-Token': token } });
	assert.equal(r.status, 200);
	return (await r.json()).runs;
}

// The page's bubbles that are shown, as "who: text" (a .whisper mark and
// its "to ..." label apart).
function shown(page) {
	return page.$$eval('#log .bubble', (bs) => bs.filter((b) => !b.hidden)
		.map((b) => ({
			line: b.querySelector('.who').textContent + ': ' +
				b.querySelector('.text').textContent,
			whisper: b.classList.contains('whisper'),
			to: b.querySelector('.to') ? b.querySelector('.to').textContent : '',
		})));
}
async function lines(page) {
	return (await shown(page)).map((b) => b.line);
}

// Play the tour as "you" in page; {run, session} once the stream is on.
async function play(page) {
	await page.locator('#scenario option[value="tour.json"]')
		.waitFor({ state: 'attached' });
	await page.selectOption('#scenario', 'tour.json');
	await page.selectOption('#role', 'you');
	await page.click('#start button[type=submit]');
	const session = await until('the session id', async () =>
		(/^Session (\S+)$/.exec(await page.textContent('#state')) || [])[1]);
	const id = await until('the run shown', () =>
		page.getAttribute('#log', 'data-run'));
	assert.equal(await page.getAttribute('#log', 'data-mode'), 'play');
	return { run: id, session };
}

async function awaitingInput(page) {
	await page.locator('#say').waitFor({ state: 'visible' });
	assert.equal(await page.textContent('#asked'), 'you:');
}

async function answer(page, words) {
	await awaitingInput(page);
	await page.fill('#words', words);
	await page.press('#words', 'Enter');
	await page.locator('#say').waitFor({ state: 'hidden' });
}

// Wait until page shows the reply to words: the echo, then the narrator's
// whole line.
async function replied(page, words, narr) {
	await until(`the echo of "${words}" and the narrator`, async () => {
		const l = await lines(page);
		const i = l.indexOf('bot: You said: ' + words);
		return i >= 0 && l[i + 1] === 'narrator: ' + narr;
	});
}

// Watch run id from page's run list.
async function watch(page, id) {
	const li = page.locator(`#runs li[data-run="${id}"]`);
	await li.waitFor();
	await li.locator('button.run-watch').click();
	await until('the watch view', async () =>
		(await page.getAttribute('#log', 'data-run')) === id &&
		(await page.getAttribute('#log', 'data-mode')) === 'watch');
}

// The Redis keys of session's in-flight lists and their lengths: all 0
// (or gone) once nothing is in flight.
async function inFlight(ctx, session) {
	const keys = await ctx.rcli('--scan', '--pattern',
		`agora:{${session}}:inflight:*`);
	const held = [];
	for (const k of keys) {
		const n = Number((await ctx.rcli('LLEN', k))[0]);
		if (n !== 0) held.push(`${k}: ${n}`);
	}
	return held;
}

async function twoTabsTwoSessions(ctx) {
	const url = await studio(ctx);
	const a = await ctx.page(url);
	const b = await ctx.page(url);
	const [ra, rb] = await Promise.all([play(a), play(b)]);
	assert.notEqual(ra.run, rb.run);
	assert.notEqual(ra.session, rb.session);
	await Promise.all([awaitingInput(a), awaitingInput(b)]);

	// The studio lists both, each tab marks its own and cannot watch
	// while its run goes on.
	const listed = await runs(url);
	for (const r of [ra, rb]) {
		const x = listed.find((y) => y.run === r.run);
		assert.ok(x, `run ${r.run} listed: ${JSON.stringify(listed)}`);
		assert.equal(x.session, r.session);
		assert.equal(x.role, 'you');
		assert.equal(x.scenario, 'tour.json');
		assert.equal(x.state, 'awaiting');
	}
	for (const [p, own, other] of [[a, ra, rb], [b, rb, ra]]) {
		await p.click('#tab-sessions');
		await p.click('#tab-chat'); // shown again: the list is read again
		const mine = p.locator(`#runs li[data-run="${own.run}"]`);
		const theirs = p.locator(`#runs li[data-run="${other.run}"]`);
		await theirs.waitFor();
		assert.equal(await mine.getAttribute('data-own'), 'true');
		assert.equal(await theirs.getAttribute('data-own'), 'false');
		assert.equal(await theirs.getAttribute('data-session'), other.session);
		assert.ok(await theirs.locator('button.run-watch').isDisabled(),
			'no watching while the tab\'s own run goes on');
	}

	const wa = 'alpha words from the first tab';
	const wb = 'bravo words from the second tab';
	await Promise.all([answer(a, wa), answer(b, wb)]);
	await Promise.all([replied(a, wa, NARR1), replied(b, wb, NARR1)]);
	for (const [p, mine, theirs] of [[a, wa, wb], [b, wb, wa]]) {
		const l = await lines(p);
		assert.deepEqual(l, [`user_requirement: ${TASK}`, `guide: ${GUIDE1}`,
			`you: ${mine}`, `bot: You said: ${mine}`, `narrator: ${NARR1}`]);
		assert.ok(!(await p.textContent('#log')).includes(theirs));
	}
	// In Redis too, each session holds its own tab's words only.
	for (const [r, mine, theirs] of [[ra, wa, wb], [rb, wb, wa]]) {
		const bodies = (await ctx.rcli('HVALS', `agora:{${r.session}}:msg`))
			.join('\n');
		assert.ok(bodies.includes(mine) && !bodies.includes(theirs));
	}
	await ctx.shot(a, 'tabs-first');
	await ctx.shot(b, 'tabs-second');
	assert.deepEqual([...a.events.errors, ...b.events.errors], []);
}

async function secondTabWatches(ctx) {
	const url = await studio(ctx);
	const a = await ctx.page(url);
	const w = await ctx.page(url);
	const ra = await play(a);
	await awaitingInput(a);
	await watchLog(a);
	await watchLog(w);
	// Whether the watcher's input box ever shows.
	await w.evaluate(() => {
		window.__sayShown = false;
		const say = document.getElementById('say');
		new MutationObserver(() => {
			if (!say.hidden) window.__sayShown = true;
		}).observe(say, { attributes: true });
	});
	await watch(w, ra.run);

	// The replay: the same replies as the person's, the whispers too
	// (marked), and no input box although the run waits for input.
	const before = await lines(a);
	await until('the replay up to the person\'s turn', async () => {
		const x = await shown(w);
		return x.filter((y) => y.whisper).length === 3 &&
			x.filter((y) => !y.whisper).length === before.length;
	});
	assert.deepEqual((await shown(w)).filter((x) => !x.whisper)
		.map((x) => x.line), before);
	assert.ok(await w.isHidden('#say'), 'a watcher has no input box');
	assert.ok(await w.isDisabled('#leave'), 'a watcher cannot leave the run');
	assert.ok(await w.isVisible('#unwatch'));
	assert.match(await w.textContent('#state'), /Watching run/);

	// Live: the person answers, both tabs see the replies stream.
	const words = 'Is the rover ready?';
	await answer(a, words);
	await Promise.all([replied(a, words, NARR1), replied(w, words, NARR1)]);
	await awaitingInput(a);
	const la = await lines(a);
	assert.deepEqual((await shown(w)).filter((x) => !x.whisper)
		.map((x) => x.line), la, 'the same replies in the same order');
	// The narrator's line grew word by word in both, each state extending
	// the last (chunks in order, none lost or repeated).
	for (const p of [a, w]) {
		const l = await lines(p);
		const states = await readStates(p);
		const i = l.indexOf('narrator: ' + NARR1);
		const seen = states.filter((s) => s.i === i && s.who === 'narrator')
			.map((s) => s.text).filter((t) => t !== '');
		assert.ok(seen.length >= 3, `streamed in ${seen.length} states`);
		for (let k = 1; k < seen.length; k++) {
			assert.ok(seen[k].startsWith(seen[k - 1]), JSON.stringify(seen));
		}
		assert.equal(seen[seen.length - 1], NARR1);
	}
	// Never an input box in the watcher, though the run asked twice.
	assert.equal(await w.evaluate(() => window.__sayShown), false);
	assert.ok(await w.isHidden('#say'));
	await ctx.shot(w, 'tabs-watcher');

	// Stop watching: the run goes on for its person, the watcher's log no
	// longer follows it.
	await w.click('#unwatch');
	await w.locator('#unwatch').waitFor({ state: 'hidden' });
	const again = 'Then let us go.';
	await answer(a, again);
	await replied(a, again, NARR2);
	assert.ok(!(await w.textContent('#log')).includes(again),
		'a tab that stopped watching gets no more replies');
	const r = (await runs(url)).find((x) => x.run === ra.run);
	assert.notEqual(r.state, 'done');
	assert.notEqual(r.state, 'failed');
	assert.deepEqual([...a.events.errors, ...w.events.errors], []);
}

async function closingTabStopsItsRun(ctx) {
	const url = await studio(ctx);
	const a = await ctx.page(url);
	const b = await ctx.page(url);
	const w = await ctx.page(url);
	const [ra, rb] = await Promise.all([play(a), play(b)]);
	await Promise.all([awaitingInput(a), awaitingInput(b)]);
	// A third tab watches the first's run: a watcher keeps nobody's run
	// going.
	await watch(w, ra.run);
	await until('the watcher\'s replay', async () =>
		(await lines(w)).includes('guide: ' + GUIDE1));

	await a.close();
	await until('the closed tab\'s run to be done', async () => {
		const x = (await runs(url)).find((y) => y.run === ra.run);
		return x && x.state === 'done';
	}, WAIT_MS);
	assert.deepEqual(await inFlight(ctx, ra.session), [],
		'nothing of the closed tab\'s session in flight');
	// The watcher saw it end; the other tab's list shows it done (its
	// regular refresh), and its own run goes on.
	await until('the watcher to see the end', async () =>
		/The chat is over/.test(await w.textContent('#state')));
	await b.locator(`#runs li[data-run="${ra.run}"][data-state="done"]`)
		.waitFor();
	assert.equal((await runs(url)).find((y) => y.run === rb.run).state,
		'awaiting');
	const words = 'Still here.';
	await answer(b, words);
	await replied(b, words, NARR1);
	await awaitingInput(b);
	assert.deepEqual(await inFlight(ctx, rb.session), []);
	assert.deepEqual([...b.events.errors, ...w.events.errors], []);
}

// In page: every DOM change is checked for the secrets (the nodes added,
// the text changed, and the whole page after), before the run starts.
async function guard(page) {
	await page.evaluate((secrets) => {
		window.__leaks = [];
		const look = (where, text) => {
			for (const s of secrets) {
				if (text && text.includes(s)) window.__leaks.push(`${where}: ${s}`);
			}
		};
		new MutationObserver((records) => {
			for (const r of records) {
				for (const n of r.addedNodes) look('added', n.textContent);
				if (r.type === 'characterData') look('text', r.target.data);
				if (r.type === 'attributes') {
					look('attribute', r.target.getAttribute(r.attributeName));
				}
			}
			look('page', document.documentElement.textContent);
		}).observe(document.documentElement, { childList: true, subtree: true,
			characterData: true, attributes: true });
	}, SECRETS);
}

async function whispersOnlyForWatchers(ctx) {
	const url = await studio(ctx);
	const p = await ctx.page(url);
	await guard(p);
	const r = await play(p);
	await awaitingInput(p);
	// The run asks after the whisper steps: their messages have come.
	await until('the guide\'s line', async () =>
		(await lines(p)).includes('guide: ' + GUIDE1));
	assert.deepEqual(await lines(p), [`user_requirement: ${TASK}`,
		`guide: ${GUIDE1}`]);
	assert.equal(await p.locator('#log .bubble').count(), 2,
		'no held bubble left behind');

	// A watcher sees the three whispers, marked, in the script's order.
	const w = await ctx.page(url);
	await watch(w, r.run);
	await until('the whispers in the watcher', async () =>
		(await shown(w)).filter((x) => x.whisper).length === 3);
	const seen = await shown(w);
	assert.deepEqual(seen.map((x) => x.line), [`user_requirement: ${TASK}`,
		`user_requirement: ${WHISPERS.task}`, `guide: ${GUIDE1}`,
		`guide: ${WHISPERS.guide}`, `spy: ${WHISPERS.spy}`]);
	assert.deepEqual(seen.map((x) => x.whisper),
		[false, true, false, true, true]);
	assert.deepEqual(seen.filter((x) => x.whisper).map((x) => x.to),
		['to spy', 'to spy', 'to guide']);
	await ctx.shot(w, 'tabs-whispers-watcher');

	// The person goes on and leaves; the whispers never showed.
	const words = 'What was that whisper?';
	await answer(p, words);
	await replied(p, words, NARR1);
	await awaitingInput(p);
	await p.click('#leave');
	await until('the end', async () =>
		/The chat is over/.test(await p.textContent('#state')));
	await ctx.shot(p, 'tabs-whispers-person');
	assert.deepEqual(await p.evaluate(() => window.__leaks), [],
		'a whisper reached the person\'s page');
	assert.deepEqual(await inFlight(ctx, r.session), []);
	assert.deepEqual([...p.events.errors, ...w.events.errors], []);
}

await run([
	['two tabs run two sessions at once', twoTabsTwoSessions],
	['a second tab watches a run, read-only', secondTabWatches],
	['closing a tab stops its run and nothing else', closingTabStopsItsRun],
	['whispers to others never reach the person, a watcher sees them',
		whispersOnlyForWatchers],
]);
