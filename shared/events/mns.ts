import { BadInput } from '../platform/errors';
import * as z from '../platform/zod';

/** The body FC passes for an mns_topic trigger with notifyContentFormat JSON. */
export const MnsJsonEnvelopeSchema = z.looseObject({
  TopicName: z.optional(z.string()),
  MessageId: z.optional(z.string()),
  Message: z.string(),
  PublishTime: z.optional(z.union([z.number(), z.string()])),
});

/** STREAM format with message attributes: `{"body": "...", "attrs": {...}}`. */
export const MnsStreamWithAttributesSchema = z.looseObject({ body: z.string(), attrs: z.record(z.string(), z.unknown()) });

/** The completion message IMM publishes to the topic; `content` is itself a JSON string. */
export const ImmMessageSchema = z.looseObject({
  id: z.optional(z.string()),
  source: z.optional(z.string()),
  type: z.string(),
  subject: z.optional(z.string()),
  time: z.optional(z.union([z.string(), z.number()])),
  content: z.string(),
});

export const ImmTaskNoticeSchema = z.looseObject({
  ProjectName: z.optional(z.string()),
  TaskType: z.string(),
  TaskId: z.string().check(z.minLength(1)),
  Status: z.string(),
  Code: z._default(z.string(), ''),
  Message: z._default(z.string(), ''),
  StartTime: z.optional(z.string()),
  EndTime: z.optional(z.string()),
  UserData: z._default(z.string(), ''),
  RequestId: z.optional(z.string()),
  Sources: z.optional(z.array(z.looseObject({ URI: z.string() }))),
});

export type ImmTaskNotice = z.infer<typeof ImmTaskNoticeSchema>;

/** Why a notice was not taken; the handler logs it and acknowledges (a redelivery would fail the same way). */
export class MalformedNoticeError extends BadInput {
  override name = 'MalformedNoticeError';
}

/**
 * Decodes what FC hands the record function: a JSON envelope or a STREAM body (optionally with attributes), with
 * the message raw or Base64 (publishers differ). Returns the IMM message found inside.
 */
export function decodeMnsDelivery(payload: Buffer | string): z.infer<typeof ImmMessageSchema> {
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  const outer = parseJson(text);
  if (outer === undefined) return parseImmMessage(text);
  const envelope = MnsJsonEnvelopeSchema.safeParse(outer);
  if (envelope.success) return parseImmMessage(envelope.data.Message);
  const withAttributes = MnsStreamWithAttributesSchema.safeParse(outer);
  if (withAttributes.success) return parseImmMessage(withAttributes.data.body);
  return parseImmMessage(text);
}

/** An IMM message given as JSON or as Base64 of JSON. */
export function parseImmMessage(body: string): z.infer<typeof ImmMessageSchema> {
  const direct = parseJson(body);
  const candidate = direct ?? parseJson(fromBase64(body));
  if (candidate === undefined) throw new MalformedNoticeError('message is neither JSON nor Base64-encoded JSON');
  const parsed = ImmMessageSchema.safeParse(candidate);
  if (!parsed.success) throw new MalformedNoticeError(`not an IMM task message: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** The task notice inside an IMM message's `content` string. */
export function parseTaskNotice(message: z.infer<typeof ImmMessageSchema>): ImmTaskNotice {
  const content = parseJson(message.content);
  if (content === undefined) throw new MalformedNoticeError('IMM message content is not JSON');
  const parsed = ImmTaskNoticeSchema.safeParse(content);
  if (!parsed.success) throw new MalformedNoticeError(`IMM message content is not a task notice: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function fromBase64(text: string): string {
  const compact = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(compact)) return '';
  return Buffer.from(compact, 'base64').toString('utf8');
}
