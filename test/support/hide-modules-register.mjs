// `node --import <this file>`: registers hide-modules.mjs as module hooks.
import { register } from 'node:module';

register(new URL('./hide-modules.mjs', import.meta.url));
