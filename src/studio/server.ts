/**
 * The studio's web server: the page and a small JSON API over one opened store, on node:http.
 *
 * Every request carries a random token (the page in `?token=`, the API in the `x-studio-token`
 * header or `?token=`); without it the answer is 403, so another local user, or a web page the
 * browser visits that guesses the port, reads nothing. On a loopback address the `Host` header
 * must name that address too, which keeps out web pages that point their own host name at
 * 127.0.0.1 (DNS rebinding). Sessions are only read unless the studio was started with
 * `allowDelete`, and a delete must repeat the id it deletes.
 *
 * API (JSON):
 * - `GET /api/info`: the store, and whether deletes are allowed;
 * - `GET /api/sessions?prefix=&q=&since=&sort=id|time|size&cursor=&limit=`: a page of the list;
 * - `GET /api/session?id=`: one session as a tree, its growth and its problems;
 * - `GET /api/entry?id=&index=&entry=`: one entry in full (the page shows previews);
 * - `GET /api/doctor`, `POST /api/doctor`: the state of the doctor run, or start one;
 * - `DELETE /api/session?id=&confirm=<id>`: with `allowDelete` only.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isFluePersistError } from '../errors.js';
import { parseSince } from '../tools/format.js';
import type { OpenedStore } from '../tools/open-store.js';
import type { FluePersistStore, SessionListItem } from '../types.js';
import { DoctorJob, type DoctorTarget } from './doctor-job.js';
import { renderPage } from './page.js';
import { BadCursorError, DEFAULT_LIST_LIMITS, SessionLister, type ListLimits, type SortKey } from './session-list.js';
import { buildSessionView, DEFAULT_PREVIEW, type PreviewLimits } from './session-view.js';

/** What the studio shows: a store, and the database under it for doctor. */
export interface StudioSource {
	store: FluePersistStore;
	/** The store for people: URL (password hidden), table, layout. */
	describe: string;
	/** Raw access for doctor; without it the page offers the per-session checks only. */
	doctor?: DoctorTarget | null;
	/** The tables a session's damage is reported against. */
	tables?: { header: string; entries: string };
}

/** A studio source from a store opened by URL, as the other session commands open one. */
export function studioSource(opened: OpenedStore): StudioSource {
	const { table, layout } = opened.target;
	return {
		store: opened.store,
		describe: opened.describe,
		doctor: { raw: opened.database.raw, where: opened.database.url.display, table },
		tables: layout === 'log' ? { header: `${table}_log`, entries: `${table}_entries` } : { header: table, entries: table },
	};
}

/** How `startStudio` listens and what it allows. */
export interface StudioOptions {
	source: StudioSource;
	/** Default 127.0.0.1. Any other address lets the network reach the page (the token still guards it). */
	host?: string;
	/** Default 0: a free port. */
	port?: number;
	/** Default: 24 random bytes, base64url. */
	token?: string;
	/** Let the page delete sessions. Default false. */
	allowDelete?: boolean;
	/** Bounds of the list's scans and of the previews. */
	limits?: Partial<ListLimits> & { preview?: PreviewLimits };
	/** Current time in milliseconds (for `since`). */
	now?: () => number;
}

/** A running studio. */
export interface Studio {
	/** The page, with the token: what a person opens. */
	url: string;
	/** `http://host:port`, without the token. */
	origin: string;
	token: string;
	host: string;
	port: number;
	/** Stops listening, ends open connections and stops a doctor run. The store stays open. */
	close(): Promise<void>;
}

/** The header the page sends the token in. */
export const TOKEN_HEADER = 'x-studio-token';

const PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 500;

class HttpError extends Error {
	constructor(
		readonly status: number,
		message: string,
	) {
		super(message);
	}
}

