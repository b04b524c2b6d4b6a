// Bull Board over the delivery queues: every shard's (WSS_SHARDS), and those of other WSS_SHARDS
// values that still hold jobs, looked for every WSS_QUEUE_SCAN_MS. Job cards are titled "tenant/endpoint · type · event id"
// and show the job data in a fixed order with the body exactly as it is sent. Attempts,
// failedReason, the worker's per-attempt job.log lines and the return value show natively.
// Retry one / retry all failed go through BullMQ's job.retry; the worker signs every attempt
// afresh, so a retried delivery carries a new timestamp and signature.
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { BeforeHook, QueueAdapterOptions, QueueJobJson } from '@bull-board/api/typings/app';
import { ExpressAdapter } from '@bull-board/express';
import type { Router } from 'express';
import type { DeliveryQueues, QueueRef } from '../queue/delivery-queues.js';
import type { DeliveryJobData } from '../queue/job.js';
import { EVENTS_PATH } from './events-page.js';

export const BOARD_PATH = '/admin/queues';

// Refused even to an authenticated operator: adding or editing a job would get an arbitrary
// body signed with a tenant's secret outside the event path (events go through POST
// /api/events); emptying, obliterating or cleaning pending work silently drops deliveries; a
// concurrency or rate limit is stored in Redis, outlives restarts and overrides
// WSS_CONCURRENCY unseen; a new delay or priority can push a delivery back without end.
// Pausing, promoting, retrying failed jobs and cleaning finished ones stay (docs/security.md).
const REFUSED_BOARD_ROUTES: ReadonlyArray<{ method: string; route: string; why: string }> = [
  {
    method: 'post',
    route: '/api/queues/:queueName/add',
    why: 'jobs are created from events (POST /api/events), never by hand',
  },
  {
    method: 'patch',
    route: '/api/queues/:queueName/:jobId/update-data',
    why: 'a delivery body is sent as the event produced it',
  },
  { method: 'put', route: '/api/queues/:queueName/empty', why: 'emptying the queue would drop deliveries' },
  {
    method: 'put',
    route: '/api/queues/:queueName/obliterate',
    why: 'obliterating the queue would drop deliveries and their history',
  },
  {
    method: 'put',
    route: '/api/queues/:queueName/concurrency',
    why: 'a queue-wide concurrency limit would silently throttle every worker (set WSS_CONCURRENCY instead)',
  },
  {
    method: 'put',
    route: '/api/queues/:queueName/rate-limit',
    why: 'a queue-wide rate limit would silently throttle every delivery',
  },
  {
    method: 'patch',
    route: '/api/queues/:queueName/:jobId/delay',
    why: 'rescheduling a delivery by hand could postpone it without end',
  },
  {
    method: 'patch',
    route: '/api/queues/:queueName/:jobId/priority',
    why: 'deliveries are sent in order of their events, not by hand-set priority',
  },
];

// Bull Board's allowCompletedRetries only hides the buttons; the routes must refuse too.
const COMPLETED_RETRY = 'retrying a completed job would re-send a delivery the receiver already accepted';
// Only finished jobs may be cleaned (removed): anything else is a delivery still to be made.
const CLEANABLE = new Set(['completed', 'failed']);
const UNFINISHED_CLEAN = 'removing a job that is not completed or failed would drop a delivery';

const refuse = (why: string) => ({
  allow: false,
  status: 403 as const,
  message: `not allowed in webhook-sender: ${why}`,
});

const refuseDangerousRoutes: BeforeHook = async ({ method, route, request }) => {
  const refused = REFUSED_BOARD_ROUTES.find((r) => r.method === method && r.route === route);
  if (refused) return refuse(refused.why);
  if (method !== 'put') return undefined;
  const params = request.params as Record<string, string | undefined>;
  if (route === '/api/queues/:queueName/retry/:queueStatus' && params.queueStatus === 'completed')
    return refuse(COMPLETED_RETRY);
  if (route === '/api/queues/:queueName/clean/:queueStatus' && !CLEANABLE.has(params.queueStatus ?? ''))
    return refuse(UNFINISHED_CLEAN);
  const perJob = route === '/api/queues/:queueName/:jobId/retry' || route === '/api/queues/:queueName/:jobId/clean';
  if (perJob && params.queueName !== undefined && params.jobId !== undefined) {
    const job = await request.queues.get(params.queueName)?.getJob(params.jobId);
    // A missing job is left to Bull Board's own 404.
    const state = job ? await job.getState() : undefined;
    if (state === undefined) return undefined;
    if (route.endsWith('/retry') && state === 'completed') return refuse(COMPLETED_RETRY);
    if (route.endsWith('/clean') && !CLEANABLE.has(state)) return refuse(UNFINISHED_CLEAN);
  }
  return undefined;
};

