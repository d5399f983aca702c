import { createHash, randomBytes } from 'node:crypto';
import { retryDelaySeconds, type NotifyStrategy } from './retry';

export type { NotifyStrategy } from './retry';
export type NotifyContentFormat = 'JSON' | 'STREAM';

export interface LocalMnsOptions {
  /** Multiplies every retry wait (real waits are 10-20 s or up to 512 s); e.g. 0.001 in tests. Default 1. */
  delayScale?: number;
  /** TopicOwner and Subscriber in JSON payloads. */
  accountId?: string;
  faults?: {
    /** Probability that a successfully pushed message is pushed a second time, as MNS may. */
    duplicateRate?: number;
    /** Wait before the first push of every message. */
    delayMs?: number;
    /** Share of published messages that are lost: accepted (a MessageId is returned) but never pushed. */
    dropRate?: number;
    /** The first N published messages are lost (deterministic). */
    dropFirst?: number;
    random?: () => number;
  };
}

export interface TopicOptions {
  /** Base64-encode every message body published to the topic (some publishers do, some do not). */
  base64Message?: boolean;
}

export interface SubscriptionOptions {
  name: string;
  notifyContentFormat: NotifyContentFormat;
  notifyStrategy: NotifyStrategy;
  /** Only messages published with this messageTag are pushed. */
  filterTag?: string;
  /** The push endpoint; a rejection is a failed push, retried per notifyStrategy. */
  deliver: (payload: Buffer) => Promise<void>;
}

export interface PublishOptions {
  /** Message attributes: extra top-level keys in JSON payloads; `{body, attrs}` in STREAM payloads. */
  attributes?: Record<string, string>;
  messageTag?: string;
  /** Overrides the topic's base64Message for this message. */
  base64Message?: boolean;
}

export interface DeliveryRecord {
  topic: string;
  subscription: string;
  messageId: string;
  /** 1 for the first push, 2 for the first retry, ... */
  attempt: number;
  duplicate: boolean;
  outcome: 'delivered' | 'failed';
  error?: string;
  at: number;
}

export interface DroppedMessage {
  topic: string;
  subscription: string;
  messageId: string;
  attempts: number;
  lastError: string;
}

/** A message lost by fault injection. */
export interface LostMessage {
  topic: string;
  messageId: string;
  at: number;
}

export interface LocalMns {
  createTopic(topic: string, options?: TopicOptions): void;
  /** Creates the topic when it does not exist yet. */
  subscribe(topic: string, subscription: SubscriptionOptions): void;
  /** Accepts the message and pushes it to every subscription in the background; returns the MessageId. */
  publish(topic: string, messageBody: string, options?: PublishOptions): string;
  /** Resolves when no push is running or waiting for a retry. */
  idle(): Promise<void>;
  deliveries(): DeliveryRecord[];
  dropped(): DroppedMessage[];
  /** Messages lost by the dropRate / dropFirst faults. */
  lost(): LostMessage[];
  /** Abandons pending retries. */
  close(): void;
}

export class TopicNotExistError extends Error {
  readonly code = 'TopicNotExist';
  constructor(topic: string) {
    super(`The topic ${topic} does not exist.`);
    this.name = 'TopicNotExistError';
  }
}

interface Topic {
  options: TopicOptions;
  subscriptions: Map<string, SubscriptionOptions>;
}

interface PublishedMessage {
  topic: string;
  messageId: string;
  /** The body as MNS stores it: base64 when the publisher encoded it. */
  message: string;
  publishTime: number;
  attributes: Record<string, string>;
}

