// Publishing to JetStream (`wss publish`, `POST /api/events`, operational events): the envelope
// as one JSON object to the tenant's subject (config/nats.ts publishSubject), with the event id
// also as Nats-Msg-Id so JetStream drops a re-publish of it within the stream's duplicate
// window. The connection opens at the first publish (a worker may never publish) and creates
// the stream when absent, so events published before any bridge started are kept.
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { publishSubject, type NatsTarget } from '../../../config/nats.js';
import type { Logger } from '../../../lib/log.js';
import type { EventPublisher } from '../source.js';
import { connectNats, redact, type NatsLink } from './connection.js';
import { envelopeJson, messageRef, MSG_ID_HEADER } from './envelope.js';
import { ensureStream, type JetStreamNames } from './setup.js';

export interface NatsPublisherOptions extends Pick<JetStreamNames, 'stream' | 'subjects'> {
  target: NatsTarget;
  connectionName: string;
}

/** Returns `<stream>#<sequence>`, the reference dead letters and the bridge's logs use. */
export function natsPublisher(o: NatsPublisherOptions, log: Logger): EventPublisher {
  let opening: Promise<{ link: NatsLink; js: JetStreamClient }> | undefined;
  const open = async () => {
    const link = await connectNats(o.target, o.connectionName, log);
    try {
      await ensureStream(await jetstreamManager(link.nc), { ...o, consumer: '', ackWaitMs: 0 }, log);
    } catch (err) {
      await link.close();
      throw err;
    }
    return { link, js: jetstream(link.nc) };
  };
  return {
    async publish(fields) {
      opening ??= open().catch((err: unknown) => {
        opening = undefined; // the next publish tries again
        throw err;
      });
      const { js } = await opening;
      const h = headers();
      if (fields['id'] !== undefined) h.set(MSG_ID_HEADER, fields['id']);
      try {
        const ack = await js.publish(publishSubject(o.subjects, fields['tenant']!), envelopeJson(fields), {
          headers: h,
          expect: { streamName: o.stream },
        });
        return messageRef(ack.stream, ack.seq);
      } catch (err) {
        if (err instanceof Error) err.message = `NATS publish to ${o.stream}: ${redact(err.message, o.target)}`;
        throw err;
      }
    },
    async close() {
      const p = opening;
      opening = undefined;
      if (p) await (await p.catch(() => undefined))?.link.close();
    },
  };
}
