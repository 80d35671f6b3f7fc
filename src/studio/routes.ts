/**
 * The studio's JSON API: one function per endpoint, and the table that routes `METHOD /path` to
 * it. A new view of the page is a new entry in `ROUTES` and a handler beside the others.
 *
 * - `GET /api/info`: the store, and whether deletes are allowed;
 * - `GET /api/sessions?prefix=&q=&since=&sort=id|time|size&cursor=&limit=`: a page of the list;
 * - `GET /api/session?id=`: one session: its counts, growth and problems, and the first rows of its tree;
 * - `GET /api/rows?id=&rev=&offset=&limit=&from=`: more rows of that tree, or of the branch at entry `from`;
 * - `GET /api/entry?id=&index=&entry=`: one entry in full (the page shows previews);
 * - `GET /api/doctor`, `POST /api/doctor`: the state of the doctor run, or start one;
 * - `DELETE /api/session?id=&confirm=<id>`: with `allowDelete` only.
 */
import { isFluePersistError } from '../errors.js';
import { listingOf } from '../tools/transfer.js';
import type { FluePersistStore, SessionListItem } from '../types.js';
import type { SessionAnswer, StudioInfo } from './api-types.js';
import type { DoctorJob } from './doctor-job.js';
import { HttpError, param, pickRoute, required, sinceParam, sortParam, wholeNumber } from './http.js';
import type { ListLimits, SessionLister } from './session-list.js';
import { ROW_PAGE } from './session-view.js';
import type { ViewCache } from './view-cache.js';

/** What the handlers work on: one store, and the studio's state around it. */
export interface StudioContext {
	store: FluePersistStore;
	/** The store for people: URL (password hidden), table, layout. */
	describe: string;
	allowDelete: boolean;
	limits: ListLimits;
	lister: SessionLister;
	doctor: DoctorJob;
	views: ViewCache;
	now: () => number;
}

type Handler = (ctx: StudioContext, url: URL) => Promise<[status: number, body: unknown]>;

const LIST_PAGE = 100;
const MAX_LIST_PAGE = 500;
const MAX_ROW_PAGE = 2000;

/** The listing of exactly this id, or null. */
const listing = (ctx: StudioContext, id: string): Promise<SessionListItem | null> => listingOf(ctx.store, id);

const notThere = (ctx: StudioContext, id: string) => new HttpError(404, `there is no session ${JSON.stringify(id)} in ${ctx.describe}`);

const info: Handler = async (ctx) => {
	const body: StudioInfo = {
		store: ctx.describe,
		format: 'sessions',
		backend: ctx.store.backend,
		layout: ctx.store.layout,
		allowDelete: ctx.allowDelete,
		doctor: ctx.doctor.current().state !== 'unavailable',
		limits: ctx.limits,
	};
	return [200, body];
};

const sessions: Handler = async (ctx, url) => {
	const sort = sortParam(url, 'id');
	const since = sinceParam(url, ctx.now());
	const page = await ctx.lister.page({
		prefix: param(url, 'prefix') ?? '',
		search: param(url, 'q') ?? '',
		since,
		sort,
		cursor: param(url, 'cursor') || null,
		limit: wholeNumber(url, 'limit', LIST_PAGE, 1, MAX_LIST_PAGE),
	});
	return [200, { ...page, sessions: page.sessions.map((s) => ({ ...s, problems: ctx.doctor.problemsOf(s.id).length })) }];
};

const session: Handler = async (ctx, url) => {
	const id = required(url, 'id');
	const item = await listing(ctx, id);
	const doctor = { state: ctx.doctor.current().state, problems: ctx.doctor.problemsOf(id) };
	let data: Awaited<ReturnType<typeof ctx.store.load>>;
	try {
		data = await ctx.store.load(id);
	} catch (error) {
		// A session the store refuses to load is what doctor is for: show why, and its findings.
		if (isFluePersistError(error) && error.code !== 'INVALID_INPUT')
			return [200, { id, item, loadError: { code: error.code, message: error.message }, doctor } satisfies SessionAnswer];
		throw error;
	}
	if (data === null) throw notThere(ctx, id);
	return [200, { ...ctx.views.put(id, item, data).view(), item, doctor } satisfies SessionAnswer];
};

const rows: Handler = async (ctx, url) => {
	const id = required(url, 'id');
	const layout = await ctx.views.get(id, required(url, 'rev'), await listing(ctx, id));
	if (layout === null) throw new HttpError(409, 'the session changed since the page showed it; open it again');
	const fromText = param(url, 'from');
	const from = fromText === null || fromText === '' ? null : Number(fromText);
	if (from !== null && !layout.has(from)) throw new HttpError(400, 'from must be the position of an entry of the session');
	return [200, layout.rows(from, wholeNumber(url, 'offset', 0, 0, Number.MAX_SAFE_INTEGER), wholeNumber(url, 'limit', ROW_PAGE, 1, MAX_ROW_PAGE))];
};

const entry: Handler = async (ctx, url) => {
	const id = required(url, 'id');
	const index = Number(required(url, 'index'));
	const entryId = required(url, 'entry');
	const data = await ctx.store.load(id);
	if (data === null) throw notThere(ctx, id);
	const found = Number.isInteger(index) ? data.entries[index] : undefined;
	if (found?.id !== entryId) throw new HttpError(409, 'the session changed since the page showed it; open it again');
	return [200, { id, index, entry: found }];
};

const doctorState: Handler = async (ctx) => [200, ctx.doctor.current()];
const doctorStart: Handler = async (ctx) => [202, ctx.doctor.start()];

const remove: Handler = async (ctx, url) => {
	if (!ctx.allowDelete) throw new HttpError(403, 'this studio is read-only; start it with --allow-delete to delete sessions');
	const id = required(url, 'id');
	if (param(url, 'confirm') !== id) throw new HttpError(400, 'a delete must repeat the id in the confirm parameter');
	if (!(await ctx.store.has(id))) throw notThere(ctx, id);
	await ctx.store.delete(id);
	ctx.lister.invalidate();
	ctx.views.forget(id);
	return [200, { deleted: id }];
};

/** Every endpoint, by method and path. */
const ROUTES: Readonly<Record<string, Handler>> = {
	'GET /api/info': info,
	'GET /api/sessions': sessions,
	'GET /api/session': session,
	'GET /api/rows': rows,
	'GET /api/entry': entry,
	'GET /api/doctor': doctorState,
	'POST /api/doctor': doctorStart,
	'DELETE /api/session': remove,
};

/** Answers an API request: the status and the JSON body. */
export async function routeApi(ctx: StudioContext, method: string, url: URL): Promise<[number, unknown]> {
	return pickRoute(ROUTES, method, url)(ctx, url);
}
