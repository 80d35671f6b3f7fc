/**
 * One Flue turn in a process of its own: opens the store, starts an agent of the given release on
 * the fake model the test process serves, sends one prompt, closes the store and prints
 * `{ text, saves }` as one JSON line. Two of these in a row are the two processes of a resume.
 *
 * Run bundled (see turnWorkerFile in flue-harness.ts): node turn.mjs '<TurnWorkerConfig as JSON>'
 */
import pg from 'pg';
import { postgresStore } from '../../src/backends/postgres/index.js';
import { sqliteStore } from '../../src/backends/sqlite/index.js';
import type { FluePersistStore, Layout, SessionStore } from '../../src/types.js';
import { type FlueReleaseSpec, loadRelease } from './flue-releases.js';

/** A store a worker process can open from plain data. */
export type WorkerStoreConfig = { driver: 'sqlite'; file: string; layout: Layout } | { driver: 'postgres'; url: string; schema: string; layout: Layout };

export interface TurnWorkerConfig {
	release: FlueReleaseSpec;
	provider: string;
	baseUrl: string;
	store: WorkerStoreConfig;
	agentId: string;
	sessionId: string;
	prompt: string;
}

export interface TurnWorkerResult {
	text: string;
	/** Every save the turn made: key and number of entries. */
	saves: Array<{ key: string; entries: number }>;
}

async function main(): Promise<void> {
	const config = JSON.parse(process.argv[2]!) as TurnWorkerConfig;
	const release = await loadRelease(config.release);
	const model = release.registerModel(config.provider, config.baseUrl);
	let store: FluePersistStore;
	let pool: pg.Pool | undefined;
	if (config.store.driver === 'sqlite') {
		store = sqliteStore(config.store.file, { layout: config.store.layout });
	} else {
		pool = new pg.Pool({ connectionString: config.store.url, max: 2 });
		store = postgresStore(pool, { layout: config.store.layout, schema: config.store.schema });
	}
	const saves: TurnWorkerResult['saves'] = [];
	const recording: SessionStore = {
		save: (key, data) => {
			saves.push({ key, entries: data.entries.length });
			return store.save(key, data);
		},
		load: (key) => store.load(key),
		delete: (key) => store.delete(key),
	};
	try {
		const agent = await release.startAgent(model, recording, { agentId: config.agentId });
		const reply = await (await agent.session(config.sessionId)).prompt(config.prompt);
		const result: TurnWorkerResult = { text: reply.text, saves };
		process.stdout.write(`${JSON.stringify(result)}\n`);
	} finally {
		await store.close();
		await pool?.end();
	}
}

// Exit as soon as the turn is written: a handle Flue leaves open must not hold the test up.
main().then(
	() => process.exit(0),
	(error: unknown) => {
		process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
		process.exit(1);
	},
);
