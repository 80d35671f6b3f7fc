/**
 * Running stores inside workerd through miniflare, from Node.
 *
 * - D1: `mf.getD1Database()` hands Node a real D1 binding whose queries run inside workerd, so
 *   d1Store itself runs in Node against it.
 * - Durable Object: the store must run inside the object that owns the storage, so the test Worker
 *   (test/support/workers/store-worker.ts) is bundled and each call is forwarded to it by a
 *   `RemoteStore`, which rebuilds the store's typed errors on the Node side.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Miniflare, type MiniflareOptions } from 'miniflare';
import type { D1DatabaseLike, D1PreparedStatementLike } from '../../src/backends/d1/index.js';
import type { TestStore } from '../../src/conformance/index.js';
import {
	BackendError,
	ConfigError,
	ConflictError,
	CorruptError,
	type FluePersistError,
	FormatVersionError,
	InvalidInputError,
	TooLargeError,
} from '../../src/errors.js';
import type { ConcurrencyMode, Layout, ListOptions, ListPage, SessionData, SessionDelta, SessionListItem, StoreCapabilities } from '../../src/types.js';
import type { ExecRecord, OpenRequest, StorageForm } from './workers/store-worker.js';
import { encode, type WireError } from './workers/wire.js';

export type { ExecRecord, StorageForm };

const here = dirname(fileURLToPath(import.meta.url));
/** What Flue's Cloudflare target requires: a compatibility date of 2026-04-01 or later, with nodejs_compat. */
export const COMPATIBILITY_DATE = '2026-04-01';
export const COMPATIBILITY_FLAGS = ['nodejs_compat'];

