// agora studio in Chromium: hostile text never runs. A scenario
// (tests/browser/scenarios/xss.json) whose name, description and role
// names carry markup, a scripted agent whose line is <script>, <img
// onerror>, <a href="javascript:">, <svg onload>, an echo agent that
// repeats the person's markup behind a hostile prefix: nothing executes
// (a window flag the payloads would set stays unset, no dialog, no CSP
// violation, no script error), no element but the page's own bubbles is
// made, and every text shows literally. And a studio on a non-loopback
// address without --token-file refuses to start.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run, src, until, chatLog, sessionRows, openSession, agora }
	from './lib.mjs';

const scen = JSON.parse((await import('node:fs')).readFileSync(
	path.join(src, 'tests/browser/scenarios/xss.json'), 'utf8'));
const [mal, echo, you] = scen.agents.map((a) => a.role);
const line = scen.agents[0].lines[0];
const typed = '<img src=x onerror="window.__xss=\'typed\'">' +
	'<script>window.__xss=\'typed2\'</script>&amp; "quoted"';

// Nothing ran, nothing was made: checked on the whole page.
async function nothingRan(page) {
	const r = await page.evaluate(() => ({
		flag: window.__xss,
		csp: window.__csp,
		// Every element under the chat log and the session rows is a
		// bubble's or a row's div or one of their spans; the message shown
		// in full is two divs; the option labels and #about hold text only.
		foreign: [...document.querySelectorAll(
			'#log *, #session-rows *, #session-detail *, #about *, #asked *, ' +
			'#scenario *, #role *')]
			.filter((e) => !(e.tagName === 'DIV' &&
				['bubble', 'msg', 'who', 'text'].some((c) =>
					e.classList.contains(c))) &&
				e.tagName !== 'SPAN' && e.tagName !== 'OPTION')
			.map((e) => e.outerHTML),
		spans: [...document.querySelectorAll(
			'#log span *, #session-rows span *')].length,
		// Only the page's own script files, none inline or from elsewhere.
		scripts: [...document.scripts].filter((s) => !s.src ||
			new URL(s.src).origin !== location.origin).map((s) => s.outerHTML),
	}));
	assert.equal(r.flag, undefined, 'a payload ran: window.__xss = ' + r.flag);
	assert.deepEqual(r.csp, [], 'a CSP violation (something tried to run)');
	assert.deepEqual(r.foreign, [], 'elements made from data');
	assert.equal(r.spans, 0, 'elements inside a bubble\'s text');
	assert.deepEqual(r.scripts, [], 'a script that is not the page\'s own');
	assert.deepEqual(page.events.dialogs, [], 'a dialog opened');
	assert.deepEqual(page.events.errors, [], 'a script error in the page');
}

async function hostileTextStaysText(ctx) {
	const redis = await ctx.redis();
	const url = await ctx.studio(['--redis', redis, '--scenarios',
		path.join(src, 'tests/browser/scenarios')]);
	const page = await ctx.page(url);
	await page.locator('#scenario option[value="xss.json"]')
		.waitFor({ state: 'attached' });
	await page.selectOption('#scenario', 'xss.json');
	assert.equal(await page.textContent('#scenario option[value="xss.json"]'),
		scen.name);
	assert.equal(await page.textContent('#about'), scen.description);
	await page.selectOption('#role', you);
	await page.click('#start button[type=submit]');
	await page.locator('#say').waitFor({ state: 'visible' });
	assert.equal(await page.textContent('#asked'), you + ':');
	await page.fill('#words', typed);
	await page.press('#words', 'Enter');
	await until('the echo of the person\'s words', async () =>
		/The chat is over/.test(await page.textContent('#state')));
	const log = await chatLog(page);
	assert.deepEqual(log.map((b) => [b.who, b.text]), [
		[mal, line],
		[you, typed],
		[echo, scen.agents[1].prefix + typed],
	]);
	await nothingRan(page);
	await ctx.shot(page, 'xss-chat');

	// The same messages from the history, in the Sessions tab.
	await page.click('#tab-sessions');
	await openSession(page, await page.locator('#session-list li')
		.first().getAttribute('data-session'));
	await until('the history', async () =>
		(await sessionRows(page)).length === 3);
	const hist = await sessionRows(page);
	assert.deepEqual(hist.map((m) => m.text),
		[line, typed, scen.agents[1].prefix + typed]);
	assert.equal(hist[0].from, mal);
	// A message shown in full, too.
	await page.locator('#session-rows .msg').first().click();
	await until('the message in full', async () =>
		(await page.textContent('#session-detail')).includes(line));

	await nothingRan(page);
	await ctx.shot(page, 'xss-sessions');
}

