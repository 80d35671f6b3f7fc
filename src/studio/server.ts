/**
 * The studio's web server on node:http: the page, its script, and the JSON API of routes.ts over
 * one opened store, or of flue2.ts over a Flue 2 database, which it only reads. Who may ask is
 * auth.ts's business; sessions are only read unless the studio was started with `allowDelete`,
 * and a delete must repeat the id it deletes.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, isFluePersistError } from '../errors.js';
import { sessionTablesOf } from '../sql/sqlite-schema.js';
import type { OpenedStore } from '../tools/open-store.js';
import type { FluePersistStore } from '../types.js';
import { StudioAuth } from './auth.js';
import { clientScript } from './client-bundle.js';
import { type DoctorTarget, sessionDoctorJob } from './doctor-job.js';
import { type Flue2StudioSource, flue2Api, isFlue2Source } from './flue2.js';
import { baseHeaders, HttpError, sendJson } from './http.js';
import { renderPage, SCRIPT_PATH } from './page.js';
import { routeApi, type StudioContext } from './routes.js';
import { BadCursorError, DEFAULT_LIST_LIMITS, type ListLimits, SessionLister } from './session-list.js';
import { DEFAULT_PREVIEW, type PreviewLimits } from './session-view.js';
import { ViewCache } from './view-cache.js';

export { TOKEN_HEADER } from './auth.js';

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
		tables: sessionTablesOf(table, layout),
	};
}

/** How `startStudio` listens and what it allows. */
export interface StudioOptions {
	/** A session store, or a Flue 2 database (read-only: `allowDelete` is refused). */
	source: StudioSource | Flue2StudioSource;
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
	/** Current time in milliseconds (for `since`, and the lifetime of one-time codes). */
	now?: () => number;
}

/** A running studio. */
export interface Studio {
	/** The page, with the token: what a person opens (printed on stdout, never put on a command line). */
	url: string;
	/** `http://host:port`, without the token. */
	origin: string;
	token: string;
	host: string;
	port: number;
	/** The page with a code that opens it once, within a few minutes: what the browser is started on. */
	oneTimeUrl(): string;
	/** Stops listening, ends open connections and stops a doctor run. The store stays open. */
	close(): Promise<void>;
}

function isLoopback(host: string): boolean {
	return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function refuse(res: ServerResponse, isApi: boolean, status: number, message: string): void {
	if (isApi) {
		sendJson(res, status, { error: message });
		return;
	}
	res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
	res.end(`${message}\n`);
}

/** The page, and the cookie that lets it in from now on. */
function sendPage(res: ServerResponse, auth: StudioAuth): void {
	const nonce = randomBytes(16).toString('base64');
	const html = renderPage(nonce);
	res.writeHead(200, {
		'Content-Type': 'text/html; charset=utf-8',
		'Content-Length': Buffer.byteLength(html),
		'Set-Cookie': auth.cookie(),
		'Content-Security-Policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
	});
	res.end(html);
}

async function sendScript(res: ServerResponse): Promise<void> {
	const script = await clientScript();
	res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Content-Length': Buffer.byteLength(script) });
	res.end(script);
}

/** An API error as the page shows it: the status of the kind of failure, and its message. */
function sendError(res: ServerResponse, error: unknown): void {
	if (error instanceof HttpError) sendJson(res, error.status, { error: error.message });
	else if (error instanceof BadCursorError) sendJson(res, 400, { error: error.message });
	else if (isFluePersistError(error)) sendJson(res, error.code === 'INVALID_INPUT' ? 400 : 500, { error: error.message, code: error.code });
	else sendJson(res, 500, { error: error instanceof Error ? error.message : String(error) });
}

type Router = (method: string, url: URL) => Promise<[number, unknown]>;

/** Answers one request: who asks, then the page, its script, or the API. */
async function handle(route: Router, auth: StudioAuth, req: IncomingMessage, res: ServerResponse): Promise<void> {
	baseHeaders(res);
	const url = new URL(req.url ?? '/', 'http://studio.invalid');
	const isApi = url.pathname.startsWith('/api/');
	const isPage = url.pathname === '/';
	const problem = auth.hostProblem(req);
	if (problem !== null) return refuse(res, isApi, 403, problem);
	if (auth.check(req, url, isPage && req.method === 'GET') === null) {
		return refuse(res, isApi, 403, 'this studio needs the URL it printed (flue-persist studio prints it when it starts); a one-time link works once');
	}
	if (!isApi) {
		if (!isPage && url.pathname !== SCRIPT_PATH) return refuse(res, false, 404, 'not found');
		if (req.method !== 'GET') return refuse(res, false, 405, 'only GET');
		return isPage ? sendPage(res, auth) : sendScript(res);
	}
	try {
		const [status, body] = await route(req.method ?? 'GET', url);
		sendJson(res, status, body);
	} catch (error) {
		sendError(res, error);
	}
}

async function listen(server: Server, host: string, port: number): Promise<number> {
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen({ host, port }, () => {
			server.off('error', reject);
			resolve();
		});
	});
	return (server.address() as AddressInfo).port;
}

function sessionContext(source: StudioSource, options: StudioOptions, limits: ListLimits, preview: PreviewLimits, now: () => number): StudioContext {
	return {
		store: source.store,
		describe: source.describe,
		allowDelete: options.allowDelete === true,
		limits,
		lister: new SessionLister(source.store, limits, now),
		doctor: sessionDoctorJob(source.doctor ?? null),
		views: new ViewCache(source.store, { preview, tables: source.tables }, now),
		now,
	};
}

/** Starts the studio; resolves once it listens. */
export async function startStudio(options: StudioOptions): Promise<Studio> {
	const { source } = options;
	const host = options.host ?? '127.0.0.1';
	const now = options.now ?? Date.now;
	const limits: ListLimits = { ...DEFAULT_LIST_LIMITS, ...options.limits };
	const preview = options.limits?.preview ?? DEFAULT_PREVIEW;
	const auth = new StudioAuth(options.token, now);
	let route: Router;
	let stopDoctor: () => Promise<void>;
	if (isFlue2Source(source)) {
		if (options.allowDelete)
			throw new ConfigError(`${source.describe} is a Flue 2 database: the studio only reads it. Start the studio without --allow-delete.`);
		const api = flue2Api(source, { now, preview: options.limits?.preview });
		route = (method, url) => api.route(method, url);
		stopDoctor = () => api.doctor.stop();
	} else {
		const ctx = sessionContext(source, options, limits, preview, now);
		route = (method, url) => routeApi(ctx, method, url);
		stopDoctor = () => ctx.doctor.stop();
	}

	const server = createServer((req, res) => {
		handle(route, auth, req, res).catch((error: unknown) => {
			if (!res.headersSent) sendJson(res, 500, { error: error instanceof Error ? error.message : String(error) });
			else res.destroy();
		});
	});
	const port = await listen(server, host, options.port ?? 0);
	const shownHost = host.includes(':') ? `[${host}]` : host;
	const origin = `http://${shownHost}:${port}`;
	auth.listening(port, isLoopback(host) ? [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${shownHost}:${port}`] : null);

	return {
		url: `${origin}/?token=${encodeURIComponent(auth.token)}`,
		origin,
		token: auth.token,
		host,
		port,
		oneTimeUrl: () => `${origin}/?code=${encodeURIComponent(auth.oneTimeCode())}`,
		async close() {
			await stopDoctor();
			await new Promise<void>((resolve) => {
				server.close(() => resolve());
				server.closeAllConnections();
			});
		},
	};
}
