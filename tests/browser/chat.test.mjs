// agora studio in Chromium: the chat room. The demos' chatroom scenario
// (a scripted host picks speakers; scripted alice, bob, carol; "you" is
// the person) played as "you": the replies stream into bubbles chunk by
// chunk, with role names, in the script's order; the input box opens for
// "you"; the words typed reach the next speakers' memories in Redis and
// the next replies follow. Then the Sessions tab shows that session's
// history. Screenshots of each tab go to build/test-artefacts/studio/.
import assert from 'node:assert/strict';
import path from 'node:path';
import { run, src, until, chatLog, sessionRows, openSession, WAIT_MS }
	from './lib.mjs';
import { watchLog, readStates } from './watch.mjs';

const lines = {
	host1: '{"next_speakers": ["alice", "bob"]}',
	host2: '{"next_speakers": ["carol", "you"]}',
	host3: '{"next_speakers": ["bob", "alice"]}',
	alice1: 'The oxygen scrubbers are fixed, finally.',
	bob1: 'Good news. Who wants to see the crater rim with me?',
	carol1: 'Only after everyone has had their check-up. What do you think?',
	bob2: 'Thanks, Alice. I will bring it back in one piece.',
	alice2: 'Bob, the rover is yours tomorrow.',
};
const words = 'Count me in, bring the spare suit & <the camera>.';
// The task the script sends first: its own bubble, before any reply.
const task = 'user_requirement: Welcome to the moon-base chat room. ' +
	'Today: the crater trip.';

// The bubbles as "who: text", the task's first; done() is the replies
// after it (bubble i of done() is bubble i + 1 of the log).
async function all(page) {
	return (await chatLog(page)).map((b) => `${b.who}: ${b.text}`);
}
async function done(page) {
	const l = await all(page);
	assert.equal(l[0], task, 'the task comes first');
	return l.slice(1);
}

// Every state a bubble went through, for bubble i.
function statesOf(states, i) {
	return states.filter((s) => s.i === i).map((s) => s.text);
}