// The addresses that are not loopback: 0.0.0.0, and the machine's own.
function publicHosts() {
	const hosts = ['0.0.0.0'];
	for (const list of Object.values(os.networkInterfaces())) {
		for (const a of list || []) {
			if (!a.internal && a.family === 'IPv4') hosts.push(a.address);
		}
	}
	return hosts;
}

async function nonLoopbackNeedsAToken(ctx) {
	const redis = await ctx.redis();
	for (const host of publicHosts()) {
		const r = await agora('studio', '--host', host, '--port', '0',
			'--redis', redis);
		console.log(`# agora studio --host ${host}: exit ${r.code}: ` +
			r.err.trim());
		assert.equal(r.code, 2, `--host ${host} without a token exits 2`);
		assert.match(r.err, /--token-file/, 'the message names --token-file');
		assert.doesNotMatch(r.out, /studio at/, 'it never served');
	}
}

// The page without its token (a URL without #token=..., as another local
// user would open it) shows no data and asks for the token; with it, the
// page works, and the token left the address bar.
async function theTokenIsNeeded(ctx) {
	const redis = await ctx.redis();
	const url = await ctx.studio(['--redis', redis]);
	const bare = url.replace(/#.*$/, '');
	assert.notEqual(bare, url, 'the URL printed carries its token');
	const page = await ctx.page(bare);
	await page.locator('#login').waitFor({ state: 'visible' });
	assert.equal(await page.locator('#scenario option').count(), 0,
		'no scenario listed without the token');
	assert.ok(await page.locator('#chat').isHidden());
	await page.fill('#login-token', 'not-the-token');
	await page.press('#login-token', 'Enter');
	await page.locator('#login').waitFor({ state: 'visible' });
	await page.goto(url);
	await page.locator('#scenario option').first()
		.waitFor({ state: 'attached' });
	assert.ok(await page.locator('#login').isHidden());
	assert.equal(new URL(page.url()).hash, '', 'the token left the URL');
	// A reload, and a second tab of the same browser, keep working.
	const second = await ctx.context.newPage();
	await second.goto(bare);
	await second.locator('#scenario option').first()
		.waitFor({ state: 'attached' });
	await second.close();
}

// With --token-file the URL printed has no token: the page asks for the
// file's token, trades it for the studio's own (POST /api/login) and keeps
// only that one (the file's also opens the agent servers).
async function theTokenFileLogsIn(ctx) {
	const redis = await ctx.redis();
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agora-tok-'));
	const file = path.join(dir, 'token');
	const secret = 'file-token-0123456789abcdef';
	fs.writeFileSync(file, secret + '\n', { mode: 0o600 });
	try {
		const url = await ctx.studio(['--redis', redis, '--token-file', file]);
		assert.ok(!url.includes('#'), 'no token printed: ' + url);
		const page = await ctx.page(url);
		await page.locator('#login').waitFor({ state: 'visible' });
		await page.fill('#login-token', 'wrong-token-0123456789');
		await page.press('#login-token', 'Enter');
		await until('the refusal said', async () =>
			/wrong token/.test(await page.textContent('#login-error')));
		await page.fill('#login-token', secret);
		await page.press('#login-token', 'Enter');
		await page.locator('#scenario option').first()
			.waitFor({ state: 'attached' });
		const kept = await page.evaluate(() =>
			Object.keys(localStorage).map((k) => localStorage.getItem(k)));
		assert.equal(kept.length, 1);
		assert.notEqual(kept[0], secret, 'the file\'s token was kept');
		assert.ok(!kept[0].includes(secret));
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
}

await run([
	['hostile markup in names and replies shows as text, never runs',
		hostileTextStaysText],
	['without its token the page shows nothing and asks for it',
		theTokenIsNeeded],
	['with --token-file the page logs in and keeps only the studio\'s token',
		theTokenFileLogsIn],
	['a non-loopback address without --token-file refuses to start',
		nonLoopbackNeedsAToken],
]);
