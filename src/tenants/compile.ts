// An endpoint ready for the bridge: globs compiled once per registry version. Filters and
// transforms stay text: they are compiled and run in the expression pool's threads.
import { matchesAny } from './glob.js';
import type { EndpointConfig } from './schema.js';
import type { SharedParts } from './shared-parts.js';

export interface CompiledEndpoint {
  config: EndpointConfig;
  subscribes(type: string): boolean;
  /** jsonata source, evaluated in the expression pool. */
  filter: string | undefined;
  transform: string | undefined;
  /** jsonata giving the ordering key of events that carry none (docs/ordering.md). */
  orderingKey?: string | undefined;
}

const everything = () => true;

/** With `shared` (the registry's), identical parts and matchers are shared between endpoints. */
export function compileEndpoint(config: EndpointConfig, shared?: SharedParts): CompiledEndpoint {
  const ep = shared ? shared.intern(config) : config;
  const events = ep.events;
  const build = () => (events.includes('*') ? everything : (type: string) => matchesAny(type, events));
  return {
    config: ep,
    subscribes: shared ? shared.matcher(events, build) : build(),
    filter: ep.filter,
    transform: ep.transform,
    ...(ep.orderingKey === undefined ? {} : { orderingKey: ep.orderingKey }),
  };
}
