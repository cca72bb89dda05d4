// agora studio in Chromium: the Server Manager (docs/studio.md). An
// `agora server` started by the test, on the test's Redis (so it beats in
// the server registry), with two agents made by `agora ctl create`: the
// Servers tab lists it with its agents; deleting one from the page
// removes it on the server (`agora ctl list` no longer has it, the other
// is kept) and from the page.
//
// It uses the hooks listed at the top of studio/page/servers.js: a server
// is tr.srv-row[data-url], its agents li.agent-row[data-role] with
// button.agent-delete.
import assert from 'node:assert/strict';
import { run, until, agora, agoraBin, freePort } from './lib.mjs';

async function serverManagerDeletesAnAgent(ctx) {
	const redis = await ctx.redis();
	const url = await ctx.studio(['--redis', redis]);
	const port = await freePort();
	const addr = `tcp://127.0.0.1:${port}`;
	ctx.spawn(agoraBin, ['server', '--port', String(port), '--redis', redis]);
	await until('the agent server to answer', async () =>
		(await agora('ctl', addr, 'is-alive', '--timeout-ms', '200')).code === 0);
	for (const role of ['keep1', 'gone1']) {
		const r = await agora('ctl', addr, 'create', role, 'echo',
			'--session', 'srv1', '--redis', redis);
		assert.equal(r.code, 0, r.err);
	}
	// The server registry has it (it beats at once, then every second).
	await until('the server in the registry', async () =>
		(await ctx.rcli('HKEYS', 'agora:servers')).includes(addr));

	const page = await ctx.page(url);
	page.acceptDialogs = true;
	await page.click('#tab-servers');
	const row = page.locator(`tr.srv-row[data-url="${addr}"]`);
	await row.waitFor();
	assert.equal(await row.getAttribute('data-live'), 'true');
	await until('its two agents counted', async () =>
		(await row.locator('.srv-agents').textContent()).trim() === '2');
	await row.locator('button.srv-show-agents').click();
	const agent = (role) =>
		page.locator(`#server-agents li.agent-row[data-role="${role}"]`);
	await agent('gone1').waitFor();
	await agent('keep1').waitFor();
	assert.equal(await agent('keep1').getAttribute('data-status'), 'idle');
	await ctx.shot(page, 'servers-manager');

	await agent('gone1').locator('button.agent-delete').click();
	await until('gone1 deleted on the server', async () => {
		const l = await agora('ctl', addr, 'list');
		return l.code === 0 && !/gone1/.test(l.out) && /keep1/.test(l.out);
	});
	await until('gone1 gone from the page', async () =>
		(await agent('gone1').count()) === 0);
	assert.equal(await agent('keep1').count(), 1);
	await ctx.shot(page, 'servers-deleted');
	assert.deepEqual(page.events.errors, [], 'no script errors in the page');
}

await run([
	['the Server Manager lists a server and deletes one of its agents',
		serverManagerDeletesAnAgent],
]);
