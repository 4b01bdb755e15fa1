// Zero-downtime signing-key rotation (issue 13 item 3): two server processes on one DATA_DIR and
// a resource server keep answering a client-credentials loop through `keys rotate`, with no restart.
import { afterAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { decodeProtectedHeader } from 'jose';
import { makeTempDir } from '../helpers/temp-dir.ts';
import { cli, spawnServer, type ServerProcess } from '../helpers/spawn-server.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { buildPermissionCatalog } from '../../src/permissions/catalog.ts';
import { createImApi } from '../../src/resource-server/example-im-api.ts';
import { createTokenVerifier } from '../../src/resource-server/verify-access-token.ts';

const PUBLISH_DELAY_SECONDS = 2;
// The resource server caches the JWKS for 1 s, under the publish delay, as operators are told to.
const RS_JWKS_CACHE_MS = 1_000;

const dir = makeTempDir('key-rotation');
const running: ServerProcess[] = [];
let api: Server | undefined;
let looping = false;
let loop: Promise<void> | undefined;
afterAll(async () => {
  looping = false;
  await loop?.catch(() => undefined);
  await Promise.all(running.map((s) => s.stop()));
  if (api) await new Promise<void>((resolve) => api!.close(() => resolve()));
  dir.remove();
});

interface Exchange { instance: string; kid: string | undefined; receivedAt: number; token?: string }

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const jwksKids = async (url: string) => ((await (await fetch(`${url}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);

describe('keys rotate with two instances and a resource server, no restart', () => {
  it('refuses no request at any point, and after the publish delay both instances sign with the new key', async () => {
    const env = { DATA_DIR: dir.path, KEY_PUBLISH_DELAY_SECONDS: String(PUBLISH_DELAY_SECONDS), KEYRING_POLL_SECONDS: '0.25' };
    const bot = await cli(env, 'clients', 'create', '--name', 'Bot', '--type', 'service', '--scope', 'message:send');
    const a = await spawnServer(env);
    running.push(a);
    const b = await spawnServer({ ...env, ISSUER: a.url });
    running.push(b);

    const verify = createTokenVerifier({ issuer: a.url, audience: 'urn:tokenim:api', jwksCacheMaxAgeMs: RS_JWKS_CACHE_MS });
    const config = loadConfig({ DATA_DIR: dir.path });
    api = createServer(createImApi(verify, buildPermissionCatalog(config.scopes, config.roles)).callback()).listen(0, '127.0.0.1');
    await once(api, 'listening');
    const apiUrl = `http://127.0.0.1:${(api.address() as { port: number }).port}`;

    const basic = `Basic ${Buffer.from(`${bot.client_id}:${bot.client_secret}`).toString('base64')}`;
    const refused: string[] = [];
    const exchanges: Exchange[] = [];
    const callApi = async (token: string) => fetch(`${apiUrl}/v1/messages`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"text":"hi"}',
    });
    // One round: a token from each instance, each used at the resource server at once.
    const round = async () => {
      for (const [instance, url] of [['a', a.url], ['b', b.url]] as const) {
        const response = await fetch(`${url}/token`, {
          method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
          body: 'grant_type=client_credentials&scope=message%3Asend',
        });
        if (response.status !== 200) {
          refused.push(`${instance} /token ${response.status} ${await response.text()}`);
          continue;
        }
        const token = ((await response.json()) as { access_token: string }).access_token;
        exchanges.push({ instance, kid: decodeProtectedHeader(token).kid, receivedAt: Date.now(), token });
        const used = await callApi(token);
        if (used.status !== 201 && used.status !== 200) refused.push(`${instance} token at the API: ${used.status} ${await used.text()}`);
      }
    };
    // Paced under the token endpoint's per-application rate limit (600 a minute by default).
    looping = true;
    loop = (async () => {
      while (looping) {
        await round();
        await sleep(50);
      }
    })();

    await sleep(500);
    const oldKid = exchanges[0]!.kid!;
    expect(exchanges.every((e) => e.kid === oldKid)).toBe(true);

    const rotated = await cli(env, 'keys', 'rotate');
    const added = rotated.added_kids as string[];
    const signsFrom = Date.parse(String(rotated.signs_from));
    expect(signsFrom - Date.parse(String(rotated.published_at))).toBe(PUBLISH_DELAY_SECONDS * 1000);
    expect(rotated.retired_kids).toContain(oldKid);
    expect(Date.parse(String(rotated.retired_kids_unpublished_at))).toBeGreaterThan(signsFrom);

    // Published first: both instances list the new keys while they still sign with the old one.
    const publishedBy = Date.now() + 1_000;
    for (const url of [a.url, b.url]) {
      while (!(await jwksKids(url)).includes(added[0]!)) {
        expect(Date.now()).toBeLessThan(publishedBy);
        await sleep(50);
      }
      expect(await jwksKids(url)).toContain(oldKid);
    }
    expect(Date.now()).toBeLessThan(signsFrom);

    // After the delay (and one poll interval) both instances sign with the new key.
    await sleep(signsFrom - Date.now() + 1_000);
    looping = false;
    await loop;

    expect(refused).toEqual([]);
    expect(exchanges.length).toBeGreaterThan(20);
    const newKid = added.find((kid) => exchanges.some((e) => e.kid === kid));
    expect(newKid).toBeDefined();
    for (const instance of ['a', 'b']) {
      const mine = exchanges.filter((e) => e.instance === instance);
      expect(mine.at(-1)!.kid).toBe(newKid);
      // Never before the publish delay ended.
      expect(mine.filter((e) => e.kid === newKid).every((e) => e.receivedAt >= signsFrom)).toBe(true);
    }
    expect(exchanges.filter((e) => e.receivedAt > signsFrom + 500).every((e) => e.kid === newKid)).toBe(true);

    // The retired key stays published and its tokens keep working until they expire.
    const beforeRotation = exchanges.find((e) => e.kid === oldKid)!;
    for (const url of [a.url, b.url]) expect(await jwksKids(url)).toEqual(expect.arrayContaining([oldKid, newKid]));
    await sleep(RS_JWKS_CACHE_MS + 100);
    expect((await callApi(beforeRotation.token!)).status).toBe(201);
  });
});