function isDeliveryData(d: unknown): d is DeliveryJobData {
  return (
    d !== null &&
    typeof d === 'object' &&
    typeof (d as DeliveryJobData).tenant === 'string' &&
    typeof (d as DeliveryJobData).endpoint === 'string'
  );
}

export function jobTitle(job: Pick<QueueJobJson, 'data' | 'name'>): string {
  const d: unknown = job.data;
  return isDeliveryData(d) ? `${d.tenant}/${d.endpoint} · ${d.type} · ${d.eventId}` : job.name;
}

/** The job data as the dashboard shows it: ids first, a readable time, the body untouched. */
export function jobDataView(data: unknown): unknown {
  if (!isDeliveryData(data)) return data;
  return {
    tenant: data.tenant,
    endpoint: data.endpoint,
    eventId: data.eventId,
    type: data.type,
    createdAt: Number.isFinite(data.createdAt) ? new Date(data.createdAt).toISOString() : data.createdAt,
    ...(data.replay === true ? { replay: true } : {}),
    body: data.body,
    // Bull Board renders job data as JSON text, with no links: the path to open is the most it allows.
    eventPage: `${EVENTS_PATH}?id=${encodeURIComponent(data.eventId)}`,
  };
}

/** The board's title of a queue: "Webhook deliveries", with its shard when there are several. */
export function queueDisplayName(ref: Pick<QueueRef, 'name' | 'shard'>, shards: number): string {
  if (ref.shard === undefined) return `Webhook deliveries (${ref.name}, another WSS_SHARDS: drained by workers)`;
  return shards === 1 ? 'Webhook deliveries' : `Webhook deliveries, shard ${ref.shard + 1} of ${shards}`;
}

function adapterOf(ref: QueueRef, prefix: string, shards: number): BullMQAdapter {
  const options: Partial<QueueAdapterOptions> & { allowCompletedRetries: boolean } = {
    displayName: queueDisplayName(ref, shards),
    description: `One job per event and endpoint (BullMQ prefix "${prefix}", queue "${ref.name}"). Delayed = scheduled retries, failed = gave up: retry them here.`,
    allowRetries: true,
    // Retrying a completed job would re-send a delivery the receiver already accepted.
    allowCompletedRetries: false,
  };
  const adapter = new BullMQAdapter(ref.queue, options);
  adapter.setFormatter('name', (job: QueueJobJson) => jobTitle(job));
  adapter.setFormatter('data', jobDataView);
  return adapter;
}

/** Every state a job can be in: a foreign queue is listed while it holds any job at all. */
const ANY_STATE = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;

export interface BullBoard {
  router: Router;
  /** Looks for queues of other WSS_SHARDS now (also done every scanMs). */
  rescan(): Promise<void>;
  stop(): void;
}

export function bullBoardRouter(queues: DeliveryQueues, scanMs: number): BullBoard {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  const shards = queues.current.length;
  const board = createBullBoard({
    queues: queues.current.map((r) => adapterOf(r, queues.prefix, shards)),
    serverAdapter,
    options: {
      // The header's menu of links: the only place Bull Board lets a page link out.
      uiConfig: {
        boardTitle: 'webhook-sender',
        hideDocsLink: true,
        miscLinks: [{ text: 'Event lookup', url: EVENTS_PATH }],
      },
      handlerHooks: { before: refuseDangerousRoutes },
    },
  });
  const listed = new Set<string>();
  const rescan = async () => {
    const foreign = await queues.foreignWith(ANY_STATE);
    const now = new Set(foreign.map((r) => r.name));
    for (const r of foreign) if (!listed.has(r.name)) board.addQueue(adapterOf(r, queues.prefix, shards));
    for (const name of listed) if (!now.has(name)) board.removeQueue(name);
    listed.clear();
    for (const name of now) listed.add(name);
  };
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = () => {
    rescan()
      .catch(() => undefined) // Redis down: the list stays as it was
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, scanMs).unref();
      });
  };
  tick();
  return {
    router: serverAdapter.getRouter() as Router,
    rescan,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
