// The browser tests' harness: each case gets a private redis-server on a
// unix socket in a temp dir, a real `agora studio` process (--port 0, the
// URL read from what it prints), and a fresh page of Debian's headless
// Chromium driven by playwright-core. Everything a case started is
// stopped, and its temp dir removed, even when the case fails. Waits are
// on conditions with deadlines, never fixed sleeps.
//
// Environment: AGORA_BIN (the agora binary), AGORA_SRC (the source tree),
// AGORA_ARTEFACTS (where screenshots go; default build/test-artefacts/
// studio), AGORA_CHROMIUM (default /usr/bin/chromium), AGORA_NODE_MODULES
// (default $AGORA_SRC/tests/browser/node_modules).
// A case may call ctx.skip(why): the case is reported skipped. A run with
// no browser or no playwright-core exits 77 (ctest SKIP_RETURN_CODE).
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const SKIP = 77;
export const src = process.env.AGORA_SRC ||
	path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const agoraBin = process.env.AGORA_BIN || path.join(src, 'build/cli/agora');
export const artefacts = process.env.AGORA_ARTEFACTS ||
	path.join(src, 'build/test-artefacts/studio');
const chromiumPath = process.env.AGORA_CHROMIUM || '/usr/bin/chromium';
const modules = process.env.AGORA_NODE_MODULES ||
	path.join(src, 'tests/browser/node_modules');

// The default wait: generous for a loaded 2-core CI machine and a
// sanitizer build (CI runs these under ASan too); only a failing wait
// takes it whole. A case has CASE_MS in all, below ctest's TIMEOUT, so
// cleanup always runs.
export const WAIT_MS = 30000;
const CASE_MS = 150000;

class Skip extends Error {}

// Poll cond() until it returns a truthy value (returned) or ms pass.
export async function until(what, cond, ms = WAIT_MS) {
	const end = Date.now() + ms;
	let last;
	for (;;) {
		try {
			last = await cond();
			if (last) return last;
		} catch (e) {
			last = e;
		}
		if (Date.now() > end) {
			throw new Error(`timed out (${ms} ms) waiting for ${what}` +
				(last instanceof Error ? `: ${last.message}` : ''));
		}
		await new Promise((r) => setTimeout(r, 25));
	}
}

// Run a program to its end: {code, signal, out, err}.
export function runProgram(file, args, opts = {}) {
	return new Promise((resolve) => {
		execFile(file, args, { timeout: opts.timeout || 60000,
			maxBuffer: 64 << 20, env: opts.env || process.env },
		(e, out, err) => resolve({ code: e ? (e.code ?? -1) : 0,
			signal: e ? e.signal : null, out: String(out), err: String(err) }));
	});
}

export function agora(...args) {
	return runProgram(agoraBin, args);
}

// A TCP port nobody listens on now (bound on port 0, then released).
export function freePort() {
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.on('error', reject);
		srv.listen(0, '127.0.0.1', () => {
			const { port } = srv.address();
			srv.close(() => resolve(port));
		});
	});
}

// A case's resources: processes, a temp dir, the browser context.
class Ctx {
	constructor(name, browser) {
		this.name = name;
		this.browser = browser;
		this.procs = [];
		this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agora-browser-'));
		this.context = null; // the last page's
		this.contexts = [];
		this.log = [];
	}

	skip(why) {
		throw new Skip(why);
	}

