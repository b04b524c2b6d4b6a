// Endpoints mostly repeat the same small parts: the same `events` list, empty `headers`, the
// default `retry`. At 100,000 endpoints a separate copy of each costs tens of MB, so a
// registry snapshot shares one copy per distinct value (and one subscription matcher per
// distinct events list). Stored configs are never mutated in place (every change builds a
// new object), which is what makes sharing safe. Scoped to one snapshot state: a full reload
// starts afresh, so values no endpoint uses any more do not pile up.
import type { EndpointConfig } from './schema.js';

const SHARED = ['events', 'headers', 'retry', 'signature'] as const;
/** Distinct values kept per kind of part; past it new values are simply not shared (bounded memory). */
const MAX_DISTINCT = 10_000;

export class SharedParts {
  private readonly values = new Map<string, unknown>();
  private readonly matchers = new Map<string, (type: string) => boolean>();

  /** The config with its common parts replaced by shared copies (same values). */
  intern(config: EndpointConfig): EndpointConfig {
    const out = config as Record<string, unknown>;
    for (const k of SHARED) {
      const v = out[k];
      if (v === undefined || v === null || typeof v !== 'object') continue;
      const key = `${k}\u0000${JSON.stringify(v)}`;
      const have = this.values.get(key);
      if (have !== undefined) out[k] = have;
      else if (this.values.size < MAX_DISTINCT * SHARED.length) this.values.set(key, v);
    }
    return config;
  }

  /** One matcher per distinct events list. */
  matcher(events: readonly string[], build: () => (type: string) => boolean): (type: string) => boolean {
    const key = events.join('\u0000');
    const m = this.matchers.get(key);
    if (m) return m;
    const built = build();
    if (this.matchers.size < MAX_DISTINCT) this.matchers.set(key, built);
    return built;
  }
}
