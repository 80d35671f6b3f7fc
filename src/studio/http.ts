/** The small pieces of HTTP the studio's server is made of: errors with a status, JSON answers, parameters. */
import type { ServerResponse } from 'node:http';
import { parseSince } from '../tools/format.js';
import type { SortKey } from './session-list.js';

/** An answer other than 200, with the message the page shows. */
export class HttpError extends Error {
	constructor(
		readonly status: number,
		message: string,
	) {
		super(message);
		this.name = 'HttpError';
	}
}

/** Headers on every answer: nothing cached, sniffed, framed, or sent on as a referrer. */
export function baseHeaders(res: ServerResponse): void {
	res.setHeader('Cache-Control', 'no-store');
	res.setHeader('X-Content-Type-Options', 'nosniff');
	res.setHeader('Referrer-Policy', 'no-referrer');
	res.setHeader('X-Frame-Options', 'DENY');
	res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

/** Sends `body` as JSON. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
	const text = JSON.stringify(body);
	res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
	res.end(text);
}

/** A query parameter, or null. */
export function param(url: URL, name: string): string | null {
	return url.searchParams.get(name);
}

/** A query parameter that must be there. */
export function required(url: URL, name: string): string {
	const value = param(url, name);
	if (value === null || value === '') throw new HttpError(400, `the ${name} parameter is missing`);
	return value;
}

/** A whole-number query parameter from `min` to `max`, or `fallback` when it is absent. */
export function wholeNumber(url: URL, name: string, fallback: number, min: number, max: number): number {
	const text = param(url, name);
	if (text === null || text === '') return fallback;
	const n = Number(text);
	if (!/^\d+$/.test(text) || n < min || n > max) throw new HttpError(400, `${name} must be a whole number from ${min} to ${max}`);
	return n;
}

/** The `sort` parameter of a list: `id`, `time` or `size`, or `fallback` when it is absent. */
export function sortParam(url: URL, fallback: SortKey): SortKey {
	const sort = param(url, 'sort') ?? fallback;
	if (sort !== 'id' && sort !== 'time' && sort !== 'size') throw new HttpError(400, 'sort must be id, time or size');
	return sort;
}

/** The `since` parameter of a list as a time (ms), a date or a duration before `now`; null when it is absent. */
export function sinceParam(url: URL, now: number): number | null {
	const text = param(url, 'since') ?? '';
	if (text === '') return null;
	const since = parseSince(text, now);
	if (since === null) throw new HttpError(400, `since ${JSON.stringify(text)} is neither a date (2026-01-31) nor a duration (7d, 12h, 90m)`);
	return since;
}

/**
 * The handler for `method` on the URL's path, from a table keyed `"<METHOD> <path>"`: 405 when the
 * path takes other methods, 404 when there is no such path (`where` is added to that message).
 */
export function pickRoute<H>(table: Readonly<Record<string, H>>, method: string, url: URL, where = ''): H {
	const handler = table[`${method} ${url.pathname}`];
	if (handler) return handler;
	if (Object.keys(table).some((route) => route.endsWith(` ${url.pathname}`))) throw new HttpError(405, `${method} is not allowed on ${url.pathname}`);
	throw new HttpError(404, `no such endpoint${where}: ${url.pathname}`);
}
