import { z } from 'zod';
import { invalidArgument } from './errors';
import { jsonParameter, optionalString, requiredString, type RequestParameters } from './media-convert-request';
import type { TaskInfo, TaskStatus } from './tasks';

// ListTasks as the SDK (imm-20200930 ListTasksShrinkRequest) sends it: TaskTypes, StartTimeRange and EndTimeRange
// as JSON strings, the rest as plain query values; MaxResults in (0, 100], default 100; Sort TaskId (default) |
// StartTime | EndTime; Order asc (default) | desc.
const MAX_RESULTS = 100;
const STATUSES: readonly TaskStatus[] = ['Running', 'Succeeded', 'Failed'];
const SORT_FIELDS = ['TaskId', 'StartTime', 'EndTime'] as const;
const ORDERS = ['asc', 'desc'] as const;

const timeRangeSchema = z.object({
  Start: z.string().refine((s) => !Number.isNaN(Date.parse(s)), { error: 'must be a time such as 2016-12-31T00:00:00+08:00' }).optional(),
  End: z.string().refine((s) => !Number.isNaN(Date.parse(s)), { error: 'must be a time such as 2016-12-31T00:00:00+08:00' }).optional(),
});
const taskTypesSchema = z.array(z.string());
/** NextToken: the sort value and TaskId of the last task returned, so tasks created meanwhile do not shift pages. */
const cursorSchema = z.tuple([z.string(), z.string()]);

type TimeRange = z.infer<typeof timeRangeSchema>;
type Cursor = z.infer<typeof cursorSchema>;

export interface ListTasksQuery {
  projectName: string;
  taskTypes?: string[];
  status?: TaskStatus;
  tag?: { key: string; value: string };
  startTimeRange?: TimeRange;
  endTimeRange?: TimeRange;
  maxResults: number;
  after?: Cursor;
  sort: (typeof SORT_FIELDS)[number];
  order: (typeof ORDERS)[number];
  requestDefinition: boolean;
}

/** A task as GetTask and ListTasks give it (the SDK's TaskInfo fields). */
export function taskInfoBody(task: TaskInfo, withRequestDefinition: boolean): Record<string, unknown> {
  return {
    TaskId: task.taskId,
    TaskType: 'MediaConvert',
    Status: task.status,
    Code: task.code,
    Message: task.message,
    StartTime: task.startTime,
    ...(task.endTime ? { EndTime: task.endTime } : {}),
    ...(task.userData !== undefined ? { UserData: task.userData } : {}),
    ...(task.tags ? { Tags: task.tags } : {}),
    Progress: task.progress,
    ...(withRequestDefinition ? { TaskRequestDefinition: JSON.stringify(task.requestDefinition) } : {}),
  };
}

/** A boolean query value as the SDK sends it (`true` / `false`). */
export function booleanParameter(parameters: RequestParameters, name: string): boolean | undefined {
  const value = optionalString(parameters, name);
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') throw invalidArgument(`${name} must be true or false, got ${value}`);
  return value === 'true';
}

export function parseListTasksRequest(parameters: RequestParameters): ListTasksQuery {
  const maxResultsText = optionalString(parameters, 'MaxResults');
  const maxResults = maxResultsText === undefined ? MAX_RESULTS : Number(maxResultsText);
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > MAX_RESULTS) {
    throw invalidArgument(`MaxResults must be an integer in (0, ${MAX_RESULTS}], got ${maxResultsText}`);
  }
  const status = optionalString(parameters, 'Status');
  if (status !== undefined && !STATUSES.includes(status as TaskStatus)) throw invalidArgument(`Status must be one of ${STATUSES.join(', ')}, got ${status}`);
  const sort = optionalString(parameters, 'Sort') ?? 'TaskId';
  if (!(SORT_FIELDS as readonly string[]).includes(sort)) throw invalidArgument(`Sort must be one of ${SORT_FIELDS.join(', ')}, got ${sort}`);
  const order = optionalString(parameters, 'Order') ?? 'asc';
  if (!(ORDERS as readonly string[]).includes(order)) throw invalidArgument(`Order must be asc or desc, got ${order}`);
  const tag = parseTagSelector(optionalString(parameters, 'TagSelector'));
  const nextToken = optionalString(parameters, 'NextToken');
  const taskTypes = structure(parameters, 'TaskTypes', taskTypesSchema);
  const startTimeRange = structure(parameters, 'StartTimeRange', timeRangeSchema);
  const endTimeRange = structure(parameters, 'EndTimeRange', timeRangeSchema);
  return {
    projectName: requiredString(parameters, 'ProjectName'),
    ...(taskTypes ? { taskTypes } : {}),
    ...(status ? { status: status as TaskStatus } : {}),
    ...(tag ? { tag } : {}),
    ...(startTimeRange ? { startTimeRange } : {}),
    ...(endTimeRange ? { endTimeRange } : {}),
    maxResults,
    ...(nextToken ? { after: decodeCursor(nextToken) } : {}),
    sort: sort as ListTasksQuery['sort'],
    order: order as ListTasksQuery['order'],
    requestDefinition: booleanParameter(parameters, 'RequestDefinition') ?? false,
  };
}

