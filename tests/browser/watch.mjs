// In the page: record every state of every bubble's text in a log (a
// MutationObserver), with the page's clock, so a test can see replies
// arrive chunk by chunk and in what order. Read back with readStates.
export async function watchLog(page, sel = '#log') {
	await page.evaluate((sel) => {
		const log = document.querySelector(sel);
		window.__states = [];
		const last = [];
		const look = () => {
			const bs = log.querySelectorAll('.bubble');
			for (let i = 0; i < bs.length; i++) {
				const who = bs[i].querySelector('.who');
				const t = bs[i].querySelector('.text');
				const text = t ? t.textContent : '';
				if (last[i] !== text) {
					last[i] = text;
					window.__states.push({ i, who: who ? who.textContent : '',
						text, t: Date.now() });
				}
			}
		};
		new MutationObserver(look).observe(log,
			{ childList: true, subtree: true, characterData: true });
	}, sel);
}

export function readStates(page) {
	return page.evaluate(() => window.__states);
}
