/** Debian's Chromium, driven by playwright-core, for the studio's browser tests. */
import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

/** Fails with what to install when Chromium is missing. */
export function requireChromium(): void {
	if (!existsSync(CHROMIUM)) {
		throw new Error(
			`The studio browser tests need Chromium at ${CHROMIUM}, which is not installed. Install it with \`apt-get install chromium\` (Debian; CI has it) and run the tests again.`,
		);
	}
}

/** A headless browser with a fresh profile under `dir`. */
export async function launchChromium(dir: string): Promise<BrowserContext> {
	requireChromium();
	return chromium.launchPersistentContext(mkdtempSync(join(dir, 'profile-')), {
		executablePath: CHROMIUM,
		headless: true,
		viewport: { width: 1280, height: 1000 },
		args: [
			'--headless',
			'--no-sandbox',
			'--disable-gpu',
			'--disable-quic',
			'--no-first-run',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
		],
	});
}
