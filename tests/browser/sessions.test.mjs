// agora studio in Chromium: sessions that `agora run` drives in another
// process, on the same Redis. Once the run is over, the Sessions tab
// lists the session (after Refresh) and shows its history in order. Live
// following (GET /api/sessions/events): with the Sessions tab open first,
// a session started afterwards appears in the list by itself, and its
// messages appear while the run stores them.
import assert from 'node:assert/strict';
import path from 'node:path';
import { run, src, until, sessionRows, openSession, agora, agoraBin }
	from './lib.mjs';

const talk = path.join(src, 'tests/browser/run/talk.json');
// The scripted lines in the order they are stored, for n rounds.
function expected(rounds) {
	const ann = ['one two three four', 'five six seven eight'];
	const ben = ['alpha beta gamma delta', 'epsilon zeta eta theta'];
	const out = ['Take turns.'];
	for (let i = 0; i < rounds; i++) out.push(ann[i % 2], ben[i % 2]);
	return out;
}

async function finishedRunIsBrowsable(ctx) {
	const redis = await ctx.redis();
	const url = await ctx.studio(['--redis', redis]);
	// A slow start (its first API answer 2 s late): the Sessions tab,
	// clicked at once, still shows its sessions once the page is up.
	const page = await ctx.page(null);
	let slowed = false;
	await page.route('**/api/runs', async (route) => {
		if (!slowed) {
			slowed = true;
			await new Promise((res) => setTimeout(res, 2000));
		}
		await route.continue();
	});
	await page.goto(url);
	await page.click('#tab-sessions');
	const r = await agora('run', talk, '--redis', redis, '--session', 'talk1',
		'--max-loops', '3');
	assert.equal(r.code, 0, r.err);
	await page.click('#refresh');
	await openSession(page, 'talk1');
	await until('the history of talk1', async () =>
		(await sessionRows(page)).length === 7);
	const log = await sessionRows(page);
	assert.deepEqual(log.map((m) => m.text), expected(3));
	assert.equal(log[1].from, 'ann');
	assert.equal(log[2].from, 'ben');
	await ctx.shot(page, 'sessions-agora-run');
}

async function liveSessionFollowed(ctx) {
	const redis = await ctx.redis();
	const url = await ctx.studio(['--redis', redis]);
	const page = await ctx.page(url);
	await page.click('#tab-sessions');
	await page.locator('#session-follow[data-state="live"]').waitFor(
		{ state: 'attached' });
	// The page is open before the session exists; nothing is clicked
	// from here on but the session itself.
	const p = ctx.spawn(agoraBin, ['run', talk, '--redis', redis,
		'--session', 'live1', '--max-loops', '12']);
	await openSession(page, 'live1');
	// Messages arrive while the run goes on: the count of messages the
	// view holds grows in several steps before the run ends, and ends with
	// all of them, in order.
	const count = async () => Number(await page.getAttribute('#session-view',
		'data-count'));
	const counts = new Set();
	await until('the run to end', async () => {
		counts.add(await count());
		return p.exitCode !== null;
	}, 60000);
	assert.equal(p.exitCode, 0, p.err);
	await until('all 25 messages', async () => (await count()) === 25);
	assert.ok(counts.size >= 3, 'the view grew while the run went on: ' +
		[...counts].join(','));
	assert.equal(await page.getAttribute('#session-follow', 'data-state'),
		'live');
	const log = await sessionRows(page);
	assert.deepEqual(log.map((m) => m.text), expected(12));
	await ctx.shot(page, 'sessions-live');
}

await run([
	['a session of agora run, browsed once it is over', finishedRunIsBrowsable],
	['a session of agora run, followed live', liveSessionFollowed],
]);
