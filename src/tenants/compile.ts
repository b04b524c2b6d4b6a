// An endpoint ready for the bridge: globs and jsonata compiled once per registry version.
import jsonata from 'jsonata';
import { matchesAny } from '../glob.js';
import type { EndpointConfig } from './schema.js';

export interface CompiledEndpoint {
  config: EndpointConfig;
  subscribes(type: string): boolean;
  filter: jsonata.Expression | undefined;
  transform: jsonata.Expression | undefined;
}

export function compileEndpoint(config: EndpointConfig): CompiledEndpoint {
  const events = config.events;
  const all = events.includes('*');
  return {
    config,
    subscribes: all ? () => true : (type) => matchesAny(type, events),
    filter: config.filter === undefined ? undefined : jsonata(config.filter),
    transform: config.transform === undefined ? undefined : jsonata(config.transform),
  };
}
