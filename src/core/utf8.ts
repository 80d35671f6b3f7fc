/** UTF-8 measures of text, as the databases count it. */

/**
 * Splits text into pieces of at most `maxBytes` UTF-8 bytes, never inside a surrogate pair
 * (a lone half would not survive the database's UTF-8 and the pieces would not rejoin).
 */
export function splitUtf8(text: string, maxBytes: number): string[] {
	if (maxBytes < 4) throw new RangeError('maxBytes must be at least 4');
	if (text.length * 3 <= maxBytes) return [text];
	const pieces: string[] = [];
	let start = 0;
	let bytes = 0;
	for (let i = 0; i < text.length; i++) {
		const c = text.charCodeAt(i);
		let width = c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
		let units = 1;
		if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
			const d = text.charCodeAt(i + 1);
			if (d >= 0xdc00 && d <= 0xdfff) {
				width = 4;
				units = 2;
			}
		}
		if (bytes + width > maxBytes) {
			pieces.push(text.slice(start, i));
			start = i;
			bytes = 0;
		}
		bytes += width;
		i += units - 1;
	}
	pieces.push(text.slice(start));
	return pieces;
}
