// agora studio in headless Chromium: figures, never pass/fail.
//
// 1. chunk-to-DOM latency: a fake OpenAI-compatible server (here, Node
//    http) streams CHUNKS chunks, each carrying its send time
//    ("[<Date.now()>]"); a roleplay agent (--model-config pointing at it)
//    streams them through agora studio to the page, watched as a run; in
//    the page a MutationObserver notes Date.now() when each chunk's text
//    is in the bot's bubble (`#log .bubble` with `.who` "bot", its `.text`).
//    Both clocks are the machine's wall clock (same host). Median, p90,
//    max over all chunks.
// 2. a 10,000-message session (stored by `agora run` of 100 scripted
//    agents for 100 rounds), opened in the Sessions tab (a windowed list:
//    `#session-view .msg[data-id]` rows, `#session-view[data-count]` the
//    messages loaded, fetched in pages): from the click on its button in
//    `#session-list li[data-session]` to the first rows painted and to
//    data-count = 10000, the page's long tasks (PerformanceObserver
//    'longtask', from the click to the end of the scroll), the frame times
//    of a scroll through the whole list, a tab click afterwards.
// 3. the studio idle: RSS and CPU% of its process over 10 s with the page
//    open and idle (/proc/PID/status, /proc/PID/stat), fresh, right after
//    1 and 2, and again --later-s seconds after that; RSS split into
//    anonymous and file pages, and PSS and USS (/proc/PID/smaps_rollup).
//
// usage: node bench/studio_bench.mjs  (AGORA_BIN, AGORA_SRC as for the
// tests; scripts/bench-studio installs and builds first). Options:
// --chunks N (default 300), --interval-ms N (default 10), --idle-s N (10),
// --later-s N (default 40; 0: skip that figure).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { agora, src } from '../tests/browser/lib.mjs';
import * as lib from '../tests/browser/lib.mjs';

const arg = (name, def) => {
	const i = process.argv.indexOf(name);
	return i > 0 ? Number(process.argv[i + 1]) : def;
};
const CHUNKS = arg('--chunks', 300);
const INTERVAL = arg('--interval-ms', 10);
const IDLE_S = arg('--idle-s', 10);
const LATER_S = arg('--later-s', 40);

