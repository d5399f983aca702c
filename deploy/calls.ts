/**
 * The cloud calls each function makes, and on what: the one declaration the least-privilege policies are generated
 * from (deploy/deploy-resources.ts turns it into RAM statements for the rules in s.yaml). It names API operations,
 * not RAM actions: which action authorizes which operation is the generator's table, and test/deploy-policies
 * checks both against what the functions really send on the local stack.
 *
 * Keep it in step with the code: a new adapter call (shared/clients/oss.ts, shared/clients/imm.ts) or a new caller
 * of one in shared/app must show up here, or the deployed role will refuse it.
 *
 * Buckets: job records live in RECORDS_BUCKET (vars.recordsBucket, by default the watched bucket) under the records
 * prefix; sources and outputs live in the watched bucket.
 */

/** The functions, by their s.yaml resource name. */
export type FunctionRole = 'submit' | 'record' | 'reconcile';

/**
 * Which keys a call touches: `sources` the rule prefixes (uploads) and `outputs` the output prefixes of the rules'
 * key templates, both in the watched bucket; `records` the records prefix (job records, claims, results, indexes) in
 * the records bucket.
 */
export type KeyScope = 'sources' | 'outputs' | 'records';

/**
 * When a call can happen, given the rules: `always`; `engine-imm` / `engine-oss` when some rule uses that engine
 * (and then only on that engine's rules' keys); `frames` when some output has a frame budget (DetectMediaMeta);
 * `delete-with-source` when some rule deletes its outputs with their source (and then only on those rules' outputs).
 */
export type CallCondition = 'always' | 'engine-imm' | 'engine-oss' | 'frames' | 'delete-with-source';

/** OSS bucket-level operations, on the records bucket itself. */
export type OssBucketOperation = 'GetBucketVersioning'; // GET /?versioning

/** OSS API operations the BucketApi adapter sends (shared/clients/oss.ts). */
export type OssOperation =
  | 'HeadObject' // head()
  | 'GetObject' // getText(), getBytes()
  | 'PutObject' // putText() (also create-only, x-oss-forbid-overwrite)
  | 'DeleteObject' // delete()
  | 'ListObjectsV2' // list(): always with a prefix under the records prefix
  | 'PutObjectTagging' // putTags()
  | 'AsyncProcessObject'; // asyncProcess(): POST /<source>?x-oss-async-process, saving to the rule's outputs

/** IMM (2020-09-30) operations the ImmApi adapter sends (shared/clients/imm.ts), all on IMM_PROJECT. */
export type ImmOperation = 'CreateMediaConvertTask' | 'ListTasks' | 'DetectMediaMeta' | 'GetTask';

export type CloudCall =
  | { service: 'oss'; operation: OssOperation; on: KeyScope; when: CallCondition; why: string }
  | { service: 'oss'; operation: OssBucketOperation; on: 'records-bucket'; when: 'always'; why: string }
  | { service: 'imm'; operation: ImmOperation; when: CallCondition; why: string }
  /** FC itself publishes a failed asynchronous invocation to the function's onFailure topic, with the function's role. */
  | { service: 'mns'; operation: 'PublishMessage'; on: 'failure-destination'; when: 'always'; why: string }
  /** Completion events on the `<app>-events` topic, when vars.events switches them on (EVENTS_TOPIC not empty). */
  | { service: 'mns'; operation: 'PublishMessage'; on: 'events-topic'; when: 'events'; why: string };

/** The job store (shared/jobs/stores/oss.ts): every function reads and writes job facts through it. */
const JOB_STORE: CloudCall[] = [
  { service: 'oss', operation: 'GetObject', on: 'records', when: 'always', why: 'job facts (identity, attempt claims, task results, terminal records), the task index, the reconcile cursor' },
  { service: 'oss', operation: 'PutObject', on: 'records', when: 'always', why: 'the same, create-only where one writer must win' },
  { service: 'oss', operation: 'DeleteObject', on: 'records', when: 'always', why: 'the open-jobs entry of an ended job' },
  { service: 'oss', operation: 'ListObjectsV2', on: 'records', when: 'always', why: "the open-jobs index, the job index and each job's facts, by prefix" },
  {
    service: 'oss',
    operation: 'GetBucketVersioning',
    on: 'records-bucket',
    when: 'always',
    why: 'once per instance: create-only records need versioning off (x-oss-forbid-overwrite has no effect on a versioned bucket)',
  },
];