/** A temporary directory removed by the returned function. */
export function tempDir(prefix: string): { path: string; remove: () => void } {
	const path = mkdtempSync(join(tmpdir(), prefix));
	return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Bundles the test Worker (with the Durable Object and D1 backends and the core) into one ES module. */
export async function bundleWorker(outDir: string): Promise<string> {
	const outfile = join(outDir, 'store-worker.mjs');
	await build({
		entryPoints: [resolve(here, 'workers/store-worker.ts')],
		bundle: true,
		format: 'esm',
		platform: 'neutral',
		target: 'es2022',
		outfile,
		logLevel: 'silent',
	});
	return outfile;
}

/** Miniflare options for the bundled test Worker; `persistTo` keeps Durable Object and D1 data on disk. */
export function workerOptions(scriptPath: string, persistTo?: string): MiniflareOptions {
	return {
		modules: true,
		scriptPath,
		modulesRoot: dirname(scriptPath),
		compatibilityDate: COMPATIBILITY_DATE,
		compatibilityFlags: COMPATIBILITY_FLAGS,
		durableObjects: {
			// Kept in memory between calls: the stores a test opened live in the object.
			STORE: { className: 'StoreObject', useSQLite: true, unsafePreventEviction: true },
			AGENT: { className: 'AgentObject', useSQLite: true },
			KV_OBJECT: { className: 'KvObject', useSQLite: false },
		},
		d1Databases: { DB: 'flue-persist-db', COMPAT: 'flue-persist-compat' },
		...(persistTo ? { durableObjectsPersist: join(persistTo, 'do'), d1Persist: join(persistTo, 'd1') } : {}),
	};
}

/** The D1 binding as the tests use it directly, besides what the store uses. */
export interface TestD1Statement extends D1PreparedStatementLike {
	bind(...values: unknown[]): TestD1Statement;
	all(): Promise<{ results: Array<Record<string, unknown>> }>;
	run(): Promise<unknown>;
}
export interface TestD1 extends D1DatabaseLike {
	prepare(sql: string): TestD1Statement;
}

/** A real D1 binding from miniflare, usable from Node; its queries run inside workerd. */
export async function testD1(mf: Miniflare, binding: string): Promise<TestD1> {
	return (await mf.getD1Database(binding)) as unknown as TestD1;
}

/** Starts a Miniflare with the given options and waits until it serves. */
export async function startMiniflare(options: MiniflareOptions): Promise<Miniflare> {
	const mf = new Miniflare(options);
	await mf.ready;
	return mf;
}

const ERROR_CLASSES: Record<string, new (message: string, details?: { backend?: string; sessionId?: string }) => FluePersistError> = {
	INVALID_INPUT: InvalidInputError,
	CONFLICT: ConflictError,
	CONFIG: ConfigError,
	TOO_LARGE: TooLargeError,
	CORRUPT: CorruptError,
	FORMAT_VERSION: FormatVersionError,
	BACKEND: BackendError,
};

/** Turns an error that came back from the Worker into the error the store threw there. */
export function rebuildError(wire: WireError): Error {
	const Class = wire.code ? ERROR_CLASSES[wire.code] : undefined;
	const error: Error = Class ? new Class('', { backend: wire.backend, sessionId: wire.sessionId }) : new Error();
	// The message is the store's own, prefix included, not rebuilt from parts.
	Object.defineProperty(error, 'message', { value: wire.message, writable: true, configurable: true, enumerable: false });
	if (!Class) error.name = wire.name;
	return error;
}

/** POSTs to the test Worker and returns the JSON it answers, throwing the error it reports. */
export async function post<T>(mf: Miniflare, path: string, body: string): Promise<T> {
	const res = await mf.dispatchFetch(`http://worker${path}`, { method: 'POST', body });
	const text = await res.text();
	if (!res.ok) throw new Error(`the test Worker answered ${res.status} for ${path}: ${text.slice(0, 500)}`);
	const out = JSON.parse(text) as { error?: WireError };
	if (out && typeof out === 'object' && out.error) throw rebuildError(out.error);
	return out as T;
}

type Statements = Array<{ sql: string; params?: unknown[] }>;

/** Runs SQL on one Durable Object's storage directly (to inspect or damage what a store wrote). */
export async function objectSql(mf: Miniflare, object: string, statements: Statements): Promise<Array<Array<Record<string, unknown>>>> {
	return post(mf, `/do/${encodeURIComponent(object)}/sql`, JSON.stringify({ statements }));
}

/** Runs SQL, one statement after another, on the Worker's D1 database `DB` from inside the Worker. */
export async function workerD1Sql(mf: Miniflare, statements: Statements): Promise<Array<Array<Record<string, unknown>>>> {
	return post(mf, '/do/d1-sql-host/d1-sql', JSON.stringify({ statements }));
}

const nextHandle = new Map<string, number>();

/**
 * A store living in the Durable Object `object` (durableObjectStore over its storage, or d1Store over
 * the Worker's D1 binding), driven from Node. Calls are numbered and the object starts them in that
 * order, so overlapping calls reach the store as they were made.
 */
export class RemoteStore implements TestStore {
	readonly backend!: string;
	readonly layout!: Layout | 'memory';
	readonly concurrency!: ConcurrencyMode;
	readonly capabilities!: StoreCapabilities;
	private seq = 0;

	private constructor(
		readonly mf: Miniflare,
		readonly object: string,
		readonly handle: number,
		readonly form: StorageForm,
		readonly table: string | undefined,
	) {}

	/** Opens a new store instance in the object (a second call on the same object is a second instance over the same storage). */
	static async open(
		mf: Miniflare,
		object: string,
		options: { backend?: OpenRequest['backend']; form?: StorageForm; layout: Layout; concurrency?: ConcurrencyMode; table?: string; chunkBytes?: number },
	): Promise<RemoteStore> {
		const handle = nextHandle.get(object) ?? 0;
		nextHandle.set(object, handle + 1);
		const form = options.form ?? 'storage';
		const req: OpenRequest = { ...options, handle, backend: options.backend ?? 'durable-object', form };
		const info = await post<Pick<RemoteStore, 'backend' | 'layout' | 'concurrency' | 'capabilities'>>(
			mf,
			`/do/${encodeURIComponent(object)}/open`,
			JSON.stringify(req),
		);
		// Every call reaches the store as a copy of its arguments, so the store never sees the caller's objects.
		return Object.assign(new RemoteStore(mf, object, handle, form, options.table), info, { capabilities: { ...info.capabilities, lineage: false } });
	}

	save(id: string, data: SessionData): Promise<void> {
		return this.call('save', [id, data]) as Promise<void>;
	}

	load(id: string): Promise<SessionData | null> {
		return this.call('load', [id]) as Promise<SessionData | null>;
	}

	delete(id: string): Promise<void> {
		return this.call('delete', [id]) as Promise<void>;
	}

	saveDelta(id: string, delta: SessionDelta): Promise<void> {
		return this.call('saveDelta', [id, delta]) as Promise<void>;
	}

	list(options?: ListOptions): Promise<ListPage> {
		return this.call('list', options === undefined ? [] : [options]) as Promise<ListPage>;
	}

	has(id: string): Promise<boolean> {
		return this.call('has', [id]) as Promise<boolean>;
	}

	/** The store's own listAll, run in the object; its items come back together and are yielded here. */
	async *listAll(options?: { prefix?: string }): AsyncGenerator<SessionListItem> {
		yield* (await this.call('listAll', options === undefined ? [] : [options])) as SessionListItem[];
	}

	close(): Promise<void> {
		return this.call('close', []) as Promise<void>;
	}

	/** The statements and transactions the store ran since the last call (form 'recorded' only). */
	takeLog(): Promise<Array<ExecRecord | 'begin' | 'end'>> {
		return post(this.mf, `/do/${encodeURIComponent(this.object)}/log`, JSON.stringify({ handle: this.handle }));
	}

	private call(method: string, args: unknown[]): Promise<unknown> {
		let body: string;
		try {
			// Encoded now, as the store would serialize now: later changes to the arguments do not travel.
			body = encode({ handle: this.handle, seq: this.seq, method, args });
		} catch (error) {
			return Promise.reject(error);
		}
		this.seq++;
		return post<{ ok?: unknown }>(this.mf, `/do/${encodeURIComponent(this.object)}/call`, body).then((out) => out.ok);
	}
}
