/**
 * A Flue app built by `@flue/sdk`'s `build()` (its `server.mjs`), served by a process of its own
 * for one request: started on a free port, awaited until it says it listens, stopped after.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from './net.js';
import { tsxLoader } from './paths.js';

/**
 * Runs `<output>/server.mjs` in `cwd` with `env` (and PORT), sends `request(port)` once it
 * listens, and returns the response's status and JSON body with what the server printed.
 */
export async function serveFlueOnce(
	output: string,
	cwd: string,
	env: Record<string, string>,
	request: (port: number) => Promise<Response>,
): Promise<{ status: number; body: unknown; log: string }> {
	const port = await freePort();
	const child: ChildProcess = spawn(process.execPath, ['--import', tsxLoader, join(output, 'server.mjs')], {
		cwd,
		env: { ...process.env, ...env, PORT: String(port) },
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let log = '';
	const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
	try {
		await new Promise<void>((resolve, reject) => {
			const onData = (chunk: Buffer) => {
				log += chunk.toString();
				if (log.includes('Server listening')) resolve();
			};
			child.stdout!.on('data', onData);
			child.stderr!.on('data', onData);
			child.on('exit', (code) => reject(new Error(`the server exited with ${code} before listening:\n${log}`)));
		});
		const res = await request(port);
		return { status: res.status, body: await res.json(), log };
	} finally {
		child.kill('SIGTERM');
		await exited;
	}
}
