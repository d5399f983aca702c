import * as z from '../zod';
import { decodeMnsDelivery, MalformedNoticeError, parseTaskNotice, type ImmTaskNotice } from './mns';
import { OssTriggerEventSchema, type OssTriggerEvent } from './oss';

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string; bytes: number };

/** The OSS trigger payload as FC hands it (a Buffer of JSON), parsed and checked. */
export function decodeOssTriggerEvent(payload: Buffer | string): Decoded<OssTriggerEvent> {
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}`, bytes: Buffer.byteLength(text) };
  }
  const parsed = OssTriggerEventSchema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: `not an OSS trigger event: ${z.prettifyError(parsed.error)}`, bytes: Buffer.byteLength(text) };
  return { ok: true, value: parsed.data };
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
