import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { accessAliasCredentials } from '../cli/credentials';
import { UsageError } from '../cli/errors';

/** crypto-js comes with @serverless-devs/credential: the cipher `s config add` writes access.yaml with. */
const CryptoJS = require('crypto-js') as { AES: { encrypt(text: string, passphrase: string): { toString(): string } } };
/** The passphrase @serverless-devs/credential (lib/constant.js CRYPTO_STRING) encrypts every value with. */
const SERVERLESS_DEVS_PASSPHRASE = 'SecretKey123';
const encrypt = (text: string) => CryptoJS.AES.encrypt(text, SERVERLESS_DEVS_PASSPHRASE).toString();

let home: string;
const savedEnv = { ...process.env };

before(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'cli-access-test-'));
  await mkdir(path.join(home, '.s'));
  // What `s config add --access ci --AccessKeyID ... --AccessKeySecret ... --AccountID ...` leaves behind.
  await writeFile(
    path.join(home, '.s', 'access.yaml'),
    [
      'ci:',
      `  AccountID: ${encrypt('1234567890123456')}`,
      `  AccessKeyID: ${encrypt('LTAIfromserverlessdevs')}`,
      `  AccessKeySecret: ${encrypt('secret-from-serverless-devs')}`,
      `  __provider: ${encrypt('Alibaba Cloud')}`,
      'aws-key:',
      `  AccessKeyID: ${encrypt('AKIAnotalibaba')}`,
      `  SecretAccessKey: ${encrypt('x')}`,
      '',
    ].join('\n'),
  );
  // Serverless Devs reads ~/.s (its root home) from the home folder, or from serverless_devs_config_home.
  process.env['serverless_devs_config_home'] = home;
  for (const name of ['AccountID', 'AccessKeyID', 'AccessKeySecret']) delete process.env[name];
});

after(async () => {
  process.env = savedEnv;
  await rm(home, { recursive: true, force: true });
});

describe('--access <alias>: a key configured with Serverless Devs (s config add)', () => {
  test('reads and decrypts the alias from ~/.s/access.yaml, with its AccountID', async () => {
    const caller = await accessAliasCredentials('ci');
    assert.deepEqual(caller.credentials, { accessKeyId: 'LTAIfromserverlessdevs', accessKeySecret: 'secret-from-serverless-devs' });
    assert.equal(caller.accountId, '1234567890123456');
    assert.match(caller.source, /Serverless Devs key "ci"/);
  });

  test('an unknown alias, or one with no Alibaba Cloud key, is a usage error saying how to add it', async () => {
    await assert.rejects(accessAliasCredentials('nope'), (error: unknown) => error instanceof UsageError && /s config add --access nope/.test(error.message));
    await assert.rejects(accessAliasCredentials('aws-key'), (error: unknown) => error instanceof UsageError && /no AccessKeyID\/AccessKeySecret/.test(error.message));
  });
});
