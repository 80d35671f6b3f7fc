/**
 * Real Flue 2 databases for the tests: the fixture app in test/flue2/app runs the real
 * @flue/runtime against a local fake model, in two processes (a restart in between), on the
 * built-in sqlite() adapter or on @flue/mysql with MariaDB/MySQL. The runtime needs Node >= 22.19
 * (node:sqlite); the tools under test run on the test's own Node.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openFlue2IfAny } from '../../src/cli/flue2/open.js';
import { exportFlue2Instance } from '../../src/flue2/export.js';
import { listFlue2Streams } from '../../src/flue2/format.js';
import { FLUE2_SUBMISSION_COLUMNS } from '../../src/flue2/names.js';
import { flue2ContentChecksum } from '../../src/flue2/write.js';
import { root, tsxLoader } from '../support/paths.js';
import { capture } from '../support/spawn.js';

export const APP = resolve(dirname(fileURLToPath(import.meta.url)), 'app');

/** One request the fake model received, and what it answered. */
export interface Exchange {
	phase: number;
	request: { model: string; messages: Array<{ role: string; content: unknown; tool_calls?: unknown }>; tools: string[] };
	reply: { text?: string; tool?: { name: string; arguments: Record<string, unknown> } };
}

/** A snapshot as the runtime's router returns it (`GET /<instanceId>`). */
export interface Snapshot {
	v: number;
	conversationId: string;
	offset: string;
	messages: Array<{ id: string; role: string; parts: Array<Record<string, unknown>> }>;
}

export interface Flue2Fixture {
	dir: string;
	url: string;
	log: Exchange[];
	snapshots: Record<'alpha' | 'beta' | 'gamma', Snapshot>;
	instances: Record<'alpha' | 'beta' | 'gamma', { id: string; uid: string }>;
}

export type Maybe<T> = { ok: true; value: T } | { ok: false; reason: string };

function versionAtLeast(version: string, [major, minor]: [number, number]): boolean {
	const [a = 0, b = 0] = version.replace(/^v/, '').split('.').map(Number);
	return a > major || (a === major && b >= minor);
}

/** The Node that runs the Flue 2 runtime: this one when it is new enough, else FLUE2_NODE. */
export async function flue2Node(): Promise<Maybe<string>> {
	// CI installs the app in its Node 22 lane only; elsewhere the tests say how to run them.
	if (!appInstalled())
		return { ok: false, reason: 'the Flue 2 fixture app is not installed: run `npm run test:flue2-app` (it installs test/flue2/app under Node >= 22.19)' };
	if (versionAtLeast(process.versions.node, [22, 19])) return { ok: true, value: process.execPath };
	const given = process.env.FLUE2_NODE;
	if (!given)
		return {
			ok: false,
			reason: `Flue 2's runtime needs Node >= 22.19 (node:sqlite); this is Node ${process.versions.node} and FLUE2_NODE names no newer node`,
		};
	const probe = await capture(given, ['--version'], { env: process.env });
	if (probe.code !== 0 || !versionAtLeast(probe.stdout.trim(), [22, 19]))
		return { ok: false, reason: `FLUE2_NODE=${given} is not a Node >= 22.19 (${probe.stdout.trim() || probe.stderr.trim()})` };
	return { ok: true, value: given };
}

function appInstalled(): boolean {
	return existsSync(join(APP, 'node_modules/@flue/runtime/package.json')) && existsSync(join(APP, 'node_modules/@flue/mysql/package.json'));
}

/**
 * Runs one phase of the fixture app on a database (`--sqlite <file>` or `--mysql <url>`): 0 only
 * starts and stops it (the adapter creates and stamps its tables), 1 holds the first
 * conversations, 2 continues instance "alpha" by the uid in `<dir>/instances.json`, 3 adds
 * small instances `many-000` … (`--count <n>` in `target`, default 30).
 */
export async function runFixtureApp(node: string, dir: string, phase: 0 | 1 | 2 | 3, target: string[]): Promise<void> {
	if (!appInstalled()) throw new Error(`the Flue 2 fixture app is not installed: run \`npm run test:flue2-app\` (it installs test/flue2/app).`);
	const run = await capture(node, ['--disable-warning=ExperimentalWarning', join(APP, 'generate.mjs'), '--phase', String(phase), '--out', dir, ...target], {
		cwd: APP,
		env: { ...process.env, NODE_OPTIONS: '' },
	});
	if (run.code !== 0) throw new Error(`the Flue 2 fixture app failed in phase ${phase} (exit ${run.code}):\n${run.stderr}\n${run.stdout}`);
}

