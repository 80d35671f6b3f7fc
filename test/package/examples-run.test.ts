import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from '@flue/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresStore } from '../../src/backends/postgres/index.js';
import { sqliteStore } from '../../src/backends/sqlite/index.js';
import type { SessionStore } from '../../src/index.js';
import { type FakeModel, type SeenMessage, sessionKey, startFakeModel } from '../support/flue-harness.js';
import { serveFlueOnce } from '../support/flue-server.js';
import { root } from '../support/paths.js';
import { makePool, postgresUrl } from '../support/postgres.js';

const example = join(root, 'examples/hello-world');

// Inside the repository, so that the server finds @flue/sdk, pg and better-sqlite3 in node_modules.
mkdirSync(join(root, '.tmp'), { recursive: true });
const work = mkdtempSync(join(root, '.tmp', 'examples-run-'));
const output = join(work, 'server');

let fake: FakeModel;
beforeAll(async () => {
	fake = await startFakeModel();
	await build({ root: example, output, target: 'node' });
});
afterAll(async () => {
	await fake?.close();
	rmSync(work, { recursive: true, force: true });
});

/**
 * Starts the built server as a new process, sends one message to `agent` with agent id `id`, and
 * stops the process. The package name `flue-persist` resolves to the source through the examples'
 * tsconfig, as it resolves to node_modules in a user's project.
 */
async function runOnce(agent: string, id: string, message: string, env: Record<string, string>): Promise<{ status: number; body: unknown; log: string }> {
	const serverEnv = { ...env, MODEL: 'local/fake-chat-1', MODEL_BASE_URL: fake.baseUrl, TSX_TSCONFIG_PATH: join(root, 'examples/tsconfig.json') };
	return serveFlueOnce(output, work, serverEnv, (port) =>
		fetch(`http://127.0.0.1:${port}/agents/${agent}/${id}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', accept: 'application/json' },
			body: JSON.stringify({ message }),
		}),
	);
}

/** What the model was sent, request by request, from `from` on. */
const conversationsSince = (from: number): SeenMessage[][] => fake.requests.slice(from).map((r) => r.messages);

/** Two runs of `agent` in two processes; returns what the model saw in each. */
async function twoRuns(agent: string, env: Record<string, string>) {
	const id = `demo-${randomBytes(3).toString('hex')}`;
	const before = fake.requests.length;
	const first = await runOnce(agent, id, 'My name is Ada.', env);
	expect(first.status, first.log).toBe(200);
	expect(first.body).toEqual({ result: { reply: 'ACK: My name is Ada.' } });
	const afterFirst = fake.requests.length;
	const second = await runOnce(agent, id, 'What is my name?', env);
	expect(second.status, second.log).toBe(200);
	expect(second.body).toEqual({ result: { reply: 'ACK: What is my name?' } });
	return { id, first: conversationsSince(before).slice(0, afterFirst - before), second: conversationsSince(afterFirst) };
}

/** The conversation both runs left in the store, read back through a store of our own. */
async function storedMessages(store: SessionStore, agentId: string): Promise<Array<{ role: unknown; parentOk: boolean }>> {
	const data = await store.load(sessionKey(agentId, 'default'));
	expect(data).not.toBeNull();
	return data!.entries.map((e, i) => ({
		role: (e as { message?: { role?: unknown } }).message?.role,
		parentOk: e.parentId === (i === 0 ? null : data!.entries[i - 1]!.id),
	}));
}

const resumed = [
	{ role: 'user', text: 'My name is Ada.' },
	{ role: 'assistant', text: 'ACK: My name is Ada.' },
	{ role: 'user', text: 'What is my name?' },
];
const stored = ['user', 'assistant', 'user', 'assistant'].map((role) => ({ role, parentOk: true }));

describe('examples/hello-world, built with Flue and run twice', () => {
	it('sqlite-agent: the second server process continues the conversation the first stored in the SQLite file', async () => {
		const file = join(work, 'data', 'sessions.db');
		const { id, first, second } = await twoRuns('sqlite-agent', { FLUE_SQLITE_PATH: file });
		expect(first).toEqual([[{ role: 'user', text: 'My name is Ada.' }]]);
		expect(second).toEqual([resumed]);
		const store = sqliteStore(file);
		try {
			expect(await storedMessages(store, id)).toEqual(stored);
		} finally {
			await store.close();
		}
	});

	it('postgres-agent: the second server process continues the conversation the first stored in Postgres', async () => {
		const database = `flue_examples_${randomBytes(4).toString('hex')}`;
		const admin = makePool(undefined, 1);
		await admin.query(`CREATE DATABASE "${database}"`);
		const url = new URL(postgresUrl());
		url.pathname = `/${database}`;
		const pool = makePool(url.href, 2);
		try {
			const { id, first, second } = await twoRuns('postgres-agent', { DATABASE_URL: url.href });
			expect(first).toEqual([[{ role: 'user', text: 'My name is Ada.' }]]);
			expect(second).toEqual([resumed]);
			const store = postgresStore(pool);
			expect(await storedMessages(store, id)).toEqual(stored);
			await store.close();
		} finally {
			await pool.end();
			await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
			await admin.end();
		}
	});
});
