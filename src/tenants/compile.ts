// An endpoint ready for the bridge: globs compiled once per registry version. Filters and
// transforms stay text: they are compiled and run in the expression pool's threads.
import { matchesAny } from './glob.js';
import type { EndpointConfig } from './schema.js';

export interface CompiledEndpoint {
  config: EndpointConfig;
  subscribes(type: string): boolean;
  /** jsonata source, evaluated in the expression pool. */
  filter: string | undefined;
  transform: string | undefined;
}

export function compileEndpoint(config: EndpointConfig): CompiledEndpoint {
  const events = config.events;
  const all = events.includes('*');
  return {
    config,
    subscribes: all ? () => true : (type) => matchesAny(type, events),
    filter: config.filter,
    transform: config.transform,
  };
}
