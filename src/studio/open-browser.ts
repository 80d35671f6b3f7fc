/**
 * Opening the studio in the person's browser, as well as the platform allows, never failing, and
 * never with a secret on a command line: `xdg-open`, `open` and `start` run with their arguments
 * in plain view of every user of the machine (`ps`). The browser is started on a file only this
 * user can read, in a directory only this user can enter, which sends it on to the page with a
 * one-time code; the file is removed when the studio stops.
 */
import { type SpawnOptions, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The command that opens a URL or a file on a platform. */
export function browserCommand(target: string, platform: NodeJS.Platform = process.platform): { command: string; args: string[] } {
	if (platform === 'darwin') return { command: 'open', args: [target] };
	// `start` is a cmd built-in; its first quoted argument is a window title, hence the empty one.
	if (platform === 'win32') return { command: 'cmd', args: ['/c', 'start', '""', target.replace(/&/g, '^&')] };
	return { command: 'xdg-open', args: [target] };
}

type Spawn = (command: string, args: string[], options: SpawnOptions) => { on(event: 'error', listener: (error: Error) => void): unknown; unref(): void };

/**
 * Starts the browser on `target` (a URL or a file) and returns at once. False when the command
 * could not even be started; a browser that fails later is not noticed, which is why the URL is
 * always printed as well.
 */
export function openInBrowser(target: string, options: { platform?: NodeJS.Platform; spawn?: Spawn } = {}): boolean {
	const { command, args } = browserCommand(target, options.platform);
	const run: Spawn = options.spawn ?? spawn;
	try {
		const child = run(command, args, { stdio: 'ignore', detached: true, windowsHide: true });
		child.on('error', () => undefined);
		child.unref();
		return true;
	} catch {
		return false;
	}
}

/** A page on disk that sends the browser on to `url`. */
export interface LaunchPage {
	/** The file, readable by this user only. */
	path: string;
	/** Removes the file and its directory. */
	remove(): void;
}

const escapeAttribute = (text: string) => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** Writes the page that forwards the browser to `url` (which holds a one-time code). */
function writeLaunchPage(url: string, dir: string = tmpdir()): LaunchPage {
	// mkdtemp makes the directory 0700; the file is 0600 besides, for systems that share /tmp loosely.
	const folder = mkdtempSync(join(dir, 'flue-persist-studio-'));
	const path = join(folder, 'open-studio.html');
	const href = escapeAttribute(url);
	writeFileSync(
		path,
		`<!doctype html>\n<meta charset="utf-8">\n<meta name="referrer" content="no-referrer">\n<meta http-equiv="refresh" content="0; url=${href}">\n<title>flue-persist studio</title>\n<p>Opening <a href="${href}">flue-persist studio</a>…</p>\n`,
		{ mode: 0o600, flag: 'wx' },
	);
	return { path, remove: () => rmSync(folder, { recursive: true, force: true }) };
}

/**
 * Opens the studio in the browser through a launch page; false when no browser could be started.
 * The page is returned for removal, when the studio stops.
 */
export function launchInBrowser(
	oneTimeUrl: string,
	options: { platform?: NodeJS.Platform; spawn?: Spawn; dir?: string } = {},
): { opened: boolean; page: LaunchPage } {
	const page = writeLaunchPage(oneTimeUrl, options.dir);
	const target = (options.platform ?? process.platform) === 'win32' ? page.path : pathToFileURL(page.path).href;
	return { opened: openInBrowser(target, options), page };
}
