// `local-cloud`: the local OSS (with x-oss-async-process), IMM and MNS from a command, without any functions.
// npm run start -w @video-animation/local-cloud -- --bucket media-bucket [--memory] [--json]

import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLocalMns } from './mns/topics';
import { createAsyncProcessHandler } from './oss-async/handler';
import type { AsyncProcessHandler } from './oss/context';
import { startLocalOss } from './oss/server';
import { startLocalImm } from './imm/server';

const USAGE = `usage: local-cloud --bucket NAME [--bucket NAME ...] [--project NAME] [--region REGION]
                   [--data-dir DIR | --memory] [--json]
Starts the local OSS, IMM and MNS on 127.0.0.1 until Ctrl-C. Objects persist in --data-dir (default .local-cloud)
unless --memory. Clients sign with LOCAL_ACCESS_KEY_ID / LOCAL_ACCESS_KEY_SECRET (defaults printed).`;

async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        bucket: { type: 'string', multiple: true },
        project: { type: 'string', default: 'video-animation' },
        region: { type: 'string', default: 'cn-hangzhou' },
        'data-dir': { type: 'string', default: '.local-cloud' },
        memory: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const buckets = values.bucket ?? [];
  if (buckets.length === 0) {
    console.error(`name at least one bucket, e.g. --bucket media-bucket\n${USAGE}`);
    return 2;
  }
  const key = {
    accessKeyId: process.env['LOCAL_ACCESS_KEY_ID'] ?? 'LTAIlocalcloudkey',
    accessKeySecret: process.env['LOCAL_ACCESS_KEY_SECRET'] ?? 'local-cloud-secret-not-for-cloud-use',
  };
  const accountId = '1234567890123456';
  const dataDir = path.resolve(values['data-dir']);
  let asyncProcess: AsyncProcessHandler | undefined;
  let oss;
  try {
    oss = await startLocalOss({
      ...(values.memory ? { storage: 'memory' as const } : { dataDir: path.join(dataDir, 'oss') }),
      region: values.region,
      accountId,
      buckets,
      credentials: [key],
      asyncProcess: (request) => asyncProcess!(request),
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const mns = createLocalMns({ accountId });
  const imm = await startLocalImm({
    region: values.region,
    accountId,
    credentials: [key],
    projects: [values.project],
    oss: { endpoint: oss.endpoint, ...key },
    publish: async (topic, body) => void mns.publish(topic, body),
    workDir: path.join(dataDir, 'imm'),
  });
  asyncProcess = createAsyncProcessHandler({ imm, projectName: values.project, attachedBuckets: buckets });
  const endpoints = { region: values.region, buckets, project: values.project, ossEndpoint: oss.endpoint, immEndpoint: imm.endpoint, credentials: key };
  if (values.json) console.log(JSON.stringify(endpoints));
  else {
    console.log(`local cloud (Ctrl-C stops)
  OSS        ${oss.endpoint}   buckets ${buckets.join(', ')}   region ${values.region}${values.memory ? '   (in memory)' : `   (objects in ${path.join(dataDir, 'oss')})`}
  IMM        http://${imm.endpoint}   project ${values.project}
  AccessKey  ${key.accessKeyId} / ${key.accessKeySecret}`);
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await imm.close();
  mns.close();
  await oss.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
