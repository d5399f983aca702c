import { createHash, randomBytes } from 'node:crypto';

/**
 * MNS queues for consumers that pull: a topic subscription whose endpoint is a queue stores each message here, and
 * ReceiveMessage / DeleteMessage take them out. A received message is invisible for the queue's visibility timeout
 * and comes back (with a new receipt handle, one more dequeue) unless it was deleted: at least once, as MNS.
 */

export interface QueuedMessage {
  messageId: string;
  messageBody: string;
  messageBodyMd5: string;
  enqueueTime: number;
  firstDequeueTime?: number;
  nextVisibleTime: number;
  dequeueCount: number;
  receiptHandle?: string;
}

export interface LocalQueue {
  readonly name: string;
  send(messageBody: string): QueuedMessage;
  /** The oldest visible message, now invisible for the visibility timeout; undefined when none is visible. */
  receive(now?: number): QueuedMessage | undefined;
  /** False when the handle is unknown or stale (the message came back and was received again). */
  delete(receiptHandle: string): boolean;
  /** Messages not deleted yet. */
  size(): number;
}

export function createLocalQueue(name: string, options: { visibilityTimeoutSeconds?: number } = {}): LocalQueue {
  const visibilityMs = (options.visibilityTimeoutSeconds ?? 30) * 1000;
  const messages: QueuedMessage[] = [];
  return {
    name,
    send(messageBody) {
      const now = Date.now();
      const message: QueuedMessage = {
        messageId: randomBytes(16).toString('hex').toUpperCase(),
        messageBody,
        messageBodyMd5: createHash('md5').update(messageBody, 'utf8').digest('hex').toUpperCase(),
        enqueueTime: now,
        nextVisibleTime: now,
        dequeueCount: 0,
      };
      messages.push(message);
      return message;
    },
    receive(now = Date.now()) {
      const message = messages.find((m) => m.nextVisibleTime <= now);
      if (!message) return undefined;
      message.dequeueCount++;
      message.firstDequeueTime ??= now;
      message.nextVisibleTime = now + visibilityMs;
      message.receiptHandle = `${message.messageId}-${message.dequeueCount}-${randomBytes(4).toString('hex')}`;
      return { ...message };
    },
    delete(receiptHandle) {
      const index = messages.findIndex((m) => m.receiptHandle === receiptHandle);
      if (index < 0) return false;
      messages.splice(index, 1);
      return true;
    },
    size: () => messages.length,
  };
}
