// One environment variable, declared once: its name, how it parses, its default and its
// documentation. A tree of settings has the shape of the Config it parses into, so the type,
// the validation and docs/configuration.md all come from the same declarations.
import type { z } from 'zod';
import type { ValueParser } from './value-parsers.js';

class Setting<T> {
  constructor(
    readonly env: string,
    readonly schema: z.ZodType<T, string | undefined>,
    /** The default as the docs show it. */
    readonly shown: string,
    /** The accepted values as the docs show them. */
    readonly values: string,
  ) {}

  /** The documentation text, kept as the schema's zod description. */
  get doc(): string {
    return this.schema.description ?? '';
  }
}

/** Declares the variable `env`, parsed by `parser` and documented by `doc` (Markdown, links relative to docs/). */
export function setting<T>(env: string, parser: ValueParser<T>, doc: string, shown = parser.shown): Setting<T> {
  return new Setting(env, parser.schema.describe(doc), shown, parser.values);
}

export interface SettingTree {
  readonly [key: string]: Setting<unknown> | SettingTree;
}

/** The value a tree of settings parses into: same keys, each setting replaced by its value. */
export type Parsed<S> = { readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : Parsed<S[K]> };

/** Every setting of a tree, in declaration order. */
export function settingsOf(tree: SettingTree): Setting<unknown>[] {
  return Object.values(tree).flatMap((v) => (v instanceof Setting ? [v] : settingsOf(v)));
}

/** Rebuilds the tree's shape from values keyed by variable name; every level is frozen. */
export function assemble<S extends SettingTree>(tree: S, values: Readonly<Record<string, unknown>>): Parsed<S> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(tree)) out[key] = v instanceof Setting ? values[v.env] : assemble(v, values);
  return Object.freeze(out) as Parsed<S>;
}
