/**
 * The sessions the page has open, laid out, for a minute: the page fetches the rows of a large
 * tree a page at a time, and loading a 100,000-entry session again for each page would cost more
 * than drawing it.
 */
import type { FluePersistStore, SessionData, SessionListItem } from '../types.js';
import { SessionLayout, type ViewOptions } from './session-view.js';

interface Held {
	layout: SessionLayout;
	at: number;
}

/** A few laid-out sessions, each known by the write time the store lists for it. */
export class ViewCache {
	private readonly held = new Map<string, Held>();

	constructor(
		private readonly store: FluePersistStore,
		private readonly options: ViewOptions,
		private readonly now: () => number = Date.now,
		private readonly ttlMs = 60_000,
		private readonly size = 4,
	) {}

	/** The revision of a session: its write time in the store, and what it holds. */
	static rev(item: SessionListItem | null, data: SessionData): string {
		return `${item?.updatedAt ?? ''}/${data.entries.length}/${String(data.leafId)}`;
	}

	/** Lays out a session just loaded, and keeps it. */
	put(id: string, item: SessionListItem | null, data: SessionData): SessionLayout {
		const layout = new SessionLayout(id, data, { ...this.options, rev: ViewCache.rev(item, data) });
		this.held.delete(id);
		this.held.set(id, { layout, at: this.now() });
		while (this.held.size > this.size) this.held.delete(this.held.keys().next().value!);
		return layout;
	}

	/**
	 * The layout of a session at revision `rev`: kept, or loaded again. Null when the session is no
	 * longer at that revision (changed or deleted since the page showed it).
	 */
	async get(id: string, rev: string, item: SessionListItem | null): Promise<SessionLayout | null> {
		const now = this.now();
		for (const [key, held] of this.held) if (now - held.at > this.ttlMs) this.held.delete(key);
		const kept = this.held.get(id);
		if (kept && kept.layout.rev === rev && rev.startsWith(`${item?.updatedAt ?? ''}/`)) {
			kept.at = now;
			return kept.layout;
		}
		const data = await this.store.load(id);
		if (data === null || ViewCache.rev(item, data) !== rev) return null;
		return this.put(id, item, data);
	}

	/** Forgets a session (after a delete). */
	forget(id: string): void {
		this.held.delete(id);
	}
}
