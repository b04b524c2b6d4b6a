// Writes docs/configuration.md from src/config/settings.ts (run `npm run docs:config`, which builds first).
import { writeFileSync } from 'node:fs';
import { configurationMarkdown } from '../dist/config/docs-table.js';

const target = new URL('../docs/configuration.md', import.meta.url);
writeFileSync(target, configurationMarkdown());
console.log(`wrote ${target.pathname}`);
