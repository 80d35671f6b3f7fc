/**
 * Requests to the studio's API. The page proves who it is with the HttpOnly cookie the studio set
 * when it served the page: the script never sees the token.
 */
import type { DoctorStatus, RowPage, SessionAnswer, SessionListPage, StudioInfo } from '../api-types.js';

/** An answer other than 2xx, with the studio's message. */
class ApiError extends Error {
	constructor(
		message: string,
		readonly status: number,
	) {
		super(message);
		this.name = 'ApiError';
	}
}

type Params = Record<string, string | number | null | undefined>;

/** Sends a request and returns its JSON body. */
export async function api<T>(method: string, path: string, params: Params = {}): Promise<T> {
	const url = new URL(path, location.origin);
	for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') url.searchParams.set(k, String(v));
	const response = await fetch(url.toString(), { method, cache: 'no-store', credentials: 'same-origin' });
	let body: unknown = null;
	try {
		body = await response.json();
	} catch {
		body = null;
	}
	if (!response.ok) throw new ApiError((body as { error?: string } | null)?.error ?? `the studio answered ${response.status}`, response.status);
	return body as T;
}

/** One entry as stored. */
export interface StoredEntry {
	id: string;
	summary?: unknown;
	message?: { content?: unknown };
	[key: string]: unknown;
}

export const getInfo = () => api<StudioInfo>('GET', '/api/info');
export const getDoctor = () => api<DoctorStatus>('GET', '/api/doctor');
export const startDoctor = () => api<DoctorStatus>('POST', '/api/doctor');
export const getSessions = (params: Params) => api<SessionListPage>('GET', '/api/sessions', params);
export const getSession = (id: string) => api<SessionAnswer>('GET', '/api/session', { id });
export const getRows = (id: string, rev: string, from: number | null, offset: number, limit: number) =>
	api<RowPage>('GET', '/api/rows', { id, rev, from, offset, limit });
export const deleteSession = (id: string) => api<{ deleted: string }>('DELETE', '/api/session', { id, confirm: id });
export async function getEntry(sessionId: string, index: number, entryId: string): Promise<StoredEntry> {
	return (await api<{ entry: StoredEntry }>('GET', '/api/entry', { id: sessionId, index, entry: entryId })).entry;
}