	// Start a long-lived process; it is stopped at the case's end.
	spawn(file, args, opts = {}) {
		const p = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'],
			cwd: this.dir, ...opts });
		p.out = '';
		p.err = '';
		p.stdout.on('data', (d) => { p.out += d; });
		p.stderr.on('data', (d) => { p.err += d; });
		p.exited = new Promise((resolve) => p.on('exit',
			(code, signal) => resolve({ code, signal })));
		p.on('error', (e) => { p.err += String(e); });
		this.procs.push(p);
		return p;
	}

	async redis() {
		const sock = path.join(this.dir, 'redis.sock');
		const p = this.spawn('redis-server', ['--port', '0', '--unixsocket',
			sock, '--save', '', '--appendonly', 'no', '--dir', this.dir]);
		await until('redis-server to answer', async () =>
			fs.existsSync(sock) &&
			(await runProgram('redis-cli', ['-s', sock, 'PING'])).out.trim()
				=== 'PONG');
		this.redisSock = sock;
		this.redisUrl = 'unix://' + sock;
		this.redisProc = p;
		return this.redisUrl;
	}

	// redis-cli on the case's Redis; the reply lines (--raw).
	async rcli(...args) {
		const r = await runProgram('redis-cli', ['-s', this.redisSock, '--raw',
			...args]);
		if (r.code !== 0) throw new Error('redis-cli: ' + r.err);
		return r.out.replace(/\n$/, '').split('\n').filter((l) => l !== '');
	}

	// `agora studio --port 0 ARGS`; resolves to its URL once it prints it.
	async studio(args) {
		const p = this.spawn(agoraBin, ['studio', '--port', '0', ...args]);
		let early = null;
		p.exited.then((x) => { early = x; });
		const url = await until('agora studio to print its URL', () => {
			if (early) {
				throw new Error(`agora studio exited (${early.code}): ${p.err}`);
			}
			const m = /studio at (http:\/\/\S+)/.exec(p.out);
			return m && m[1];
		});
		this.studioProc = p;
		p.mustExitClean = true;
		return url;
	}

	// A fresh page in a browser context of its own (a tab: several pages
	// of a case share no cookies or storage): dialogs, page errors and CSP
	// violations are recorded (the XSS case asserts none happened).
	async page(url) {
		this.context = await this.browser.newContext(
			{ viewport: { width: 1100, height: 800 } });
		this.contexts.push(this.context);
		const page = await this.context.newPage();
		page.setDefaultTimeout(WAIT_MS);
		page.events = { dialogs: [], errors: [], console: [] };
		// Dialogs are recorded and dismissed, or accepted once a case sets
		// page.acceptDialogs (a "delete?" confirm).
		page.on('dialog', (d) => {
			page.events.dialogs.push(d.message());
			(page.acceptDialogs ? d.accept() : d.dismiss()).catch(() => {});
		});
		page.on('pageerror', (e) => page.events.errors.push(e.message));
		page.on('console', (m) => page.events.console.push(m.text()));
		await page.addInitScript(() => {
			window.__csp = [];
			document.addEventListener('securitypolicyviolation',
				(e) => window.__csp.push(e.violatedDirective + ' ' +
					(e.sample || '')));
		});
		if (url) await page.goto(url);
		return page;
	}

	async shot(page, name) {
		fs.mkdirSync(artefacts, { recursive: true });
		const file = path.join(artefacts, name + '.png');
		await page.screenshot({ path: file, fullPage: true });
		console.log(`# screenshot ${file}`);
	}

	// Stop everything; returns what went wrong on the way (a studio that
	// did not stop cleanly on SIGTERM: a crash, or a sanitizer's report).
	async cleanup() {
		const problems = [];
		for (const c of this.contexts) await c.close().catch(() => {});
		// Studio and servers first (they give their work back to Redis),
		// Redis last.
		for (const p of this.procs.slice().reverse()) {
			if (p.exitCode === null && p.signalCode === null) {
				p.kill('SIGTERM');
				const t = setTimeout(() => p.kill('SIGKILL'), 10000);
				await p.exited;
				clearTimeout(t);
			}
			if (p.mustExitClean && p.exitCode !== 0) {
				problems.push(`${p.spawnargs.slice(0, 2).join(' ')} exited ` +
					`${p.exitCode ?? p.signalCode} on SIGTERM: ` +
					p.err.slice(-3000));
			}
		}
		fs.rmSync(this.dir, { recursive: true, force: true });
		return problems;
	}
}

