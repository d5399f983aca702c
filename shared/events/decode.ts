import * as z from '../platform/zod';
import { decodeMnsDelivery, MalformedNoticeError, parseTaskNotice, type ImmTaskNotice } from './mns';
import { OssTriggerEventSchema, type OssTriggerEvent } from './oss';
import { RetryRequestSchema, type RetryRequest } from './retry';
import { TimerEventSchema, type TimerEvent } from './timer';

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string; bytes: number };

/** A JSON payload as FC hands it (a Buffer), parsed and checked against `schema`. */
function decodeJson<T>(payload: Buffer | string, schema: z.ZodMiniType<T>, what: string): Decoded<T> {
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  // The payload's own size (decoding invalid UTF-8 would inflate it), as decodeTaskNotice reports it.
  const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}`, bytes };
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, reason: `not ${what}: ${z.prettifyError(parsed.error)}`, bytes };
}

export function decodeOssTriggerEvent(payload: Buffer | string): Decoded<OssTriggerEvent> {
  return decodeJson(payload, OssTriggerEventSchema, 'an OSS trigger event');
}

/** What the submit function is handed: an OSS trigger event (an upload, or a backfill) or a retry request. */
export type SubmitPayload = { kind: 'uploads'; event: OssTriggerEvent } | { kind: 'retry'; request: RetryRequest };

export function decodeSubmitPayload(payload: Buffer | string): Decoded<SubmitPayload> {
  const retry = decodeJson(payload, RetryRequestSchema, 'a retry request');
  if (retry.ok) return { ok: true, value: { kind: 'retry', request: retry.value } };
  const uploads = decodeOssTriggerEvent(payload);
  if (uploads.ok) return { ok: true, value: { kind: 'uploads', event: uploads.value } };
  // A payload that looks like a retry request gets the retry request's reason; anything else the OSS event's.
  return /"retry"\s*:/.test(typeof payload === 'string' ? payload : payload.toString('utf8')) ? retry : uploads;
}

export function decodeTimerEvent(payload: Buffer | string): Decoded<TimerEvent> {
  return decodeJson(payload, TimerEventSchema, 'a timer event');
}

/** The IMM task notice inside an MNS delivery (JSON envelope or STREAM, raw or Base64). */
export function decodeTaskNotice(payload: Buffer | string): Decoded<ImmTaskNotice> {
  try {
    return { ok: true, value: parseTaskNotice(decodeMnsDelivery(payload)) };
  } catch (error) {
    if (!(error instanceof MalformedNoticeError)) throw error;
    return { ok: false, reason: error.message, bytes: typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length };
  }
}
