import type OSS from 'ali-oss';
import path from 'node:path';
import { parseEndpoint } from '../shared/clients/endpoint';
import { ossJobStore } from '../shared/jobs/stores/oss';
import type { JobStore } from '../shared/jobs/store';
import { accessAliasCredentials, callerAccountId, defaultChainCredentials, type CallerCredentials } from './credentials';
import { UsageError } from './errors';
import { immAttachmentReader, rosStackReader, type AttachmentReader, type StackReader } from './cloud-readers';
import { fcInvoker, fcReader, type FunctionInvoker, type FunctionReader } from './fc';
import { processAlive, readEndpointsFile, type LocalEndpoints } from './local-endpoints';
import { ossClient, readOnlyBucket, signedGetUrl } from './oss';
import type { AppSettings } from './settings';

export interface TargetOptions {
  /** Use the local stack (`npm start`) instead of the deployed app. */
  local: boolean;
  /** Where the local stack keeps its endpoints file (default `.local`, or env VIDEO_ANIMATION_LOCAL). */
  localDir?: string;
  /** A Serverless Devs access alias. */
  access?: string;
}

/** The app the commands act on: its bucket and records, and the submit function to hand work to. */
export interface Target {
  region: string;
  bucket: string;
  store: JobStore;
  /** The ali-oss client (V4) for the bucket: listing objects. The job store reads through it too. */
  oss: OSS;
  /** A V4 presigned GET URL of an object; `localhost` on the local stack, so a browser on this machine opens it. */
  /** A signed GET link; `bucket`: an output's own bucket, when not the watched one. */
  signedUrl(key: string, expiresSeconds: number, bucket?: string): Promise<string>;
  /** The FC client, made on first use (in the cloud it needs the account id). */
  invoker(): Promise<FunctionInvoker>;
  /** True on the local stack (`--local`). */
  local: boolean;
  /** Read-only views of the deployment for `doctor`, made on first use. */
  readers(): Promise<DeploymentReaders>;
}

export interface DeploymentReaders {
  functions: FunctionReader;
  /** ROS; undefined on the local stack, which has no stack. */
  stacks?: StackReader;
  attachments: AttachmentReader;
}

export async function connect(settings: AppSettings, options: TargetOptions, env: NodeJS.ProcessEnv = process.env): Promise<Target> {
  if (options.local) return connectLocal(settings, path.resolve(options.localDir ?? env['VIDEO_ANIMATION_LOCAL'] ?? '.local'));
  if (options.localDir) throw new UsageError('--local-dir goes with --local: add --local, or drop --local-dir to act on the deployed app');
  const caller = options.access ? await accessAliasCredentials(options.access) : await defaultChainCredentials(env);
  return connectCloud(settings, caller);
}

async function connectLocal(settings: AppSettings, dir: string): Promise<Target> {
  let endpoints: LocalEndpoints | undefined;
  try {
    endpoints = await readEndpointsFile(dir);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (!endpoints) throw new UsageError(`start the local stack first: npm start (no endpoints file in ${dir})`);
  if (!processAlive(endpoints.pid)) throw new UsageError(`start the local stack first: npm start (the stack that wrote ${dir}/endpoints.json has stopped)`);
  const credentials = endpoints.credentials;
  const { bucket, region } = endpoints;
  // With an IP endpoint ali-oss connects there and names the bucket in the Host header, as for OSS itself.
  const oss = ossClient({ bucket, region, credentials, endpoint: endpoints.ossEndpoint, pathStyle: false });
  // Signed URLs: ali-oss signs none for an IP endpoint; path-style on `localhost`, which a browser reaches too.
  const port = new URL(endpoints.ossEndpoint).port;
  const linkClient = (b: string) => ossClient({ bucket: b, region, credentials, endpoint: `http://localhost:${port}`, pathStyle: true });
  const links = linkClient(bucket);
  const unreachableHint = `the local stack does not answer at ${endpoints.fcEndpoint}: start it first: npm start`;
  return {
    region: endpoints.region,
    bucket: endpoints.bucket,
    store: ossJobStore(readOnlyBucket(oss, bucket), settings.recordsPrefix),
    oss,
    signedUrl: (key, expires, other) => signedGetUrl(other && other !== bucket ? linkClient(other) : links, key, expires),
    invoker: async () => fcInvoker({ endpoint: parseEndpoint(`http://${endpoints.fcEndpoint}`), region: endpoints.region, credentials, unreachableHint }),
    local: true,
    readers: async () => ({
      functions: fcReader({ endpoint: parseEndpoint(`http://${endpoints.fcEndpoint}`), region: endpoints.region, credentials, unreachableHint }),
      // The local stack serves `engine: oss` processing for every bucket it has, with its own IMM project.
      attachments: { attachment: async (b) => (b === endpoints.bucket ? {} : undefined) },
    }),
  };
}

async function connectCloud(settings: AppSettings, caller: CallerCredentials): Promise<Target> {
  const { region, bucket } = settings;
  const { credentials } = caller;
  // The public endpoint: the command line runs outside the region's network (the functions use the internal one).
  const oss = ossClient({ bucket, region, credentials, endpoint: `https://oss-${region}.aliyuncs.com`, pathStyle: false });
  let invoker: Promise<FunctionInvoker> | undefined;
  const fcOptions = (accountId: string) => ({
    endpoint: { protocol: 'https' as const, host: `${accountId}.${region}.fc.aliyuncs.com` },
    region,
    credentials,
    unreachableHint: `check the network and the region (${region}) in s.yaml`,
  });
  return {
    region,
    bucket,
    // The job records may live in a bucket of their own (RECORDS_BUCKET).
    store: ossJobStore(
      settings.recordsBucket === bucket ? readOnlyBucket(oss, bucket) : readOnlyBucket(ossClient({ bucket: settings.recordsBucket, region, credentials, endpoint: `https://oss-${region}.aliyuncs.com`, pathStyle: false }), settings.recordsBucket),
      settings.recordsPrefix,
    ),
    oss,
    signedUrl: (key, expires, other) =>
      signedGetUrl(other && other !== bucket ? ossClient({ bucket: other, region, credentials, endpoint: `https://oss-${region}.aliyuncs.com`, pathStyle: false }) : oss, key, expires),
    invoker: () => (invoker ??= callerAccountId(caller).then((accountId) => fcInvoker(fcOptions(accountId)))),
    local: false,
    readers: async () => ({
      functions: fcReader(fcOptions(await callerAccountId(caller))),
      stacks: rosStackReader(credentials),
      attachments: immAttachmentReader(credentials, region),
    }),
  };
}
