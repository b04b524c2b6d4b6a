// The package version (package.json), for `wss --version` and the User-Agent every delivery
// sends.
import { readFileSync } from 'node:fs';

// src/lib/ and dist/lib/ both sit two levels below package.json.
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export const VERSION: string = pkg.version;
export const USER_AGENT = `webhook-sender/${VERSION}`;
