/**
 * Building the page from untrusted text. Every element is made with `createElement` and every
 * text goes in as a text node, never as HTML. Text is shown as `show` prints it: control
 * characters, line separators and bidirectional overrides become visible escapes (`escapeText`),
 * so that a session id cannot reorder or hide what the page says around it; blocks of text keep
 * their line breaks and tabs. The elements that hold such text also isolate its direction (CSS
 * `unicode-bidi: isolate`), so a right-to-left id does not pull the punctuation around it along.
 */
import { escapeText } from '../../tools/format.js';

/** A value `h` turns into children: elements, texts, lists of them; null and false are skipped. */
export type Child = Node | string | number | null | undefined | false | Child[];

/** Attributes of `h`: `text` (escaped one-line text), `block` (escaped text with its line breaks), `class`, `on<event>`, and any other attribute. */
export type Attrs = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

/** Text for one line: every control character as an escape. */
export const shown = (text: string): string => escapeText(text);

/** Text for a block: line breaks and tabs kept, every other control character as an escape. */
export const shownBlock = (text: string): string =>
	text
		.split(/(\n|\t)/)
		.map((part) => (part === '\n' || part === '\t' ? part : escapeText(part)))
		.join('');

export function append<E extends Node>(el: E, children: Child[]): E {
	for (const c of children) {
		if (c === null || c === undefined || c === false) continue;
		if (Array.isArray(c)) append(el, c);
		else if (typeof c === 'string' || typeof c === 'number') el.appendChild(document.createTextNode(shown(String(c))));
		else el.appendChild(c);
	}
	return el;
}

function setAttrs<E extends Element>(el: E, attrs: Attrs | undefined): E {
	if (!attrs) return el;
	for (const [k, v] of Object.entries(attrs)) {
		if (v === null || v === undefined || v === false) continue;
		if (k === 'text') el.textContent = shown(String(v));
		else if (k === 'block') el.textContent = shownBlock(String(v));
		else if (k === 'title') el.setAttribute('title', shown(String(v)));
		else if (typeof v === 'function') el.addEventListener(k.slice(2), v);
		else el.setAttribute(k, v === true ? '' : String(v));
	}
	return el;
}

/** An HTML element. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs, children: Child[] = []): HTMLElementTagNameMap[K] {
	return append(setAttrs(document.createElement(tag), attrs), children);
}

/** An SVG element. */
export function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs?: Attrs, children: Child[] = []): SVGElementTagNameMap[K] {
	return append(setAttrs(document.createElementNS('http://www.w3.org/2000/svg', tag), attrs), children);
}

/** The element with this id, which the page's HTML always has. */
export function byId<E extends HTMLElement = HTMLElement>(id: string): E {
	const el = document.getElementById(id);
	if (!el) throw new Error(`the page has no #${id}`);
	return el as E;
}

/** A labelled value in a row of chips. */
export function chip(label: string, value: string): HTMLSpanElement {
	return h('span', { class: 'chip' }, [`${label} `, h('b', { text: value })]);
}