function isLoopback(host: string): boolean {
	return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function sameSecret(given: string | null | undefined, token: string): boolean {
	if (typeof given !== 'string') return false;
	const a = Buffer.from(given, 'utf8');
	const b = Buffer.from(token, 'utf8');
	return a.length === b.length && timingSafeEqual(a, b);
}

function baseHeaders(res: ServerResponse): void {
	res.setHeader('Cache-Control', 'no-store');
	res.setHeader('X-Content-Type-Options', 'nosniff');
	res.setHeader('Referrer-Policy', 'no-referrer');
	res.setHeader('X-Frame-Options', 'DENY');
	res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
	const text = JSON.stringify(body);
	res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
	res.end(text);
}

function param(url: URL, name: string): string | null {
	return url.searchParams.get(name);
}

function required(url: URL, name: string): string {
	const value = param(url, name);
	if (value === null || value === '') throw new HttpError(400, `the ${name} parameter is missing`);
	return value;
}

/** Starts the studio; resolves once it listens. */
export async function startStudio(options: StudioOptions): Promise<Studio> {
	const { source } = options;
	const store = source.store;
	const host = options.host ?? '127.0.0.1';
	const token = options.token ?? randomBytes(24).toString('base64url');
	const allowDelete = options.allowDelete === true;
	const now = options.now ?? Date.now;
	const limits: ListLimits = { ...DEFAULT_LIST_LIMITS, ...options.limits };
	const previewLimits = options.limits?.preview ?? DEFAULT_PREVIEW;
	const lister = new SessionLister(store, limits, now);
	const doctor = new DoctorJob(source.doctor ?? null);
	let allowedHosts: Set<string> | null = null;

	const listing = async (id: string): Promise<SessionListItem | null> => {
		const page = await store.list({ prefix: id, limit: 1 });
		const item = page.sessions[0];
		return item?.id === id ? item : null;
	};

	const api = async (req: IncomingMessage, url: URL): Promise<[number, unknown]> => {
		const route = `${req.method} ${url.pathname}`;
		switch (route) {
			case 'GET /api/info':
				return [200, { store: source.describe, backend: store.backend, layout: store.layout, allowDelete, doctor: doctor.current().state !== 'unavailable', limits }];
			case 'GET /api/sessions': {
				const sortText = param(url, 'sort') ?? 'id';
				if (sortText !== 'id' && sortText !== 'time' && sortText !== 'size') throw new HttpError(400, 'sort must be id, time or size');
				const sinceText = param(url, 'since') ?? '';
				let since: number | null = null;
				if (sinceText !== '') {
					since = parseSince(sinceText, now());
					if (since === null) throw new HttpError(400, `since ${JSON.stringify(sinceText)} is neither a date (2026-01-31) nor a duration (7d, 12h, 90m)`);
				}
				const limitText = param(url, 'limit');
				const limit = limitText === null ? PAGE_SIZE : Number(limitText);
				if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) throw new HttpError(400, `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
				const page = await lister.page({
					prefix: param(url, 'prefix') ?? '',
					search: param(url, 'q') ?? '',
					since,
					sort: sortText as SortKey,
					cursor: param(url, 'cursor') || null,
					limit,
				});
				return [200, { ...page, sessions: page.sessions.map((s) => ({ ...s, problems: doctor.problemsOf(s.id).length })) }];
			}
			case 'GET /api/session': {
				const id = required(url, 'id');
				const item = await listing(id);
				const doctorPart = () => ({ state: doctor.current().state, problems: doctor.problemsOf(id) });
				let data;
				try {
					data = await store.load(id);
				} catch (error) {
					// A session the store refuses to load is what doctor is for: show why, and its findings.
					if (isFluePersistError(error) && error.code !== 'INVALID_INPUT') return [200, { id, item, loadError: { code: error.code, message: error.message }, doctor: doctorPart() }];
					throw error;
				}
				if (data === null) throw new HttpError(404, `there is no session ${JSON.stringify(id)} in ${source.describe}`);
				return [200, { ...buildSessionView(id, data, { preview: previewLimits, tables: source.tables }), item, doctor: doctorPart() }];
			}
			case 'GET /api/entry': {
				const id = required(url, 'id');
				const index = Number(required(url, 'index'));
				const entryId = required(url, 'entry');
				const data = await store.load(id);
				if (data === null) throw new HttpError(404, `there is no session ${JSON.stringify(id)} in ${source.describe}`);
				const entry = Number.isInteger(index) ? data.entries[index] : undefined;
				if (entry?.id !== entryId) throw new HttpError(409, 'the session changed since the page showed it; open it again');
				return [200, { id, index, entry }];
			}
			case 'GET /api/doctor':
				return [200, doctor.current()];
			case 'POST /api/doctor':
				return [202, doctor.start()];
			case 'DELETE /api/session': {
				if (!allowDelete) throw new HttpError(403, 'this studio is read-only; start it with --allow-delete to delete sessions');
				const id = required(url, 'id');
				if (param(url, 'confirm') !== id) throw new HttpError(400, 'a delete must repeat the id in the confirm parameter');
				if ((await listing(id)) === null) throw new HttpError(404, `there is no session ${JSON.stringify(id)} in ${source.describe}`);
				await store.delete(id);
				lister.invalidate();
				return [200, { deleted: id }];
			}
		}
		const known = ['/api/info', '/api/sessions', '/api/session', '/api/entry', '/api/doctor'];
		if (known.includes(url.pathname)) throw new HttpError(405, `${req.method} is not allowed on ${url.pathname}`);
		throw new HttpError(404, `no such endpoint: ${url.pathname}`);
	};

	const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
		baseHeaders(res);
		const url = new URL(req.url ?? '/', 'http://studio.invalid');
		const isApi = url.pathname.startsWith('/api/');
		const refuse = (status: number, message: string) => {
			if (isApi) sendJson(res, status, { error: message });
			else {
				res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
				res.end(`${message}\n`);
			}
		};
		if (allowedHosts && !allowedHosts.has(String(req.headers.host ?? '').toLowerCase())) return refuse(403, 'this studio answers only to the address it printed');
		const given = isApi ? (req.headers[TOKEN_HEADER] as string | undefined) ?? param(url, 'token') : param(url, 'token');
		if (!sameSecret(given, token)) return refuse(403, 'this studio needs the token from the URL it printed (flue-persist studio prints it when it starts)');
		// Only the page itself sends requests that change something; a form or a script elsewhere
		// would carry its own origin. The page may have been opened as localhost or as 127.0.0.1.
		if (req.method !== 'GET' && req.headers.origin !== undefined && req.headers.origin !== `http://${req.headers.host}`) return refuse(403, 'cross-origin requests are refused');

		if (!isApi) {
			if (url.pathname !== '/') return refuse(404, 'not found');
			if (req.method !== 'GET') return refuse(405, 'only GET');
			const nonce = randomBytes(16).toString('base64');
			const html = renderPage(nonce);
			res.writeHead(200, {
				'Content-Type': 'text/html; charset=utf-8',
				'Content-Length': Buffer.byteLength(html),
				'Content-Security-Policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
			});
			res.end(html);
			return;
		}
		try {
			const [status, body] = await api(req, url);
			sendJson(res, status, body);
		} catch (error) {
			if (error instanceof HttpError) return sendJson(res, error.status, { error: error.message });
			if (error instanceof BadCursorError) return sendJson(res, 400, { error: error.message });
			if (isFluePersistError(error)) return sendJson(res, error.code === 'INVALID_INPUT' ? 400 : 500, { error: error.message, code: error.code });
			sendJson(res, 500, { error: error instanceof Error ? error.message : String(error) });
		}
	};

	const server: Server = createServer((req, res) => {
		handle(req, res).catch((error: unknown) => {
			if (!res.headersSent) sendJson(res, 500, { error: error instanceof Error ? error.message : String(error) });
			else res.destroy();
		});
	});
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen({ host, port: options.port ?? 0 }, () => {
			server.off('error', reject);
			resolve();
		});
	});
	const port = (server.address() as AddressInfo).port;
	const shownHost = host.includes(':') ? `[${host}]` : host;
	const origin = `http://${shownHost}:${port}`;
	if (isLoopback(host)) allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${shownHost}:${port}`]);

	return {
		url: `${origin}/?token=${encodeURIComponent(token)}`,
		origin,
		token,
		host,
		port,
		async close() {
			await doctor.stop();
			await new Promise<void>((resolve) => {
				server.close(() => resolve());
				server.closeAllConnections();
			});
		},
	};
}
