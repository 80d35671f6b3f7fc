/** `flue-persist studio` on a Flue 2 database: the source the studio reads it through. */
import type { Flue2StudioSource } from '../../studio/flue2.js';
import type { Flue2Database } from './open.js';

/** The studio's view of an opened Flue 2 database: read through src/flue2, never written. */
export function flue2StudioSource(db: Flue2Database): Flue2StudioSource {
	return { format: 'flue2', sql: db.sql, inspection: db.inspection, describe: `${db.display} (Flue 2, format_version ${db.inspection.stamp ?? 'missing'})` };
}
