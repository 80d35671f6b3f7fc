// Module hooks that make the packages named in FLUE_PERSIST_TEST_HIDE (comma-separated) resolve as
// not installed, so that a process shows what a user without them gets. Loaded by
// hide-modules-register.mjs through `node --import`.
const hidden = new Set((process.env.FLUE_PERSIST_TEST_HIDE ?? '').split(',').filter(Boolean));

export async function resolve(specifier, context, next) {
	if (hidden.has(specifier)) {
		const error = new Error(`Cannot find package '${specifier}' (hidden by the test)`);
		error.code = 'ERR_MODULE_NOT_FOUND';
		throw error;
	}
	return next(specifier, context);
}
