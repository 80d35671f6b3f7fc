/** Opening a URL in the person's browser, as well as the platform allows, and never failing. */
import { spawn, type SpawnOptions } from 'node:child_process';

/** The command that opens a URL on a platform. */
export function browserCommand(url: string, platform: NodeJS.Platform = process.platform): { command: string; args: string[] } {
	if (platform === 'darwin') return { command: 'open', args: [url] };
	// `start` is a cmd built-in; its first quoted argument is a window title, hence the empty one.
	if (platform === 'win32') return { command: 'cmd', args: ['/c', 'start', '""', url.replace(/&/g, '^&')] };
	return { command: 'xdg-open', args: [url] };
}

type Spawn = (command: string, args: string[], options: SpawnOptions) => { on(event: 'error', listener: (error: Error) => void): unknown; unref(): void };

/**
 * Starts the browser and returns at once. False when the command could not even be started; a
 * browser that fails later is not noticed, which is why the URL is always printed as well.
 */
export function openInBrowser(url: string, options: { platform?: NodeJS.Platform; spawn?: Spawn } = {}): boolean {
	const { command, args } = browserCommand(url, options.platform);
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