async function chatroomAsHuman(ctx) {
	const redis = await ctx.redis();
	const url = await ctx.studio(['--redis', redis, '--scenarios',
		path.join(src, 'demos/chatroom')]);
	const page = await ctx.page(url);
	await page.locator('#scenario option[value="chatroom.json"]')
		.waitFor({ state: 'attached' });
	await page.selectOption('#scenario', 'chatroom.json');
	await page.selectOption('#role', 'you');
	assert.match(await page.textContent('#about'), /chat room/);
	await watchLog(page);
	await page.click('#start button[type=submit]');
	const session = await until('the session id', async () =>
		(/^Session (\S+)$/.exec(await page.textContent('#state')) || [])[1]);
	assert.match(session, /^studio-[0-9a-f]+$/);

	// Up to the person's turn: host, then alice and bob (one step: their
	// bubbles in either order), host, carol; the input box opens when the
	// step of carol and "you" starts, while carol may still be streaming.
	await page.locator('#say').waitFor({ state: 'visible', timeout: WAIT_MS });
	assert.equal(await page.textContent('#asked'), 'you:');
	await until('carol\'s whole reply', async () =>
		(await done(page))[4] === 'carol: ' + lines.carol1);
	let log = await done(page);
	assert.equal(log.length, 5, 'five replies before the person speaks: ' +
		JSON.stringify(log));
	assert.equal(log[0], 'host: ' + lines.host1);
	assert.deepEqual(log.slice(1, 3).sort(),
		['alice: ' + lines.alice1, 'bob: ' + lines.bob1]);
	assert.equal(log[3], 'host: ' + lines.host2);
	assert.equal(log[4], 'carol: ' + lines.carol1);

	// Streamed: every scripted reply grew word by word, each state a
	// prefix of the next (chunks in order, none lost or repeated).
	const states = await readStates(page);
	for (let i = 1; i < 5; i++) {
		const seen = statesOf(states, i + 1).filter((t) => t !== '');
		const full = log[i].slice(log[i].indexOf(': ') + 2);
		assert.ok(seen.length >= 3, `bubble ${i} streamed in ${seen.length} ` +
			`states: ${JSON.stringify(seen)}`);
		for (let k = 1; k < seen.length; k++) {
			assert.ok(seen[k].startsWith(seen[k - 1]),
				`bubble ${i}: "${seen[k]}" does not extend "${seen[k - 1]}"`);
		}
		assert.equal(seen[seen.length - 1], full);
	}
	// In the script's order: the second host bubble appeared only once
	// alice and bob had finished.
	const t = (i, text) =>
		states.find((s) => s.i === i + 1 && s.text === text).t;
	assert.ok(t(3, lines.host2) >= Math.max(t(1, log[1].split(': ')[1]),
		t(2, log[2].split(': ')[1])));
	await ctx.shot(page, 'chat-awaiting-input');

	// The person answers.
	await page.fill('#words', words);
	await page.press('#words', 'Enter');
	await page.locator('#say').waitFor({ state: 'hidden' });

	// The host hears it and names bob and alice, who answer.
	await until('bob and alice to answer after the person', async () => {
		const l = await done(page);
		return l.length >= 9 && l[l.length - 1] !== '' &&
			/The chat is over/.test(await page.textContent('#state'));
	});
	log = await done(page);
	assert.equal(log[5], 'you: ' + words);
	assert.equal(log[6], 'host: ' + lines.host3);
	assert.deepEqual(log.slice(7, 9).sort(),
		['alice: ' + lines.alice2, 'bob: ' + lines.bob2]);
	assert.equal(log.length, 9);

	// In Redis: the person's words are a stored message from "you", in the
	// history and in the memories of bob and alice (what their next prompt
	// is made of).
	const k = (x) => `agora:{${session}}:${x}`;
	const find = async (list) => {
		const ids = await ctx.rcli('LRANGE', k(list), '0', '-1');
		assert.ok(ids.length > 0, `${k(list)} is empty`);
		const bodies = await ctx.rcli('HMGET', k('msg'),
			...ids.map((id) => id.replace(/^r/, '')));
		return bodies.map((b) => JSON.parse(b)).find((m) =>
			m.sent_from === 'you' && m.content === words);
	};
	assert.ok(await find('history'), 'the words are in the history');
	assert.ok(await find('mem:bob'), 'the words are in bob\'s memory');
	assert.ok(await find('mem:alice'), 'the words are in alice\'s memory');
	await ctx.shot(page, 'chat-done');

	// The Sessions tab lists the session and shows its history.
	await page.click('#tab-sessions');
	await openSession(page, session);
	await until('the session\'s messages', async () =>
		(await sessionRows(page)).some((m) => m.text === words));
	const hist = await sessionRows(page);
	assert.ok(hist.some((m) => m.from === 'you' && m.text === words));
	assert.ok(hist.some((m) => m.from === 'bob' && m.text === lines.bob2));
	// Its agents with their counts, and bob's memory holds the words.
	const agentRow = (role) =>
		page.locator(`#session-usage tr.usage-row[data-role="${role}"]`);
	for (const role of ['host', 'alice', 'bob', 'carol', 'you']) {
		await agentRow(role).waitFor();
	}
	assert.equal((await agentRow('bob').locator('.u-steps').textContent())
		.trim() !== '0', true, 'bob took steps');
	await agentRow('bob').locator('button.u-memory').click();
	await until('bob\'s memory', async () =>
		(await page.getAttribute('#session-detail', 'data-memory')) === 'bob' &&
		(await page.textContent('#session-detail')).includes('you: ' + words));
	await ctx.shot(page, 'sessions');

	await page.click('#tab-servers');
	await page.locator('#servers').waitFor({ state: 'visible' });
	await ctx.shot(page, 'servers');
	assert.deepEqual(page.events.errors, [], 'no script errors in the page');
}

await run([
	['the chatroom demo played as the human role', chatroomAsHuman],
]);
