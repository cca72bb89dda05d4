// agora studio in Chromium: sessions that `agora run` drives in another
// process, on the same Redis. Today: once the run is over, the Sessions
// tab lists the session (after Refresh) and shows its history in order.
// Live following (GET /api/sessions/events, docs/studio.md): with the
// Sessions tab open first, a session started afterwards appears in the
// list by itself, and its messages appear while the run stores them; that
// case skips, saying why, while the API answers 404.
import assert from 'node:assert/strict';
import path from 'node:path';
import { run, src, until, chatLog, agora, agoraBin, apiExists } from './lib.mjs';

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
	const page = await ctx.page(url);
	await page.click('#tab-sessions');
	const r = await agora('run', talk, '--redis', redis, '--session', 'talk1',
		'--max-loops', '3');
	assert.equal(r.code, 0, r.err);
	await page.click('#refresh');
	const btn = page.locator('#session-list button', { hasText: 'talk1' });
	await btn.waitFor();
	await btn.click();
	await until('the history of talk1', async () =>
		(await chatLog(page, '#session-log')).length === 7);
	const log = await chatLog(page, '#session-log');
	assert.deepEqual(log.map((b) => b.text), expected(3));
	assert.match(log[1].who, /^ann/);
	assert.match(log[2].who, /^ben/);
	await ctx.shot(page, 'sessions-agora-run');
}

async function liveSessionFollowed(ctx) {
	const redis = await ctx.redis();
	const url = await ctx.studio(['--redis', redis]);
	if (!(await apiExists(url, '/api/sessions/events'))) {
		ctx.skip('GET /api/sessions/events answers 404 (live following is ' +
			'not built yet)');
	}
	const page = await ctx.page(url);
	await page.click('#tab-sessions');
	// The page is open before the session exists; nothing is clicked
	// from here on but the session itself.
	const p = ctx.spawn(agoraBin, ['run', talk, '--redis', redis,
		'--session', 'live1', '--max-loops', '12']);
	const btn = page.locator('#session-list', { hasText: 'live1' })
		.locator('button', { hasText: 'live1' });
	await btn.waitFor();
	await btn.click();
	// Messages arrive while the run goes on: the log grows in several
	// steps before the run ends, and ends with all of them, in order.
	const counts = new Set();
	await until('the run to end', async () => {
		counts.add((await chatLog(page, '#session-log')).length);
		return p.exitCode !== null;
	}, 60000);
	assert.equal(p.exitCode, 0, p.err);
	await until('all 25 messages', async () =>
		(await chatLog(page, '#session-log')).length === 25);
	assert.ok(counts.size >= 3, 'the log grew while the run went on: ' +
		[...counts].join(','));
	const log = await chatLog(page, '#session-log');
	assert.deepEqual(log.map((b) => b.text), expected(12));
	await ctx.shot(page, 'sessions-live');
}

await run([
	['a session of agora run, browsed once it is over', finishedRunIsBrowsable],
	['a session of agora run, followed live', liveSessionFollowed],
]);