/** Completion events (one per ended job) on the events topic. */
const COMPLETION_EVENT: CloudCall = {
  service: 'mns',
  operation: 'PublishMessage',
  on: 'events-topic',
  when: 'events',
  why: 'one completion event per ended job, to EVENTS_TOPIC',
};

/** Driving a job on (shared/app/advance.ts): what submit does for an upload and record/reconcile do for a retry. */
const ADVANCE_JOB: CloudCall[] = [
  { service: 'imm', operation: 'CreateMediaConvertTask', when: 'engine-imm', why: 'one task per attempt of a job (shared/engines/imm.ts)' },
  { service: 'imm', operation: 'ListTasks', when: 'engine-imm', why: 'a takeover or task retry first adopts tasks an earlier attempt started (TagSelector JobId=...)' },
  { service: 'imm', operation: 'DetectMediaMeta', when: 'frames', why: "the source's duration for a frame budget, unless an earlier attempt learned it" },
  { service: 'oss', operation: 'AsyncProcessObject', on: 'sources', when: 'engine-oss', why: 'one x-oss-async-process per output (shared/engines/oss.ts)' },
];

/** Recording a task's end (shared/app/task-end.ts): check and count each output, set its headers and tags. */
const RECORD_TASK: CloudCall[] = [
  { service: 'oss', operation: 'GetObject', on: 'outputs', when: 'always', why: "read each animation to check it exists and count its frames; the source of an output's copy onto itself" },
  { service: 'oss', operation: 'HeadObject', on: 'outputs', when: 'always', why: "a poster's candidates and a storyboard's sheets exist, and their sizes" },
  {
    service: 'oss',
    operation: 'PutObject',
    on: 'outputs',
    when: 'always',
    why: "CopyObject onto itself (Content-Type, Cache-Control, tags in one request), the chosen poster, a storyboard's WebVTT",
  },
  { service: 'oss', operation: 'PutObjectTagging', on: 'outputs', when: 'always', why: 'the tags sent with that copy or write (x-oss-tagging): source, rule, job, task, format' },
  { service: 'oss', operation: 'DeleteObject', on: 'outputs', when: 'always', why: "a poster's candidates, once the poster is chosen" },
];

const FAILURE_DESTINATION: CloudCall = {
  service: 'mns',
  operation: 'PublishMessage',
  on: 'failure-destination',
  when: 'always',
  why: "FC sends an event that failed every retry to asyncInvokeConfig's onFailure topic with the function's role",
};

export const FUNCTION_CALLS: Readonly<Record<FunctionRole, readonly CloudCall[]>> = {
  submit: [
    { service: 'oss', operation: 'HeadObject', on: 'sources', when: 'always', why: 'the uploaded object (and, for a retry request, the failed job\'s source) still exists, its ETag and size' },
    ...JOB_STORE,
    {
      service: 'oss',
      operation: 'DeleteObject',
      on: 'outputs',
      when: 'delete-with-source',
      why: "a deleted source's own outputs and their files, in each output's bucket (shared/app/delete.ts)",
    },
    ...ADVANCE_JOB,
    FAILURE_DESTINATION,
  ],
  record: [...JOB_STORE, ...RECORD_TASK, ...ADVANCE_JOB, COMPLETION_EVENT, FAILURE_DESTINATION],
  reconcile: [
    ...JOB_STORE,
    ...RECORD_TASK,
    ...ADVANCE_JOB,
    { service: 'imm', operation: 'GetTask', when: 'always', why: 'tasks that ran too long without a notice (engine oss tasks run in the attached project too)' },
    COMPLETION_EVENT,
    FAILURE_DESTINATION,
  ],
};
