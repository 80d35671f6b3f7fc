/**
 * The studio's session list over `store.list()`, the only listing a store offers: ids in the
 * store's order, paged by cursor, filtered by prefix inside the store.
 *
 * Everything else costs a scan, and every scan is bounded:
 * - search (a substring of the id) and `since` are applied while paging: one request reads at
 *   most `scanPerRequest` listing rows and returns the matches found so far with a cursor to go on;
 * - sorting by time or size needs every match, so it reads up to `sortScan` listing rows, sorts
 *   them, and keeps the sorted result for a minute so that paging through it does not read again.
 *   When the bound is reached it says so: the order is then that of the sessions it read.
 */
import type { FluePersistStore, SessionListItem } from '../types.js';

/** How the list is ordered: the store's own id order, newest write first, or largest first. */
export type SortKey = 'id' | 'time' | 'size';

/** One request for a page of the list. */
export interface ListQuery {
	/** Passed to the store: only ids that start with it. */
	prefix: string;
	/** A piece of the id, any case; applied while paging. */
	search: string;
	/** Epoch milliseconds: only sessions written since then. */
	since: number | null;
	sort: SortKey;
	/** The `cursor` of the previous page, or null for the first. */
	cursor: string | null;
	/** Sessions per page. */
	limit: number;
}

/** A page of the list. */
export interface ListResult {
	sessions: SessionListItem[];
	/** Pass back for the next page; null when there is nothing more. */
	cursor: string | null;
	/** Listing rows read to answer this request. */
	scanned: number;
	/** Sorted views: matches found among the rows read. */
	matches?: number;
	/** Sorted views: false when the scan stopped at its bound, so only part of the store is sorted. */
	complete?: boolean;
}

/** The bounds of the scans. */
export interface ListLimits {
	/** Listing rows one request of the id-ordered list may read. */
	scanPerRequest: number;
	/** Listing rows a sorted view may read. */
	sortScan: number;
	/** How long a sorted view is kept for paging, in milliseconds. */
	sortCacheMs: number;
}

/** Defaults that keep a request well under a second on SQLite and Postgres. */
export const DEFAULT_LIST_LIMITS: ListLimits = { scanPerRequest: 20_000, sortScan: 100_000, sortCacheMs: 60_000 };

/** Largest page `store.list()` accepts. */
const STORE_PAGE = 1000;

interface IdCursor {
	/** The store cursor the current store page was read with. */
	c: string | null;
	/** The last row of that page already handed out, and how many rows of it were. */
	a: string | null;
	s: number;
}

interface SortCursor {
	k: string;
	o: number;
}

interface SortedView {
	items: SessionListItem[];
	scanned: number;
	complete: boolean;
	at: number;
}

const encode = (value: object): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

function decode<T>(text: string): T | null {
	try {
		const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
		return typeof value === 'object' && value !== null ? (value as T) : null;
	} catch {
		return null;
	}
}

/** A cursor that is not one this list handed out. */
export class BadCursorError extends Error {
	constructor() {
		super('the cursor is not one this list handed out; start from the first page');
		this.name = 'BadCursorError';
	}
}

/** Pages, searches and sorts the sessions of one store. */
export class SessionLister {
	private readonly sorted = new Map<string, SortedView>();

	constructor(
		private readonly store: FluePersistStore,
		private readonly limits: ListLimits = DEFAULT_LIST_LIMITS,
		private readonly now: () => number = Date.now,
	) {}

	/** One page of the list. */
	async page(query: ListQuery): Promise<ListResult> {
		return query.sort === 'id' ? this.idPage(query) : this.sortedPage(query);
	}

	/** Forgets sorted views, after a delete changed what they hold. */
	invalidate(): void {
		this.sorted.clear();
	}

	private matcher(query: ListQuery): ((item: SessionListItem) => boolean) | null {
		const search = query.search.toLowerCase();
		const since = query.since;
		if (search === '' && since === null) return null;
		return (item) => (search === '' || item.id.toLowerCase().includes(search)) && (since === null || Date.parse(item.updatedAt) >= since);
	}