export function createLocalMns(options: LocalMnsOptions = {}): LocalMns {
  const delayScale = options.delayScale ?? 1;
  const accountId = options.accountId ?? '1234567890123456';
  const random = options.faults?.random ?? Math.random;
  const topics = new Map<string, Topic>();
  const deliveryLog: DeliveryRecord[] = [];
  const droppedLog: DroppedMessage[] = [];
  const lostLog: LostMessage[] = [];
  let publishedCount = 0;
  const sleeping = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  let idleWaiters: (() => void)[] = [];
  let running = 0;
  let closed = false;

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          sleeping.delete(entry);
          resolve();
        }, ms),
        wake: resolve,
      };
      sleeping.add(entry);
    });
  }

  function payloadFor(message: PublishedMessage, subscription: SubscriptionOptions): Buffer {
    if (subscription.notifyContentFormat === 'STREAM') {
      const hasAttributes = Object.keys(message.attributes).length > 0;
      return Buffer.from(hasAttributes ? JSON.stringify({ body: message.message, attrs: message.attributes }) : message.message, 'utf8');
    }
    return Buffer.from(
      JSON.stringify({
        TopicOwner: accountId,
        TopicName: message.topic,
        Subscriber: accountId,
        SubscriptionName: subscription.name,
        MessageId: message.messageId,
        MessageMD5: createHash('md5').update(message.message, 'utf8').digest('hex').toUpperCase(),
        Message: message.message,
        PublishTime: message.publishTime,
        ...message.attributes,
      }),
      'utf8',
    );
  }

  async function push(message: PublishedMessage, subscription: SubscriptionOptions): Promise<void> {
    const payload = payloadFor(message, subscription);
    const record = (attempt: number, duplicate: boolean, error?: unknown) =>
      deliveryLog.push({
        topic: message.topic,
        subscription: subscription.name,
        messageId: message.messageId,
        attempt,
        duplicate,
        outcome: error === undefined ? 'delivered' : 'failed',
        ...(error === undefined ? {} : { error: describe(error) }),
        at: Date.now(),
      });

    if (options.faults?.delayMs) await sleep(options.faults.delayMs);
    for (let attempt = 1; !closed; attempt++) {
      try {
        await subscription.deliver(payload);
      } catch (error) {
        record(attempt, false, error);
        const waitSeconds = retryDelaySeconds(subscription.notifyStrategy, attempt - 1, random);
        if (waitSeconds === undefined) {
          droppedLog.push({ topic: message.topic, subscription: subscription.name, messageId: message.messageId, attempts: attempt, lastError: describe(error) });
          return;
        }
        await sleep(waitSeconds * 1000 * delayScale);
        continue;
      }
      record(attempt, false);
      if (options.faults?.duplicateRate && random() < options.faults.duplicateRate) {
        // A duplicate is a second push of a message already delivered: its failure is not retried.
        await subscription.deliver(payload).then(
          () => record(attempt, true),
          (error: unknown) => record(attempt, true, error),
        );
      }
      return;
    }
  }

  function track(job: Promise<void>): void {
    running++;
    void job.finally(() => {
      running--;
      if (running === 0) {
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const wake of waiters) wake();
      }
    });
  }

  function createTopic(topic: string, topicOptions: TopicOptions = {}): void {
    const existing = topics.get(topic);
    if (existing) existing.options = topicOptions;
    else topics.set(topic, { options: topicOptions, subscriptions: new Map() });
  }

  return {
    createTopic,

    subscribe(topic, subscription) {
      if (!topics.has(topic)) createTopic(topic);
      const { subscriptions } = topics.get(topic)!;
      if (subscriptions.has(subscription.name)) throw new Error(`subscription ${subscription.name} already exists on topic ${topic}`);
      subscriptions.set(subscription.name, subscription);
    },

    publish(topic, messageBody, publishOptions = {}) {
      const target = topics.get(topic);
      if (!target) throw new TopicNotExistError(topic);
      const base64 = publishOptions.base64Message ?? target.options.base64Message ?? false;
      const message: PublishedMessage = {
        topic,
        messageId: randomBytes(16).toString('hex').toUpperCase(),
        message: base64 ? Buffer.from(messageBody, 'utf8').toString('base64') : messageBody,
        publishTime: Date.now(),
        attributes: publishOptions.attributes ?? {},
      };
      publishedCount++;
      const { dropFirst = 0, dropRate = 0 } = options.faults ?? {};
      if (publishedCount <= dropFirst || (dropRate && random() < dropRate)) {
        lostLog.push({ topic, messageId: message.messageId, at: Date.now() });
        return message.messageId;
      }
      for (const subscription of target.subscriptions.values()) {
        if (subscription.filterTag !== undefined && subscription.filterTag !== publishOptions.messageTag) continue;
        track(push(message, subscription));
      }
      return message.messageId;
    },

    idle() {
      return running === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve));
    },

    deliveries: () => [...deliveryLog],
    dropped: () => [...droppedLog],
    lost: () => [...lostLog],

    close() {
      closed = true;
      for (const entry of sleeping) {
        clearTimeout(entry.timer);
        entry.wake();
      }
      sleeping.clear();
    },
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
