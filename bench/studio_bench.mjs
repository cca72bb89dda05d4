// agora studio in headless Chromium: figures, never pass/fail.
//
// 1. chunk-to-DOM latency: a fake OpenAI-compatible server (here, Node
//    http) streams CHUNKS chunks, each carrying its send time
//    ("[<Date.now()>]"); a roleplay agent (--model-config pointing at it)
//    streams them through agora studio to the page, watched as a run; in
//    the page a MutationObserver notes Date.now() when each chunk's text
//    is in the DOM. Median, p90, max over all chunks.
// 2. a 10,000-message session (stored by `agora run` of 100 scripted
//    agents for 100 rounds), opened in the Sessions tab: time from the
//    click to the first bubble painted and to the last DOM change, the
//    page's long tasks, and the frame times of a scroll down the log.
// 3. the studio idle: RSS and CPU% of its process over 10 s with the page
//    open and idle (/proc/PID/status, /proc/PID/stat), fresh and after
//    1 and 2.
//
// usage: node bench/studio_bench.mjs  (AGORA_BIN, AGORA_SRC as for the
// tests; scripts/bench-studio installs and builds first). Options:
// --chunks N (default 300), --interval-ms N (default 10), --idle-s N (10).
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
	console.log(`idle ${label}: RSS ${(b.rss / 1024).toFixed(1)} MiB ` +
		`(peak ${(peak / 1024).toFixed(1)} MiB), CPU ` +
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
		let done = 0; // text length already read
		new MutationObserver(() => {
			const now = Date.now();
			const b = log.querySelector('.bubble span:nth-child(2)');
			if (!b) return;
			const text = b.textContent;
			const re = /\[(\d+)\]/g;
			re.lastIndex = done;
			let m;
			while ((m = re.exec(text)) !== null) {
				window.__lat.push(now - Number(m[1]));
				done = re.lastIndex;
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
	const btn = page.locator('#session-list button', { hasText: 'big' });
	await btn.waitFor();
	const f = await page.evaluate(async () => {
		const log = document.querySelector('#session-log');
		const btn = [...document.querySelectorAll('#session-list button')]
			.find((b) => b.textContent === 'big');
		const lt = [];
		const po = new PerformanceObserver((l) => {
			for (const e of l.getEntries()) lt.push(e.duration);
		});
		try { po.observe({ type: 'longtask', buffered: false }); } catch (e) {}
		let first = 0;
		let last = 0;
		const t0 = performance.now();
		const firstPaint = new Promise((resolve) => {
			new MutationObserver(() => {
				last = performance.now();
				if (!first && log.querySelector('.bubble')) {
					first = last;
					requestAnimationFrame(() => setTimeout(() =>
						resolve(performance.now()), 0));
				}
			}).observe(log, { childList: true, subtree: true });
		});
		btn.click();
		const painted = await firstPaint;
		// Settled: no change to the log for 1 s.
		for (;;) {
			const seen = last;
			await new Promise((r) => setTimeout(r, 1000));
			if (last === seen) break;
		}
		const bubbles = log.querySelectorAll('.bubble').length;
		// A scroll from top to bottom over 120 frames; each frame's time.
		const scroller = document.scrollingElement;
		const height = scroller.scrollHeight - innerHeight;
		scroller.scrollTop = 0;
		const frames = [];
		await new Promise((resolve) => {
			let i = 0;
			let prev = performance.now();
			const step = (t) => {
				frames.push(t - prev);
				prev = t;
				if (++i > 120) return resolve();
				scroller.scrollTop = height * i / 120;
				requestAnimationFrame(step);
			};
			requestAnimationFrame(step);
		});
		// A click on the Chat tab after all that: until it is painted.
		const c0 = performance.now();
		document.querySelector('#tab-chat').click();
		const clickPaint = await new Promise((r) =>
			requestAnimationFrame(() => setTimeout(() => r(performance.now() - c0), 0)));
		po.disconnect();
		return { firstDom: first - t0, firstPaint: painted - t0,
			settled: last - t0, bubbles, frames: frames.slice(1), lt, clickPaint,
			height };
	});
	const fr = stats(f.frames);
	console.log(`big session in the Sessions tab: ${f.bubbles} bubbles; ` +
		`first bubble in the DOM ${f.firstDom.toFixed(0)} ms, painted ` +
		`${f.firstPaint.toFixed(0)} ms, last DOM change ${f.settled.toFixed(0)} ` +
		`ms after the click`);
	console.log(`  long tasks: ${f.lt.length} (longest ` +
		`${Math.max(0, ...f.lt).toFixed(0)} ms); scroll of ${f.height} px over ` +
		`${fr.n} frames: median ${fr.median.toFixed(1)} ms, p90 ` +
		`${fr.p90.toFixed(1)} ms, max ${fr.max.toFixed(1)} ms; a tab click ` +
		`painted in ${f.clickPaint.toFixed(0)} ms`);
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
}]], 600000).finally(() => srv.close());