/**
 * The tasks of the project that match, in the requested order, one page from the cursor on, and the NextToken of the
 * page after it ('' when this is the last page).
 */
export function listTasks(all: TaskInfo[], query: ListTasksQuery): { tasks: TaskInfo[]; nextToken: string } {
  const direction = query.order === 'asc' ? 1 : -1;
  const position = (task: TaskInfo): Cursor => [sortValue(task, query.sort), task.taskId];
  const text = (a: string, b: string) => (a === b ? 0 : a < b ? -1 : 1);
  const compare = (a: Cursor, b: Cursor) => direction * (text(a[0], b[0]) || text(a[1], b[1]));
  const matching = all
    .filter((task) => task.projectName === query.projectName && matches(task, query))
    .sort((a, b) => compare(position(a), position(b)))
    .filter((task) => !query.after || compare(position(task), query.after) > 0);
  const page = matching.slice(0, query.maxResults);
  const last = page.at(-1);
  return { tasks: page, nextToken: matching.length > page.length && last ? encodeCursor(position(last)) : '' };
}

function matches(task: TaskInfo, query: ListTasksQuery): boolean {
  // Every local task is a MediaConvert task; an empty TaskTypes filters nothing.
  if (query.taskTypes?.length && !query.taskTypes.includes('MediaConvert')) return false;
  if (query.status && task.status !== query.status) return false;
  if (query.tag && (task.tags?.[query.tag.key] === undefined || String(task.tags[query.tag.key]) !== query.tag.value)) return false;
  if (query.startTimeRange && !within(task.startTime, query.startTimeRange)) return false;
  if (query.endTimeRange && (!task.endTime || !within(task.endTime, query.endTimeRange))) return false;
  return true;
}

/**
 * `key=value`, the only form IMM documents (its example is `test=val1`): the key ends at the first `=`, the rest is
 * the value, compared with the tag given to CreateMediaConvertTask as text.
 */
function parseTagSelector(selector: string | undefined): { key: string; value: string } | undefined {
  if (selector === undefined) return undefined;
  const equals = selector.indexOf('=');
  if (equals < 1) throw invalidArgument(`TagSelector must be key=value, got ${selector}`);
  return { key: selector.slice(0, equals), value: selector.slice(equals + 1) };
}

function within(time: string, range: TimeRange): boolean {
  const at = Date.parse(time);
  return (range.Start === undefined || at >= Date.parse(range.Start)) && (range.End === undefined || at <= Date.parse(range.End));
}

/** ISO-8601 UTC timestamps sort as text; a running task has no EndTime yet and sorts first. */
function sortValue(task: TaskInfo, sort: ListTasksQuery['sort']): string {
  if (sort === 'StartTime') return task.startTime;
  if (sort === 'EndTime') return task.endTime ?? '';
  return task.taskId;
}

function structure<T>(parameters: RequestParameters, name: string, schema: z.ZodType<T>): T | undefined {
  const value = jsonParameter(parameters, name, false);
  if (value === undefined) return undefined;
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidArgument(`${name} is not valid: ${z.prettifyError(parsed.error).replaceAll('\n', ' ')}`);
  return parsed.data;
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

function decodeCursor(token: string): Cursor {
  try {
    return cursorSchema.parse(JSON.parse(Buffer.from(token, 'base64url').toString('utf8')));
  } catch {
    throw invalidArgument(`NextToken is not valid: ${token}`);
  }
}