function pct(sorted, p) {
	return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function stats(xs) {
	const s = xs.slice().sort((a, b) => a - b);
	return { n: s.length, median: pct(s, 0.5), p90: pct(s, 0.9),
		max: s[s.length - 1] };
}

// The fake LLM: every request gets CHUNKS chunks, INTERVAL ms apart.
function fakeLlm() {
	const srv = http.createServer((req, res) => {
		req.resume();
		req.on('end', () => {
			res.writeHead(200, { 'Content-Type': 'text/event-stream' });
			let i = 0;
			const send = (delta, finish) => res.write('data: ' + JSON.stringify({
				id: 'b', object: 'chat.completion.chunk', model: 'fake',
				choices: [{ index: 0, delta, finish_reason: finish }] }) + '\n\n');
			const tick = () => {
				if (i++ < CHUNKS) {
					send({ content: `[${Date.now()}] ` }, null);
					setTimeout(tick, INTERVAL);
				} else {
					send({}, 'stop');
					res.end('data: [DONE]\n\n');
				}
			};
			tick();
		});
	});
	return new Promise((resolve) => srv.listen(0, '127.0.0.1',
		() => resolve(srv)));
}

// The studio's RSS (KiB) and CPU seconds.
function procUsage(pid) {
	const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
	const rss = Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
	const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
	const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
	// utime, stime are fields 14 and 15 (1-based), in clock ticks (100 Hz
	// on Linux: USER_HZ).
	return { rss, cpu: (Number(f[11]) + Number(f[12])) / 100 };
}

async function idle(ctx, label) {
	const pid = ctx.studioProc.pid;
	const a = procUsage(pid);
	const t0 = Date.now();
	let peak = a.rss;
	while (Date.now() - t0 < IDLE_S * 1000) {
		await new Promise((r) => setTimeout(r, 250));
		peak = Math.max(peak, procUsage(pid).rss);
	}
	const b = procUsage(pid);
	const secs = (Date.now() - t0) / 1000;
	// What of the RSS is the studio's own: anonymous (heap, stacks) and
	// file pages (shared libraries, shared with other processes; PSS
	// divides them among their users, USS counts only private pages).
	const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
	const ro = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
	const kib = (text, key) => Number(new RegExp(key + ':\\s+(\\d+)')
		.exec(text)[1]);
	const mib = (k) => (k / 1024).toFixed(1);
	console.log(`idle ${label}: RSS ${(b.rss / 1024).toFixed(1)} MiB ` +
		`(peak ${(peak / 1024).toFixed(1)} MiB; anon ${mib(kib(st, 'RssAnon'))}, ` +
		`file ${mib(kib(st, 'RssFile'))}; PSS ${mib(kib(ro, 'Pss'))}, USS ` +
		`${mib(kib(ro, 'Private_Clean') + kib(ro, 'Private_Dirty'))}), ` +
		`threads ${kib(st, 'Threads')}, CPU ` +
		`${((b.cpu - a.cpu) / secs * 100).toFixed(2)}% over ${secs.toFixed(1)} s`);
}

async function chunkLatency(ctx, page, dir) {
	await page.locator('#scenario option[value="stream.json"]')
		.waitFor({ state: 'attached' });
	await page.selectOption('#scenario', 'stream.json');
	await page.selectOption('#role', '');
	await page.evaluate(() => {
		const log = document.querySelector('#log');
		window.__lat = [];
		const read = new WeakMap(); // a bubble's .text -> length read
		new MutationObserver(() => {
			const now = Date.now();
			for (const b of log.querySelectorAll('.bubble')) {
				const who = b.querySelector('.who');
				const t = b.querySelector('.text');
				if (!who || !t || who.textContent !== 'bot') continue;
				const text = t.textContent;
				const re = /\[(\d+)\]/g;
				re.lastIndex = read.get(t) || 0;
				let m;
				while ((m = re.exec(text)) !== null) {
					window.__lat.push(now - Number(m[1]));
					read.set(t, re.lastIndex);
				}
			}
		}).observe(log, { childList: true, subtree: true, characterData: true });
	});
	await page.click('#start button[type=submit]');
	await lib.until('the streamed reply', async () =>
		/The chat is over|failed/.test(await page.textContent('#state')), 120000);
	const lat = await page.evaluate(() => window.__lat);
	const s = stats(lat);
	console.log(`chunk to DOM: ${s.n} of ${CHUNKS} chunks, ${INTERVAL} ms ` +
		`apart: median ${s.median} ms, p90 ${s.p90} ms, max ${s.max} ms`);
}

async function bigSession(ctx, page, dir, redis) {
	const file = path.join(dir, 'many.json');
	fs.writeFileSync(file, JSON.stringify({
		agents: [{ role: 'p', count: 100, kind: 'scripted',
			lines: ['a line of a long session, about sixty bytes long, more or less'] }],
		script: [{ send_task_request: { task: 'Speak.' } },
			{ loop: [{ step: {} }], max: 100 }],
	}));
	const t0 = Date.now();
	const r = await agora('run', file, '--redis', redis, '--session', 'big',
		'--max-loops', '100');
	if (r.code !== 0) throw new Error('agora run: ' + r.err);
	const n = (await ctx.rcli('LLEN', 'agora:{big}:history'))[0];
	console.log(`big session: ${n} messages stored by agora run in ` +
		`${Date.now() - t0} ms`);

	await page.click('#tab-sessions');
	await page.locator('#session-list li[data-session="big"] button').waitFor();
	const f = await page.evaluate(async (want) => {
		const view = document.querySelector('#session-view');
		const btn = document.querySelector(
			'#session-list li[data-session="big"] button');
		const lt = [];
		const po = new PerformanceObserver((l) => {
			for (const e of l.getEntries()) lt.push(e.duration);
		});
		try { po.observe({ type: 'longtask', buffered: false }); } catch (e) {}
		const paintedAfter = () => new Promise((r) =>
			requestAnimationFrame(() => setTimeout(() => r(performance.now()), 0)));
		let firstDom = 0;
		let allDom = 0;
		const t0 = performance.now();
		const first = new Promise((resolve) => {
			new MutationObserver(() => {
				const now = performance.now();
				if (!firstDom && view.querySelector('.msg[data-id]')) {
					firstDom = now;
					paintedAfter().then(resolve);
				}
			}).observe(view, { childList: true, subtree: true });
		});
		const all = new Promise((resolve) => {
			const mo = new MutationObserver(() => {
				if (Number(view.dataset.count) >= want && !allDom) {
					allDom = performance.now();
					mo.disconnect();
					paintedAfter().then(resolve);
				}
			});
			mo.observe(view, { attributes: true, attributeFilter: ['data-count'] });
		});
		btn.click();
		const firstPaint = await first;
		const allPaint = await all;
		const rows = view.querySelectorAll('.msg[data-id]').length;
		// A scroll of #session-view from top to bottom over 300 frames
		// (each frame a new window of rows); each frame's time.
		const height = view.scrollHeight - view.clientHeight;
		view.scrollTop = 0;
		await paintedAfter();
		const frames = [];
		const N = 300;
		await new Promise((resolve) => {
			let i = 0;
			let prev = performance.now();
			const step = (t) => {
				frames.push(t - prev);
				prev = t;
				if (++i > N) return resolve();
				view.scrollTop = height * i / N;
				requestAnimationFrame(step);
			};
			requestAnimationFrame(step);
		});
		const lastRow = view.querySelector('.msg[data-id]:last-child');
		// A click on the Chat tab after all that: until it is painted.
		const c0 = performance.now();
		document.querySelector('#tab-chat').click();
		const clickPaint = (await paintedAfter()) - c0;
		await new Promise((r) => setTimeout(r, 100)); // late long tasks
		po.disconnect();
		return { firstDom: firstDom - t0, firstPaint: firstPaint - t0,
			allDom: allDom - t0, allPaint: allPaint - t0,
			count: Number(view.dataset.count), rows,
			lastId: lastRow ? Number(lastRow.dataset.id) : 0,
			frames: frames.slice(1), lt, clickPaint, height };
	}, Number(n));
	const fr = stats(f.frames);
	console.log(`big session in the Sessions tab: data-count ${f.count}, ` +
		`${f.rows} rows in the DOM; after the click: first rows in the DOM ` +
		`${f.firstDom.toFixed(0)} ms, painted ${f.firstPaint.toFixed(0)} ms; ` +
		`all ${f.count} loaded (data-count) ${f.allDom.toFixed(0)} ms, ` +
		`painted ${f.allPaint.toFixed(0)} ms`);
	console.log(`  long tasks: ${f.lt.length} (longest ` +
		`${Math.max(0, ...f.lt).toFixed(0)} ms); scroll of ${f.height} px ` +
		`over ${fr.n} frames (last row id ${f.lastId}): frame time median ` +
		`${fr.median.toFixed(1)} ms, p90 ${fr.p90.toFixed(1)} ms, max ` +
		`${fr.max.toFixed(1)} ms; a tab click painted in ` +
		`${f.clickPaint.toFixed(0)} ms`);
}

const srv = await fakeLlm();
const base = `http://127.0.0.1:${srv.address().port}/v1`;
await lib.run([['studio bench', async (ctx) => {
	const dir = path.join(ctx.dir, 'scen');
	fs.mkdirSync(dir);
	fs.writeFileSync(path.join(dir, 'stream.json'), JSON.stringify({
		name: 'stream', agents: [{ role: 'bot', kind: 'roleplay',
			model: 'default' }],
		script: [{ send_task_request: { task: 'Go.' } },
			{ step: { allowed_roles: 'bot' } }],
	}));
	const models = path.join(ctx.dir, 'models.json');
	fs.writeFileSync(models, JSON.stringify([{ config_name: 'default',
		model_type: 'openai_chat', model_name: 'fake', api_key: 'EMPTY',
		client_args: { base_url: base } }]));
	const redis = await ctx.redis();
	const url = await ctx.studio(['--redis', redis, '--scenarios', dir,
		'--model-config', models]);
	const page = await ctx.page(url);
	await page.locator('#scenario option').first().waitFor({ state: 'attached' });
	await idle(ctx, 'fresh, page open');
	await chunkLatency(ctx, page, dir);
	await bigSession(ctx, page, ctx.dir, redis);
	await idle(ctx, 'after the stream and the big session, page open');
	if (LATER_S > 0) {
		await new Promise((r) => setTimeout(r, LATER_S * 1000));
		await idle(ctx, `${LATER_S} s later, page open`);
	}
}]], 900000).finally(() => srv.close());
