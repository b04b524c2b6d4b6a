// What a JetStream message's reply (ack) subject says about its delivery. Pure. The server
// writes `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ns>.<pending>`
// (or the newer form with a domain and an account hash after `ACK`, and a random token last);
// acknowledging is publishing to it: `+ACK` done, `+WPI` still working (the ack wait starts
// again).

export interface AckInfo {
  stream: string;
  consumer: string;
  /** Times this message was delivered to the consumer, this delivery included (num_delivered). */
  delivered: number;
  streamSeq: number;
  /** When the stream stored the message (ms since the epoch). */
  timestampMs: number;
}

export const ACK = '+ACK';
export const WORKING = '+WPI';

const count = (t: string | undefined): number => (t !== undefined && /^\d+$/.test(t) ? Number(t) : NaN);

/** The delivery behind an ack subject; undefined when it is none. */
export function parseAckSubject(subject: string): AckInfo | undefined {
  const t = subject.split('.');
  if (t[0] !== '$JS' || t[1] !== 'ACK') return undefined;
  const rest = t.length === 9 ? t.slice(2) : t.length >= 11 ? t.slice(4) : undefined;
  if (!rest) return undefined;
  const [stream, consumer, delivered, seq, , ns] = rest;
  // Nanoseconds overflow a double's integers: cut to milliseconds as text.
  const ms = ns !== undefined && /^\d+$/.test(ns) ? count(ns.length > 6 ? ns.slice(0, -6) : '0') : NaN;
  const info = {
    stream: stream!,
    consumer: consumer!,
    delivered: count(delivered),
    streamSeq: count(seq),
    timestampMs: ms,
  };
  if (!Number.isSafeInteger(info.delivered) || !Number.isSafeInteger(info.streamSeq) || Number.isNaN(ms))
    return undefined;
  return info;
}
