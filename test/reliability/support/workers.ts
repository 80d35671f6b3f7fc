/**
 * Worker processes for the reliability tests. The workers are bundled once with esbuild into
 * plain ESM files under .tmp/, so a process starts in a fraction of the time tsx needs: a
 * hundred kill-and-restart cycles then fit in the suite's time budget.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { bundleForNode } from '../../support/bundle.js';
import { root } from '../../support/paths.js';

const outdir = join(root, '.tmp', 'reliability-workers');
const built = new Map<string, Promise<string>>();

/** The bundled file of test/reliability/workers/<name>.ts, built on first use. */
export function workerFile(name: string): Promise<string> {
	let file = built.get(name);
	if (!file) {
		file = bundleForNode(join(root, 'test', 'reliability', 'workers', `${name}.ts`), join(outdir, `${name}.mjs`));
		built.set(name, file);
	}
	return file;
}

export interface Worker {
	readonly child: ChildProcess;
	/** Every complete line the worker printed so far. */
	readonly lines: string[];
	/** Resolves with the first line for which `match` is true (or rejects when the worker exits first). */
	waitFor(match: (line: string) => boolean): Promise<string>;
	/** Resolves when the process has exited, with its code or signal. */
	readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
	stderr(): string;
}

export async function startWorker(name: string, config: unknown): Promise<Worker> {
	const file = await workerFile(name);
	const child = spawn(process.execPath, [file, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'], cwd: root });
	const lines: string[] = [];
	const waiters: Array<{ match: (line: string) => boolean; resolve: (line: string) => void; reject: (error: Error) => void }> = [];
	let partial = '';
	let err = '';
	child.stdout!.setEncoding('utf8');
	child.stdout!.on('data', (chunk: string) => {
		partial += chunk;
		let nl: number;
		while ((nl = partial.indexOf('\n')) >= 0) {
			const line = partial.slice(0, nl);
			partial = partial.slice(nl + 1);
			lines.push(line);
			for (let i = waiters.length - 1; i >= 0; i--) {
				if (waiters[i]!.match(line)) waiters.splice(i, 1)[0]!.resolve(line);
			}
		}
	});
	child.stderr!.setEncoding('utf8');
	child.stderr!.on('data', (chunk: string) => {
		err = (err + chunk).slice(-8000);
	});
	// 'close' waits for the pipes to drain, so every line written before the kill is in `lines`.
	const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('close', (code, signal) => res({ code, signal })));
	let closed = '';
	void exited.then(({ code, signal }) => {
		closed = String(signal ?? code);
		for (const w of waiters.splice(0)) w.reject(new Error(`worker ${name} exited (${signal ?? code}) before the line it was waited for; stderr:\n${err}`));
	});
	return {
		child,
		lines,
		exited,
		stderr: () => err,
		waitFor(match) {
			const seen = lines.find(match);
			if (seen !== undefined) return Promise.resolve(seen);
			if (closed) return Promise.reject(new Error(`worker ${name} has exited (${closed}); stderr:\n${err}`));
			return new Promise((res, rej) => waiters.push({ match, resolve: res, reject: rej }));
		},
	};
}
