import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';

describe('parseConfig', () => {
  it('applies the documented defaults and freezes the result', () => {
    const c = parseConfig({});
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.redisUrlExplicit).toBe(false);
    expect(c.stream).toBe('wss:events');
    expect(c.deadLetterStream).toBe('wss:events:dead');
    expect(c.group).toBe('wss-bridge');
    expect(c.prefix).toBe('wss');
    expect(c.concurrency).toBe(50);
    expect(c.allowPrivateUrls).toBe(false);
    expect(c.port).toBe(3000);
    expect(c.logLevel).toBe('info');
    expect(c.shutdownGraceMs).toBe(25_000);
    expect(c.consumer).toMatch(/-\d+$/);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads explicit values', () => {
    const c = parseConfig({ REDIS_URL: 'redis://r:6380/2', WSS_CONCURRENCY: '8', WSS_ALLOW_PRIVATE_URLS: 'true', LOG_LEVEL: 'debug', WSS_CONSUMER: 'c1' });
    expect(c).toMatchObject({ redisUrl: 'redis://r:6380/2', redisUrlExplicit: true, concurrency: 8, allowPrivateUrls: true, logLevel: 'debug', consumer: 'c1' });
  });

  it.each([
    ['WSS_CONCURRENCY', 'lots'],
    ['WSS_CONCURRENCY', '0'],
    ['PORT', '70000'],
    ['WSS_ALLOW_PRIVATE_URLS', 'maybe'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['REDIS_URL', 'not a url'],
    ['LOG_LEVEL', 'loud'],
    ['WSS_DASHBOARD_AUTH', 'disabled'],
    ['WSS_DASHBOARD_PASSWORD', 'short-pw-11'],
    ['WSS_DASHBOARD_HOSTS', 'dash.internal, evil host'],
    ['WSS_DASHBOARD_HOSTS', 'http://dash.internal'],
  ])('refuses %s=%s naming the variable', (name, value) => {
    let err: unknown;
    try {
      parseConfig({ [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain(name);
    expect((err as ConfigError).problems).toHaveLength(1);
  });

  it('accepts a dashboard password of 12 characters and a list of dashboard hosts', () => {
    expect(parseConfig({ WSS_DASHBOARD_PASSWORD: 'twelve-chars' }).dashboardPassword).toBe('twelve-chars');
    expect(parseConfig({}).dashboardHosts).toBeUndefined();
    expect(parseConfig({ WSS_DASHBOARD_HOSTS: ' Dash.Internal:8080, 10.0.0.5,[::1]:3000 ,' }).dashboardHosts).toEqual(['dash.internal:8080', '10.0.0.5', '[::1]:3000']);
    expect(parseConfig({ WSS_DASHBOARD_HOSTS: '*' }).dashboardHosts).toEqual(['*']);
  });

  it('names every bad variable at once', () => {
    expect(() => parseConfig({ PORT: 'x', WSS_CONCURRENCY: 'y' })).toThrow(/PORT.*WSS_CONCURRENCY|WSS_CONCURRENCY.*PORT/);
  });

  it('reads the expression limits (docs/expressions.md), with their defaults', () => {
    expect(parseConfig({}).expr).toEqual({ timeoutMs: 50, breakAfter: 5, memoryMb: 64, threads: 2 });
    expect(parseConfig({ WSS_EXPR_TIMEOUT_MS: '200', WSS_EXPR_BREAK_AFTER: '2', WSS_EXPR_MEMORY_MB: '128', WSS_EXPR_THREADS: '1' }).expr).toEqual({ timeoutMs: 200, breakAfter: 2, memoryMb: 128, threads: 1 });
    expect(() => parseConfig({ WSS_EXPR_TIMEOUT_MS: '0' })).toThrow(/WSS_EXPR_TIMEOUT_MS/);
    expect(() => parseConfig({ WSS_EXPR_MEMORY_MB: '1' })).toThrow(/WSS_EXPR_MEMORY_MB/);
  });
});