async function generate(node: string, dir: string, target: string[]): Promise<Flue2Fixture> {
	for (const phase of [1, 2] as const) await runFixtureApp(node, dir, phase, target);
	const read = <T>(file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8')) as T;
	return {
		dir,
		url: '',
		log: read<Exchange[]>('model-log.json'),
		snapshots: { alpha: read<Snapshot>('snapshot-alpha.json'), beta: read<Snapshot>('snapshot-beta.json'), gamma: read<Snapshot>('snapshot-gamma.json') },
		instances: read('instances.json'),
	};
}

/**
 * A SQLite file written by Flue 2's sqlite(), then closed as a stopped app leaves it (its WAL
 * folded into the file), so that tests can tell whether a read adds a -wal or -shm file.
 */
export async function sqliteFixture(): Promise<Maybe<Flue2Fixture>> {
	const node = await flue2Node();
	if (!node.ok) return node;
	const dir = mkdtempSync(join(tmpdir(), 'flue2-sqlite-'));
	const file = join(dir, 'flue.db');
	const fixture = await generate(node.value, dir, ['--sqlite', file]);
	const db = new Database(file);
	db.pragma('wal_checkpoint(TRUNCATE)');
	db.close();
	return { ok: true, value: { ...fixture, url: `sqlite:${file}` } };
}

/** A copy of the fixture database (`flue.db` in the fixture's folder) with damage planted in it: the copy's path. */
export function damagedCopy(fx: Flue2Fixture, name: string, damage: (db: Database.Database) => void): string {
	const file = join(fx.dir, `${name}.db`);
	copyFileSync(join(fx.dir, 'flue.db'), file);
	const db = new Database(file);
	damage(db);
	db.close();
	return file;
}

/** Reads a copy of a SQLite file with better-sqlite3, so that the reading leaves nothing beside the file itself. */
export function readCopy<T>(file: string, read: (db: Database.Database) => T): T {
	const copy = `${file}.${process.pid}.read`;
	copyFileSync(file, copy);
	const db = new Database(copy, { readonly: true });
	try {
		return read(db);
	} finally {
		db.close();
		for (const f of [copy, `${copy}-wal`, `${copy}-shm`]) rmSync(f, { force: true });
	}
}

/**
 * A stream's batch rows read straight from SQLite, each with its parts in order: what the tools
 * must reproduce, read without them.
 */
export function storedBatchRows(file: string, path: string): Array<{ seq: number; data: string; parts: string[] }> {
	return readCopy(file, (db) =>
		(db.prepare('SELECT seq, data FROM flue_conversation_stream_batches WHERE path = ? ORDER BY seq').all(path) as Array<{ seq: number; data: string }>).map(
			(row) => ({
				...row,
				parts: (
					db.prepare('SELECT data FROM flue_conversation_stream_batch_chunks WHERE path = ? AND seq = ? ORDER BY chunk_index').all(path, row.seq) as Array<{
						data: string;
					}>
				).map((p) => p.data),
			}),
		),
	);
}

/** The batches of a stream, parts joined: what export must reproduce byte for byte. */
export function storedBatches(file: string, path: string): Map<number, string> {
	return new Map(storedBatchRows(file, path).map((row) => [row.seq, row.parts.length > 0 ? row.parts.join('') : row.data]));
}

/** An empty Flue 2 SQLite file in `<work>/empty`: sqlite() started and stopped on it, so its tables and stamp are the runtime's own. */
export async function emptySqliteFile(node: string, work: string): Promise<string> {
	const dir = join(work, 'empty');
	mkdirSync(dir);
	const file = join(dir, 'flue.db');
	await runFixtureApp(node, dir, 0, ['--sqlite', file]);
	return file;
}

/** The MySQL server the tests use: MYSQL_URL, else the local one, when it answers. */
export async function mysqlServer(): Promise<Maybe<string>> {
	const url = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/';
	const mysql = (await import('mysql2/promise')).default;
	try {
		const connection = await mysql.createConnection({ uri: url, connectTimeout: 3000 });
		await connection.end();
		return { ok: true, value: url };
	} catch (error) {
		return {
			ok: false,
			reason: `no MySQL server answers at ${url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')} (${(error as Error).message}); set MYSQL_URL`,
		};
	}
}

/** A fresh database on the MySQL server, created the way @flue/mysql expects (utf8mb4_bin). */
export async function mysqlDatabase(
	server: string,
	name: string,
): Promise<{ url: string; drop(): Promise<void>; query(sql: string, params?: unknown[]): Promise<unknown[]> }> {
	const mysql = (await import('mysql2/promise')).default;
	const admin = await mysql.createConnection({ uri: server });
	await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
	await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
	const u = new URL(server);
	u.pathname = `/${name}`;
	const url = u.toString();
	const db = await mysql.createConnection({ uri: url });
	return {
		url,
		query: async (sql, params = []) => (await db.query(sql, params))[0] as unknown[],
		drop: async () => {
			await db.end();
			await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
			await admin.end();
		},
	};
}

/**
 * Gives `db` the tables of `template`, a database @flue/mysql made them in at its start, with
 * `CREATE TABLE … LIKE` (the same columns, keys and engine), and the stamp the adapter writes:
 * a target as the runtime makes it, without starting the runtime again.
 */
export async function cloneFlue2Tables(db: Awaited<ReturnType<typeof mysqlDatabase>>, template: Awaited<ReturnType<typeof mysqlDatabase>>): Promise<void> {
	const source = new URL(template.url).pathname.slice(1);
	for (const row of (await db.query('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [source])) as Array<{ t: string }>) {
		await db.query(`CREATE TABLE \`${row.t}\` LIKE \`${source}\`.\`${row.t}\``);
	}
	await db.query("INSERT INTO flue_meta (`key`, value) VALUES ('format_version', '1')");
}

/** A Flue 2 database on MySQL written by @flue/mysql. */
export async function mysqlFixture(name: string): Promise<Maybe<Flue2Fixture & { database: Awaited<ReturnType<typeof mysqlDatabase>> }>> {
	const node = await flue2Node();
	if (!node.ok) return node;
	const server = await mysqlServer();
	if (!server.ok) return server;
	const database = await mysqlDatabase(server.value, name);
	const dir = mkdtempSync(join(tmpdir(), 'flue2-mysql-'));
	try {
		const fixture = await generate(node.value, dir, ['--mysql', database.url]);
		return { ok: true, value: { ...fixture, url: database.url, database } };
	} catch (error) {
		await database.drop();
		throw error;
	}
}

/** The text of a chat message the fake model received. */
export function messageText(message: { content: unknown }): string {
	if (typeof message.content === 'string') return message.content;
	if (!Array.isArray(message.content)) return '';
	return (message.content as Array<{ type: string; text?: string }>)
		.filter((p) => p.type === 'text')
		.map((p) => p.text ?? '')
		.join('');
}

/**
 * What `show` must print for one exchange with the fake model. The runtime appends an
 * `<attachments>` list to a user text and wraps a signal in its tag for the model, while the
 * stored record holds the text alone; a summarization request is not a turn of the conversation
 * but its answer is the summary of a compaction.
 */
export function expectedLines(exchange: Exchange): string[] {
	const system = messageText(exchange.request.messages.find((m) => m.role === 'system') ?? { content: '' });
	if (system.startsWith('You are a context summarization assistant')) return [`── compaction of `, `tokens: ${exchange.reply.text!.replace(/\n/g, '\\n')}`];
	const lastUser = messageText([...exchange.request.messages].reverse().find((m) => m.role === 'user')!);
	const signal = /^<signal [^>]*>\n([\s\S]*)\n<\/signal>$/.exec(lastUser);
	const input = signal ? `[dispatch, diagnostic] ${signal[1]}` : `[user] ${lastUser.replace(/\n\n<attachments>[\s\S]*$/, '').replace(/\n/g, '\\n')}`;
	const reply =
		exchange.reply.text !== undefined
			? `[assistant] ${exchange.reply.text}`
			: `[assistant] tool ${exchange.reply.tool!.name} ${JSON.stringify(exchange.reply.tool!.arguments)} → `;
	return [input, reply];
}

/**
 * The tables of Flue 2's Postgres adapter (format 1, as of Flue 2.0.3's source): the same tables
 * and columns as SQLite, values inline (no part tables), BIGINT, TEXT and BYTEA.
 */
export const POSTGRES_DDL = [
	'CREATE TABLE flue_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
	`CREATE TABLE flue_agent_submissions (sequence BIGINT PRIMARY KEY, submission_id TEXT NOT NULL UNIQUE, session_key TEXT NOT NULL, kind TEXT NOT NULL,
		payload TEXT NOT NULL, status TEXT NOT NULL, accepted_at BIGINT NOT NULL, canonical_ready_at BIGINT, attempt_id TEXT, input_applied_at BIGINT,
		abort_requested_at BIGINT, started_at BIGINT, joined_into TEXT, settled_at BIGINT, error TEXT, attempt_count INTEGER NOT NULL DEFAULT 0,
		max_attempts INTEGER NOT NULL DEFAULT 10, timeout_at BIGINT NOT NULL DEFAULT 0, owner_id TEXT, lease_expires_at BIGINT NOT NULL DEFAULT 0,
		settlement_record_id TEXT, settlement_record TEXT)`,
	'CREATE TABLE flue_submission_chunks (submission_id TEXT NOT NULL, item_id TEXT NOT NULL, chunk_index INTEGER NOT NULL, chunk_count INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (submission_id, item_id, chunk_index))',
	'CREATE TABLE flue_conversation_streams (path TEXT PRIMARY KEY, identity_json TEXT NOT NULL, next_offset BIGINT NOT NULL DEFAULT 0, producer_id TEXT, producer_epoch BIGINT NOT NULL DEFAULT 0, next_producer_sequence BIGINT NOT NULL DEFAULT 0, incarnation TEXT NOT NULL)',
	'CREATE TABLE flue_conversation_stream_batches (path TEXT NOT NULL, seq BIGINT NOT NULL, producer_id TEXT NOT NULL, producer_epoch BIGINT NOT NULL, producer_sequence BIGINT NOT NULL, data TEXT NOT NULL, submission_id TEXT, attempt_id TEXT, PRIMARY KEY (path, seq))',
	'CREATE TABLE flue_conversation_fold_checkpoints (path TEXT PRIMARY KEY, head_offset TEXT NOT NULL, incarnation TEXT NOT NULL, format_version BIGINT NOT NULL, data TEXT NOT NULL)',
	'CREATE TABLE flue_attachments (stream_path TEXT NOT NULL, attachment_id TEXT NOT NULL, mime_type TEXT NOT NULL, byte_size BIGINT NOT NULL, digest TEXT NOT NULL, conversation_id TEXT NOT NULL, bytes BYTEA NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (stream_path, attachment_id))',
];

/** The content checksum of every instance of a Flue 2 database, by stream path (what a copy keeps and a write must leave whole). */
export async function instanceChecksums(url: string): Promise<Record<string, string>> {
	const db = await openFlue2IfAny({ out: () => undefined, err: () => undefined, env: {}, cwd: process.cwd() }, url);
	if (!db) throw new Error(`${url} is not a Flue 2 database`);
	try {
		const out: Record<string, string> = {};
		for (const stream of await listFlue2Streams(db.sql)) {
			const line = await exportFlue2Instance(db.sql, stream);
			out[stream.path] = flue2ContentChecksum(line.instance, line.data, new Set(FLUE2_SUBMISSION_COLUMNS));
		}
		return out;
	} finally {
		await db.close();
	}
}

/** The real `flue-persist` command in a process of its own (this Node, through tsx), to be killed. */
export interface CliProcess {
	child: ChildProcess;
	/** The signal that ended it, or its exit code. */
	exited: Promise<NodeJS.Signals | number | null>;
	/** Whether it has ended. */
	ended(): boolean;
	/** The lines it wrote to stderr so far. */
	lines: string[];
	/** Resolves when a line of stderr matches (true), or when it ends without one (false). */
	waitForLine(match: (line: string) => boolean): Promise<boolean>;
}

/** Polls `check` every few milliseconds until it is true, the process ended, or `ms` passed. */
export async function until(check: () => boolean | Promise<boolean>, ended: () => boolean, ms = 60_000): Promise<void> {
	const started = Date.now();
	while (!ended() && Date.now() - started < ms && !(await check())) await new Promise((r) => setTimeout(r, 3));
}

export function spawnCli(args: string[], cwd: string): CliProcess {
	const child = spawn(process.execPath, ['--import', tsxLoader, join(root, 'src/cli/main.ts'), ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
	const lines: string[] = [];
	const waiting: Array<{ match: (line: string) => boolean; done: (found: boolean) => void }> = [];
	let ended = false;
	let rest = '';
	child.stderr!.setEncoding('utf8');
	child.stderr!.on('data', (chunk: string) => {
		rest += chunk;
		const parts = rest.split('\n');
		rest = parts.pop()!;
		for (const line of parts) {
			lines.push(line);
			for (const w of [...waiting])
				if (w.match(line)) {
					waiting.splice(waiting.indexOf(w), 1);
					w.done(true);
				}
		}
	});
	const exited = new Promise<NodeJS.Signals | number | null>((done) =>
		child.on('exit', (code, signal) => {
			ended = true;
			for (const w of waiting.splice(0)) w.done(false);
			done(signal ?? code);
		}),
	);
	return {
		child,
		exited,
		ended: () => ended,
		lines,
		waitForLine: (match) =>
			new Promise((done) => {
				if (lines.some(match)) return done(true);
				if (ended) return done(false);
				waiting.push({ match, done });
			}),
	};
}
