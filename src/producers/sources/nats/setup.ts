// The stream and the durable pull consumer, created when absent and checked when present.
// - A stream the bridge creates is a work queue on file storage: a message stays until it is
//   acknowledged, then it is removed (no limits: nothing unacknowledged is ever dropped).
// - The consumer has explicit acks and max_deliver -1. JetStream's own max_deliver would stop
//   delivering a message silently once reached (it stays in the stream, never seen again); the
//   bridge counts deliveries itself (num_delivered) and dead-letters a message as `poison` past
//   WSS_MAX_ENTRY_DELIVERIES, so an existing consumer with a limit is set back to -1 at start.
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import type { ConsumerConfig, ConsumerInfo, JetStreamManager, StreamInfo } from '@nats-io/jetstream';
import { ConfigError, errorMessage } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';

export interface JetStreamNames {
  stream: string;
  subjects: readonly string[];
  consumer: string;
  ackWaitMs: number;
}

const NS_PER_MS = 1_000_000;

export const isApiError = (err: unknown, code: number): boolean =>
  err instanceof JetStreamApiError && err.code === code;

function refused(line: string): never {
  throw new ConfigError(line, [line]);
}

/** The stream's info; created (work queue, file storage) when absent. */
export async function ensureStream(jsm: JetStreamManager, n: JetStreamNames, log: Logger): Promise<StreamInfo> {
  try {
    return await jsm.streams.info(n.stream);
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
  }
  try {
    const info = await jsm.streams.add({
      name: n.stream,
      subjects: [...n.subjects],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
    });
    log.info({ stream: n.stream, subjects: n.subjects }, 'nats: created the stream (work queue, file storage)');
    return info;
  } catch (err) {
    // Another process created it meanwhile: use it.
    if (/already in use/i.test(errorMessage(err))) return jsm.streams.info(n.stream);
    refused(`WSS_NATS_STREAM=${n.stream}: cannot create the stream for ${n.subjects.join(', ')}: ${errorMessage(err)}`);
  }
}

/** True for a nats-server version (`2.9.10`) at least `major.minor`. */
export function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map((x) => Number.parseInt(x, 10));
  return a > major || (a === major && b >= minor);
}

/** The consumer's filter: none when the subjects are all of the stream's. */
export function wantedFilter(subjects: readonly string[], streamSubjects: readonly string[]): string[] {
  const same = subjects.length === streamSubjects.length && subjects.every((s) => streamSubjects.includes(s));
  return same ? [] : [...subjects];
}

function filterOf(c: ConsumerConfig): string[] {
  if (c.filter_subjects && c.filter_subjects.length > 0) return [...c.filter_subjects];
  return c.filter_subject ? [c.filter_subject] : [];
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((s) => b.includes(s));

/**
 * The consumer's info; created when absent (reading from the stream's first message, or from
 * `startSeq` when re-created after it was deleted under a running bridge).
 */
export async function ensureConsumer(
  jsm: JetStreamManager,
  n: JetStreamNames,
  stream: StreamInfo,
  log: Logger,
  serverVersion: string,
  startSeq?: number,
): Promise<{ info: ConsumerInfo; created: boolean }> {
  const filter = wantedFilter(n.subjects, stream.config.subjects ?? []);
  // 2.9 ignores filter_subjects: its consumer would read the whole stream.
  if (filter.length > 1 && !versionAtLeast(serverVersion, 2, 10))
    refused(
      `WSS_NATS_SUBJECTS=${n.subjects.join(',')}: a consumer filtering several subjects needs nats-server 2.10 (this one is ${serverVersion}); give one subject, or exactly the subjects of stream ${n.stream}`,
    );
  const ackWait = n.ackWaitMs * NS_PER_MS;
  let info: ConsumerInfo | undefined;
  try {
    info = await jsm.consumers.info(n.stream, n.consumer);
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
  }
  if (!info) {
    const cfg: Partial<ConsumerConfig> = {
      durable_name: n.consumer,
      ack_policy: AckPolicy.Explicit,
      ack_wait: ackWait,
      max_deliver: -1,
      // The bridges bound what they hold themselves (one batch each).
      max_ack_pending: -1,
      ...(startSeq !== undefined
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq }
        : { deliver_policy: DeliverPolicy.All }),
      ...(filter.length === 1 ? { filter_subject: filter[0] } : filter.length > 1 ? { filter_subjects: filter } : {}),
    };
    try {
      info = await jsm.consumers.add(n.stream, cfg);
      log.info({ stream: n.stream, consumer: n.consumer, filter }, 'nats: created the durable consumer');
      return { info, created: true };
    } catch (err) {
      if (!/already in use|already exists/i.test(errorMessage(err)))
        refused(`WSS_NATS_CONSUMER=${n.consumer}: cannot create the consumer on ${n.stream}: ${errorMessage(err)}`);
      info = await jsm.consumers.info(n.stream, n.consumer);
    }
  }
  const c = info.config;
  if (c.deliver_subject)
    refused(
      `WSS_NATS_CONSUMER=${n.consumer}: is a push consumer on ${n.stream}; the bridge needs a pull consumer (choose another name, or delete it)`,
    );
  if (c.ack_policy !== AckPolicy.Explicit)
    refused(
      `WSS_NATS_CONSUMER=${n.consumer}: acknowledges "${c.ack_policy}"; the bridge needs explicit acks (choose another name, or delete it)`,
    );
  if (!sameSet(filterOf(c), filter))
    refused(
      `WSS_NATS_CONSUMER=${n.consumer}: filters [${filterOf(c).join(', ')}] on ${n.stream} but WSS_NATS_SUBJECTS asks for [${filter.join(', ') || 'every subject'}] (choose another name, or delete it)`,
    );
  if (c.max_deliver !== -1 || c.ack_wait !== ackWait) {
    info = await jsm.consumers.update(n.stream, n.consumer, { max_deliver: -1, ack_wait: ackWait });
    log.warn(
      {
        stream: n.stream,
        consumer: n.consumer,
        was: { maxDeliver: c.max_deliver, ackWaitMs: (c.ack_wait ?? 0) / NS_PER_MS },
      },
      'nats: set the consumer to max_deliver -1 (the bridge dead-letters poison itself) and ack_wait WSS_NATS_ACK_WAIT_MS',
    );
  }
  return { info, created: false };
}