// Load playwright-core and launch the system Chromium, or exit 77 saying
// why (scripts/test installs both, so CI never skips).
async function launch() {
	if (!fs.existsSync(chromiumPath)) {
		console.log(`SKIP: no Chromium at ${chromiumPath} ` +
			'(scripts/test installs Debian\'s chromium)');
		process.exit(SKIP);
	}
	const entry = path.join(modules, 'playwright-core/index.mjs');
	if (!fs.existsSync(entry)) {
		console.log(`SKIP: no playwright-core in ${modules} ` +
			'(scripts/test runs npm ci in tests/browser)');
		process.exit(SKIP);
	}
	const { chromium } = await import(pathToFileURL(entry).href);
	// --no-sandbox: CI runs as root, where Chromium's sandbox refuses.
	return chromium.launch({ executablePath: chromiumPath,
		args: ['--no-sandbox'] });
}

// Run the cases in order; exit 0 if all passed or skipped, 1 otherwise,
// 77 if every case was skipped.
export async function run(cases, caseMs = CASE_MS) {
	if (!fs.existsSync(agoraBin)) {
		console.log(`FAIL: no agora binary at ${agoraBin} (set AGORA_BIN)`);
		process.exit(1);
	}
	const browser = await launch();
	let failed = 0;
	let skipped = 0;
	for (const [name, fn] of cases) {
		const ctx = new Ctx(name, browser);
		const t0 = Date.now();
		let timer;
		try {
			await Promise.race([fn(ctx), new Promise((_, reject) => {
				timer = setTimeout(() => reject(new Error(
					`case over ${caseMs} ms`)), caseMs);
			})]);
			console.log(`ok - ${name} (${Date.now() - t0} ms)`);
		} catch (e) {
			if (e instanceof Skip) {
				skipped++;
				console.log(`ok - ${name} # SKIP ${e.message}`);
			} else {
				failed++;
				ctx.failed = true;
				console.log(`not ok - ${name}\n  ${e.stack || e}`);
				for (const p of ctx.procs) {
					if (p.err) {
						console.log(`  [${p.spawnfile} stderr] ` +
							p.err.slice(-2000).replace(/\n/g, '\n  '));
					}
				}
			}
		} finally {
			clearTimeout(timer);
			const problems = await ctx.cleanup();
			for (const why of problems) console.log(`not ok - ${name}: ${why}`);
			if (problems.length && !ctx.failed) failed++;
		}
	}
	await browser.close();
	console.log(`# ${cases.length - failed - skipped} passed, ${failed} failed, ` +
		`${skipped} skipped`);
	process.exit(failed ? 1 : skipped === cases.length ? SKIP : 0);
}

// The page's chat log as [{who, text, cls}].
export function chatLog(page, sel = '#log') {
	return page.$$eval(`${sel} .bubble`, (bs) => bs.map((b) => ({
		who: b.querySelector('.who').textContent,
		text: b.querySelector('.text') ? b.querySelector('.text').textContent
			: '',
		cls: b.className,
	})));
}

// Every message of the session shown in the Sessions tab, oldest first:
// the view is windowed (only rows in view are in the page), so it is
// scrolled through, a screenful at a time, collecting rows by id.
export function sessionRows(page) {
	return page.evaluate(async () => {
		const view = document.getElementById('session-view');
		const seen = new Map();
		const text = (r, c) => {
			const e = r.querySelector(c);
			return e ? e.textContent : '';
		};
		const grab = () => {
			for (const r of view.querySelectorAll('.msg[data-id]')) {
				seen.set(r.dataset.id, { id: Number(r.dataset.id),
					from: text(r, '.from'), to: text(r, '.to'),
					text: text(r, '.text'), cls: r.className });
			}
		};
		const frame = () => new Promise((res) =>
			requestAnimationFrame(() => requestAnimationFrame(res)));
		view.scrollTop = 0;
		await frame();
		grab();
		while (view.scrollTop + view.clientHeight < view.scrollHeight) {
			const before = view.scrollTop;
			view.scrollTop += view.clientHeight;
			await frame();
			grab();
			if (view.scrollTop === before) break;
		}
		return [...seen.values()].sort((a, b) => a.id - b.id);
	});
}

// Open a session in the Sessions tab (the tab must be shown).
export async function openSession(page, session) {
	const li = page.locator(`#session-list li[data-session="${session}"]`);
	await li.waitFor();
	await li.locator('button').click();
}
