import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../../src/backends/sqlite/index.js';
import { runConformance } from '../../../src/conformance/index.js';
import type { FluePersistStore, Layout } from '../../../src/index.js';
import { DatabaseSync, forEachDriver } from '../../support/sqlite-drivers.js';

const dir = mkdtempSync(join(tmpdir(), 'flue-persist-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const files = new WeakMap<FluePersistStore, string>();

forEachDriver((driver) => {
	// chunkBytes 1024 forces every large value into parts: the path Cloudflare's 2 MB limit takes.
	for (const [layout, chunkBytes] of [
		['log', undefined],
		['blob', undefined],
		['log', 1024],
		['blob', 1024],
	] as Array<[Layout, number | undefined]>) {
		runConformance<FluePersistStore>(
			{
				name: `sqliteStore (${driver}) layout ${layout}${chunkBytes ? `, values split at ${chunkBytes} bytes` : ''}`,
				async create(options) {
					const file = join(dir, `c-${layout}-${n++}.db`);
					const store = sqliteStore(file, { ...options, layout, chunkBytes, driver });
					files.set(store, file);
					return store;
				},
				async reopen(store, options) {
					const file = files.get(store)!;
					const again = sqliteStore(file, { ...options, layout, chunkBytes, driver });
					files.set(again, file);
					return again;
				},
			},
			{ describe, it, expect },
		);
	}
	if (driver !== 'node:sqlite') return;
	// A DatabaseSync the application opened itself, passed in as better-sqlite3's Database can be.
	const opened = new WeakMap<FluePersistStore, { file: string; close: () => unknown }>();
	runConformance<FluePersistStore>(
		{
			name: 'sqliteStore on a node:sqlite DatabaseSync passed in',
			async create(options) {
				const file = join(dir, `d-${n++}.db`);
				const db = new DatabaseSync!(file);
				const store = sqliteStore(db, options);
				opened.set(store, { file, close: () => db.close() });
				return store;
			},
			async reopen(store, options) {
				const { file } = opened.get(store)!;
				const db = new DatabaseSync!(file);
				const again = sqliteStore(db, options);
				opened.set(again, { file, close: () => db.close() });
				return again;
			},
			async destroy(store) {
				await store.close();
				opened.get(store)?.close();
			},
		},
		{ describe, it, expect },
	);
});
