// The routes an express router answers, read from the router itself (its layers), with the
// paths of routers mounted inside it. The tenant isolation test walks these lists, so a route
// added later is tested without anyone adding it to a list.
import type { Router } from 'express';

export interface RouteInfo {
  method: string;
  path: string;
}

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  rawPath?: string | string[];
  handle?: { stack?: Layer[] };
}

export function routesOf(router: Router, prefix = ''): RouteInfo[] {
  const out: RouteInfo[] = [];
  for (const layer of (router as unknown as { stack: Layer[] }).stack) {
    if (layer.route) {
      for (const [m, on] of Object.entries(layer.route.methods))
        if (on && m !== '_all') out.push({ method: m.toUpperCase(), path: prefix + layer.route.path });
    } else if (layer.handle?.stack && typeof layer.rawPath === 'string') {
      out.push(...routesOf(layer.handle as unknown as Router, prefix + (layer.rawPath === '/' ? '' : layer.rawPath)));
    }
  }
  return out;
}