	private async idPage(query: ListQuery): Promise<ListResult> {
		let state: IdCursor = { c: null, a: null, s: 0 };
		if (query.cursor !== null) {
			const decoded = decode<IdCursor>(query.cursor);
			if (
				!decoded ||
				(decoded.c !== null && typeof decoded.c !== 'string') ||
				(decoded.a !== null && typeof decoded.a !== 'string') ||
				!Number.isInteger(decoded.s)
			)
				throw new BadCursorError();
			state = decoded;
		}
		const match = this.matcher(query);
		const found: SessionListItem[] = [];
		let scanned = 0;
		for (;;) {
			const need = query.limit - found.length;
			// Without a filter every row is a match, so a page of exactly `need` rows ends the request
			// on a store page boundary; with one, full pages keep the number of calls down.
			const size = match === null && state.a === null ? Math.min(STORE_PAGE, need) : STORE_PAGE;
			const page = await this.store.list({ prefix: query.prefix, limit: size, cursor: state.c });
			let start = 0;
			if (state.a !== null) {
				const at = page.sessions.findIndex((s) => s.id === state.a);
				// The last row handed out was deleted since: the rows after it moved up by one.
				start = at >= 0 ? at + 1 : Math.max(0, state.s - 1);
			}
			let i = start;
			for (; i < page.sessions.length && found.length < query.limit; i++) {
				const item = page.sessions[i]!;
				scanned++;
				if (match === null || match(item)) found.push(item);
				if (scanned >= this.limits.scanPerRequest && found.length < query.limit) {
					i++;
					break;
				}
			}
			if (i < page.sessions.length) {
				const last = page.sessions[i - 1];
				return { sessions: found, cursor: encode({ c: state.c, a: last ? last.id : state.a, s: i } satisfies IdCursor), scanned };
			}
			if (page.cursor === null) return { sessions: found, cursor: null, scanned };
			state = { c: page.cursor, a: null, s: 0 };
			if (found.length >= query.limit || scanned >= this.limits.scanPerRequest) return { sessions: found, cursor: encode(state), scanned };
		}
	}

	private async sortedPage(query: ListQuery): Promise<ListResult> {
		const key = JSON.stringify([query.prefix, query.search.toLowerCase(), query.since, query.sort]);
		let offset = 0;
		if (query.cursor !== null) {
			const decoded = decode<SortCursor>(query.cursor);
			if (!decoded || decoded.k !== key || !Number.isInteger(decoded.o) || decoded.o < 0) throw new BadCursorError();
			offset = decoded.o;
		}
		const now = this.now();
		for (const [k, view] of this.sorted) if (now - view.at > this.limits.sortCacheMs) this.sorted.delete(k);
		let view = offset > 0 ? this.sorted.get(key) : undefined;
		let scanned = 0;
		if (!view) {
			view = await this.scanSorted(query, now);
			scanned = view.scanned;
			this.sorted.delete(key);
			this.sorted.set(key, view);
			// A handful of views is enough for one person paging back and forth between filters.
			while (this.sorted.size > 4) this.sorted.delete(this.sorted.keys().next().value!);
		}
		const sessions = view.items.slice(offset, offset + query.limit);
		const next = offset + sessions.length;
		return {
			sessions,
			cursor: next < view.items.length ? encode({ k: key, o: next } satisfies SortCursor) : null,
			scanned,
			matches: view.items.length,
			complete: view.complete,
		};
	}

	private async scanSorted(query: ListQuery, now: number): Promise<SortedView> {
		const match = this.matcher(query);
		const items: SessionListItem[] = [];
		let scanned = 0;
		let cursor: string | null = null;
		let complete = false;
		for (;;) {
			const page = await this.store.list({ prefix: query.prefix, limit: Math.min(STORE_PAGE, this.limits.sortScan - scanned), cursor });
			scanned += page.sessions.length;
			for (const item of page.sessions) if (match === null || match(item)) items.push(item);
			cursor = page.cursor;
			if (cursor === null) {
				complete = true;
				break;
			}
			if (scanned >= this.limits.sortScan) break;
		}
		// The key is computed once per session, not once per comparison: 100,000 dates parsed twice
		// per comparison would cost more than the scan.
		const keyed = items.map((item) => ({ item, key: query.sort === 'time' ? Date.parse(item.updatedAt) : item.bytes }));
		keyed.sort((a, b) => b.key - a.key || (a.item.id < b.item.id ? -1 : a.item.id > b.item.id ? 1 : 0));
		return { items: keyed.map((k) => k.item), scanned, complete, at: now };
	}
}
