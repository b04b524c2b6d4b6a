// Per-attempt signing cost (issue 12), in this process, with the worker's own code
// (dist/signing/signer.js): the keys are prepared once per registry snapshot, as in the worker,
// and each attempt signs a ~300-byte envelope body. Median of ctx.repeats runs.
import { randomBytes } from 'node:crypto';
import { round } from '../lib/stats.mjs';

const BODY = JSON.stringify({
  id: 'evt-1',
  type: 'order.updated',
  tenant: 'bench',
  createdAt: new Date(0).toISOString(),
  data: { orderId: 'o-1', status: 'shipped', pad: 'x'.repeat(160) },
});

export async function signing(ctx) {
  const { parseEndpoint } = await import('../../dist/tenants/schema.js');
  const { prepareSigner, signatureHeaders } = await import('../../dist/signing/signer.js');
  const { generateSecret } = await import('../../dist/signing/keys.js');
  const { rotateSecret } = await import('../../dist/signing/rotate.js');
  const url = 'https://example.com/hook';
  const xwss1 = parseEndpoint({ id: 'a', url, secret: 'bench-secret-0123456789' });
  const variants = [
    ['X-WSS, 1 secret', xwss1],
    [
      'X-WSS, 2 secrets (rotation overlap)',
      rotateSecret(xwss1, { secret: 'bench-secret-new-0123456789' }, 86_400_000, Date.now()),
    ],
    [
      'Standard Webhooks, 1 secret',
      parseEndpoint({
        id: 'b',
        url,
        secret: `whsec_${randomBytes(32).toString('base64')}`,
        signature: { scheme: 'standard-webhooks' },
      }),
    ],
    [
      'Ed25519 (v1a), 1 key',
      parseEndpoint({
        id: 'c',
        url,
        secret: generateSecret('standard-webhooks-ed25519'),
        signature: { scheme: 'standard-webhooks-ed25519' },
      }),
    ],
  ];
  const n = ctx.quick ? 5_000 : 50_000;
  const data = {};
  const rows = [];
  for (const [label, ep] of variants) {
    const runs = [];
    for (let r = 0; r < ctx.repeats; r++) {
      let sink = 0;
      for (let i = 0; i < 1_000; i++)
        sink += Object.keys(
          signatureHeaders(
            prepareSigner(ep, () => undefined),
            `evt-${i}`,
            BODY,
            Date.now(),
          ),
        ).length;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const h = signatureHeaders(
          prepareSigner(ep, () => undefined),
          `evt-${i}`,
          BODY,
          Date.now(),
        );
        sink += Object.keys(h).length;
      }
      runs.push(((performance.now() - t0) * 1000) / n);
      if (sink < 0) throw new Error('unreachable');
    }
    runs.sort((x, y) => x - y);
    const us = runs[Math.floor(runs.length / 2)];
    data[label] = round(us, 2);
    rows.push({ metric: `µs/attempt: ${label}`, value: us, digits: 2 });
  }
  rows.push({ metric: `(${BODY.length}-byte body, median of ${ctx.repeats} runs × ${n} attempts)`, value: '' });
  return { data: { bodyBytes: BODY.length, microsecondsPerAttempt: data }, rows };
}
