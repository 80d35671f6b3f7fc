/**
 * The table names of a SQLite file, read from its schema b-tree with plain file reads. Deciding
 * whether a file is a Flue 2 database must not open it through SQLite: a read-only connection to
 * a WAL-mode file creates `-wal` and `-shm` files beside it, and the alternative (reading the
 * whole file into memory) is too costly for a question asked of every SQLite URL. Only the main
 * file is read, so this is exact when no `-wal` file holds newer pages (the caller checks).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

function varint(buf: Buffer, at: number): [value: number, length: number] {
	let value = 0;
	for (let i = 0; i < 8; i++) {
		const byte = buf[at + i]!;
		value = value * 128 + (byte & 0x7f);
		if ((byte & 0x80) === 0) return [value, i + 1];
	}
	return [value * 256 + buf[at + 8]!, 9];
}

/**
 * The names of the tables in a SQLite file's schema, or null when the file is not a SQLite
 * database this reader understands (the caller then opens it the ordinary way).
 */
export function sqliteFileTables(file: string): Set<string> | null {
	const fd = openSync(file, 'r');
	try {
		const stat = fstatSync(fd);
		// A directory opens for reading too; what is not a file is no SQLite database.
		if (!stat.isFile()) return null;
		const size = stat.size;
		const header = Buffer.alloc(100);
		if (size < 100 || readSync(fd, header, 0, 100, 0) !== 100 || header.toString('latin1', 0, 16) !== 'SQLite format 3\u0000') return null;
		const rawPageSize = header.readUInt16BE(16);
		const pageSize = rawPageSize === 1 ? 65_536 : rawPageSize;
		const usable = pageSize - header[20]!;
		const pages = Math.floor(size / pageSize);
		const maxLocal = usable - 35;
		const minLocal = Math.floor(((usable - 12) * 32) / 255) - 23;
		const names = new Set<string>();
		const seen = new Set<number>();
		const stack = [1];
		while (stack.length > 0) {
			const page = stack.pop()!;
			// A loop or a page number past the end: not a file this reader can trust.
			if (page < 1 || page > pages || seen.has(page)) return null;
			seen.add(page);
			const buf = Buffer.alloc(pageSize);
			readSync(fd, buf, 0, pageSize, (page - 1) * pageSize);
			const start = page === 1 ? 100 : 0;
			const type = buf[start]!;
			const cells = buf.readUInt16BE(start + 3);
			const headerSize = type === 5 ? 12 : 8;
			if (type === 5) stack.push(buf.readUInt32BE(start + 8));
			else if (type !== 13) return null;
			for (let c = 0; c < cells; c++) {
				const cell = buf.readUInt16BE(start + headerSize + c * 2);
				if (type === 5) {
					stack.push(buf.readUInt32BE(cell));
					continue;
				}
				const [payload, a] = varint(buf, cell);
				const [, b] = varint(buf, cell + a);
				let local = payload;
				if (payload > maxLocal) {
					const k = minLocal + ((payload - minLocal) % (usable - 4));
					local = k <= maxLocal ? k : minLocal;
				}
				let record = buf.subarray(cell + a + b, cell + a + b + local);
				// A long row continues on overflow pages; the name may be cut at the local part.
				if (local < payload) {
					const parts = [record];
					let have = local;
					let next = buf.readUInt32BE(cell + a + b + local);
					while (have < Math.min(payload, 4096) && next !== 0) {
						if (next > pages || seen.has(next)) return null;
						const overflow = Buffer.alloc(pageSize);
						readSync(fd, overflow, 0, pageSize, (next - 1) * pageSize);
						const take = Math.min(usable - 4, payload - have);
						parts.push(overflow.subarray(4, 4 + take));
						have += take;
						next = overflow.readUInt32BE(0);
					}
					record = Buffer.concat(parts);
				}
				// sqlite_master rows: (type, name, tbl_name, rootpage, sql); type and name come first.
				const [headerLength, h] = varint(record, 0);
				let at = h;
				const serials: number[] = [];
				while (at < headerLength && serials.length < 2) {
					const [serial, n] = varint(record, at);
					serials.push(serial);
					at += n;
				}
				if (serials.length < 2 || serials.some((s) => s < 13 || s % 2 === 0)) continue;
				const typeLength = (serials[0]! - 13) / 2;
				const nameLength = (serials[1]! - 13) / 2;
				const body = headerLength;
				if (body + typeLength + nameLength > record.length) return null;
				if (record.toString('utf8', body, body + typeLength) === 'table') names.add(record.toString('utf8', body + typeLength, body + typeLength + nameLength));
			}
		}
		return names;
	} finally {
		closeSync(fd);
	}
}
