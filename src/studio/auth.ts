/**
 * Who may talk to the studio. Every request proves it knows the studio's secret token: in the
 * `x-studio-token` header (scripts), in `?token=` (the URL printed on stdout), or in an HttpOnly
 * cookie that the page gets the first time it is opened with the token or with a one-time code.
 *
 * The browser is never started with the token on its command line, where other users of the
 * machine could read it (`ps`): it is started on a private file that sends it on with a one-time
 * code (see open-browser.ts). A code works once, for a few minutes, and only turns into the cookie.
 *
 * On a loopback address the `Host` header must name that address too, which keeps out web pages
 * that point their own host name at 127.0.0.1 (DNS rebinding); a request that changes something
 * must come from the page's own origin.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The header scripts send the token in. */
export const TOKEN_HEADER = 'x-studio-token';

/** How long a one-time code for the browser stays good. */
export const CODE_LIFETIME_MS = 5 * 60_000;

function sameSecret(given: string | null | undefined, secret: string): boolean {
	if (typeof given !== 'string') return false;
	const a = Buffer.from(given, 'utf8');
	const b = Buffer.from(secret, 'utf8');
	return a.length === b.length && timingSafeEqual(a, b);
}

function cookieValue(req: IncomingMessage, name: string): string | null {
	for (const part of String(req.headers.cookie ?? '').split(';')) {
		const eq = part.indexOf('=');
		if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
	}
	return null;
}

/** What a request showed: the token (or the cookie), a one-time code now used up, or nothing. */
export type Credential = 'token' | 'code' | null;

/** The token, the one-time codes and the cookie of one running studio. */
export class StudioAuth {
	private readonly codes = new Map<string, number>();
	private allowedHosts: Set<string> | null = null;
	/** Cookies are per host, not per port: two studios on one machine must not share one. */
	private cookieName = 'flue_persist_studio';

	constructor(
		readonly token: string = randomBytes(24).toString('base64url'),
		private readonly now: () => number = Date.now,
	) {}

	/** Called once the port is known. `loopbackHosts`: the `host:port` names a loopback studio answers to. */
	listening(port: number, loopbackHosts: string[] | null): void {
		this.cookieName = `flue_persist_studio_${port}`;
		this.allowedHosts = loopbackHosts ? new Set(loopbackHosts) : null;
	}

	/** A code that opens the page once, within `CODE_LIFETIME_MS`. */
	oneTimeCode(): string {
		const code = randomBytes(24).toString('base64url');
		this.codes.set(code, this.now() + CODE_LIFETIME_MS);
		return code;
	}

	/** Why a request is refused before anything else is looked at, or null. */
	hostProblem(req: IncomingMessage): string | null {
		if (this.allowedHosts && !this.allowedHosts.has(String(req.headers.host ?? '').toLowerCase())) return 'this studio answers only to the address it printed';
		// Only the page itself sends requests that change something; a form or a script elsewhere
		// would carry its own origin. The page may have been opened as localhost or as 127.0.0.1.
		if (req.method !== 'GET' && req.headers.origin !== undefined && req.headers.origin !== `http://${req.headers.host}`)
			return 'cross-origin requests are refused';
		return null;
	}

	/** Checks a request; a one-time code it carries (pages only) is used up by this call. */
	check(req: IncomingMessage, url: URL, page: boolean): Credential {
		const header = req.headers[TOKEN_HEADER];
		if (sameSecret(typeof header === 'string' ? header : null, this.token)) return 'token';
		if (sameSecret(url.searchParams.get('token'), this.token)) return 'token';
		if (sameSecret(cookieValue(req, this.cookieName), this.token)) return 'token';
		const code = url.searchParams.get('code');
		if (page && code !== null) {
			const expires = this.codes.get(code);
			this.codes.delete(code);
			if (expires !== undefined && expires >= this.now()) return 'code';
		}
		return null;
	}

	/** The cookie that lets the page in from now on; the page's script cannot read it. */
	cookie(): string {
		return `${this.cookieName}=${this.token}; HttpOnly; SameSite=Strict; Path=/`;
	}
}
