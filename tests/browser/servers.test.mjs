// agora studio in Chromium: the Server Manager (docs/studio.md). An
// `agora server` started by the test, on the test's Redis (so it beats in
// the server registry), with two agents made by `agora ctl create`: the
// Servers tab lists it with its agents; deleting one from the page
// removes it on the server (`agora ctl list` no longer has it, the other
// is kept) and from the page. Skips, saying why, while GET /api/servers
// answers 404.
//
// The page's markup is not settled yet: the test finds the server by its
// URL's text inside #server-list, an agent by its role's text, and the
// delete control as a button named /delete/i in the agent's row (a
// confirm() dialog, if any, is accepted).
import assert from 'node:assert/strict';
import { run, until, agora, agoraBin, freePort, apiExists } from './lib.mjs';

async function serverManagerDeletesAnAgent(ctx) {
	const redis = await ctx.redis();
	const url = await ctx.studio(['--redis', redis]);
	if (!(await apiExists(url, '/api/servers'))) {
		ctx.skip('GET /api/servers answers 404 (the Server Manager is not ' +
			'built yet)');
	}
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
	const server = page.locator('#server-list', { hasText: addr });
	await server.waitFor();
	// Its agents: shown, or shown once the server is opened.
	const agent = (role) => page.locator('#server-list :is(li, tr, div)',
		{ hasText: role }).filter({ has: page.getByRole('button',
		{ name: /delete/i }) }).last();
	if (!(await agent('gone1').isVisible())) {
		await page.locator('#server-list').getByText(addr).first().click();
	}
	await agent('gone1').waitFor();
	await agent('keep1').waitFor();
	await ctx.shot(page, 'servers-manager');

	await agent('gone1').getByRole('button', { name: /delete/i }).click();
	await until('gone1 deleted on the server', async () => {
		const l = await agora('ctl', addr, 'list');
		return l.code === 0 && !/gone1/.test(l.out) && /keep1/.test(l.out);
	});
	await until('gone1 gone from the page', async () =>
		!(await page.locator('#server-list').textContent()).includes('gone1'));
	assert.ok((await page.locator('#server-list').textContent())
		.includes('keep1'));
	await ctx.shot(page, 'servers-deleted');
	assert.deepEqual(page.events.errors, [], 'no script errors in the page');
}

await run([
	['the Server Manager lists a server and deletes one of its agents',
		serverManagerDeletesAnAgent],
]);
