import { parseRedisUrl } from '../storage/redis/redis-url.ts';
import { existsSync, readFileSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { MAX_WORKERS, parseWorkersSetting, resolveWorkerCount } from './worker-count.ts';
import { roleCatalogSchema, scopeCatalogSchema, settingsSchema, type Config, type Settings } from './schema.ts';

export const DEFAULT_CONFIG_DIR = fileURLToPath(new URL('../../config/', import.meta.url));

/** A bad setting: `variable` names the environment variable or config entry at fault. */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

type Env = Record<string, string | undefined>;

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(file, `cannot be read as JSON (${(error as Error).message})`);
  }
}

function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.length ? `${where} ${issue.path.join('.')}` : where;
  throw new ConfigError(path, issue?.message ?? 'is invalid');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepMerge(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = merged[key];
    merged[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return merged;
}

const nonEmpty = (env: Env, name: string): string | undefined => {
  const value = env[name]?.trim();
  return value ? value : undefined;
};

function parsePort(raw: string, name = 'PORT'): number {
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65535) {
    throw new ConfigError(name, `must be a whole number from 1 to 65535 (got "${raw}")`);
  }
  return port;
}

function parseBoolean(name: string, raw: string): boolean {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false (got "${raw}")`);
}

function parseUrl(name: string, raw: string, protocols: string[]): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `is not a valid URL (got "${raw}")`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(name, `must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  return raw;
}

/** REDIS_URL: one server, Sentinel or Cluster (src/storage/redis/redis-url.ts). */
function checkRedisUrl(raw: string): string {
  try {
    parseRedisUrl(raw);
  } catch (error) {
    throw new ConfigError('REDIS_URL', `${(error as Error).message.replace(/^REDIS_URL:? ?/, '')} (got "${raw}")`);
  }
  return raw;
}

function parseIssuer(raw: string, nodeEnv: Config['nodeEnv']): string {
  parseUrl('ISSUER', raw, ['http:', 'https:']);
  const url = new URL(raw);
  if (url.search || url.hash) throw new ConfigError('ISSUER', 'must not have a query or a fragment');
  // OIDC Discovery §3: the issuer is an https URL; plain http is for local development only.
  if (nodeEnv === 'production' && url.protocol !== 'https:') {
    throw new ConfigError('ISSUER', 'must be an https:// URL when NODE_ENV=production');
  }
  return raw.replace(/\/+$/, '');
}

function parseNodeEnv(raw: string | undefined): Config['nodeEnv'] {
  if (raw === undefined || raw === 'development') return 'development';
  if (raw === 'production' || raw === 'test') return raw;
  throw new ConfigError('NODE_ENV', `must be development, production or test (got "${raw}")`);
}

/**
 * Reads config/default.json, config/<NODE_ENV>.json and the environment, validates the result
 * once and returns it. The only place in the code base that reads process.env (by default).
 */
export function loadConfig(env: Env = process.env, configDir = DEFAULT_CONFIG_DIR): Config {
  const nodeEnv = parseNodeEnv(nonEmpty(env, 'NODE_ENV'));
  const defaultsFile = join(configDir, 'default.json');
  const envFile = join(configDir, `${nodeEnv}.json`);
  const defaults = readJson(defaultsFile);
  const overrides = existsSync(envFile) ? readJson(envFile) : {};
  if (!isPlainObject(defaults) || !isPlainObject(overrides)) throw new ConfigError(configDir, 'config files must hold JSON objects');
  const settings: Settings = parseOrThrow(settingsSchema, deepMerge(defaults, overrides), 'config');

  const port = nonEmpty(env, 'PORT');
  if (port !== undefined) settings.port = parsePort(port);
  const dataDir = nonEmpty(env, 'DATA_DIR');
  if (dataDir !== undefined) settings.dataDir = dataDir;
  settings.dataDir = resolve(settings.dataDir);
  const trustProxy = nonEmpty(env, 'TRUST_PROXY');
  if (trustProxy !== undefined) settings.trustProxy = parseBoolean('TRUST_PROXY', trustProxy);
  const logLevel = nonEmpty(env, 'LOG_LEVEL');
  if (logLevel !== undefined) settings.logLevel = parseOrThrow(settingsSchema.shape.logLevel, logLevel, 'LOG_LEVEL');
  const trackLastUse = nonEmpty(env, 'TRACK_SECRET_LAST_USE');
  if (trackLastUse !== undefined) settings.clients.trackLastUse = parseBoolean('TRACK_SECRET_LAST_USE', trackLastUse);
  const mailFrom = nonEmpty(env, 'MAIL_FROM');
  if (mailFrom !== undefined) settings.mailFrom = mailFrom;
  const workers = nonEmpty(env, 'WORKERS');
  if (workers !== undefined) {
    const parsed = parseWorkersSetting(workers);
    if (parsed === undefined) throw new ConfigError('WORKERS', `must be a whole number from 1 to ${MAX_WORKERS}, or auto (got "${workers}")`);
    settings.workers = parsed;
  }
  const publishDelay = nonEmpty(env, 'KEY_PUBLISH_DELAY_SECONDS');
  if (publishDelay !== undefined) {
    settings.keys.publishDelaySeconds = parseOrThrow(settingsSchema.shape.keys.shape.publishDelaySeconds, Number(publishDelay), 'KEY_PUBLISH_DELAY_SECONDS');
  }
  const keyringPoll = nonEmpty(env, 'KEYRING_POLL_SECONDS');
  if (keyringPoll !== undefined) {
    settings.keys.pollIntervalSeconds = parseOrThrow(settingsSchema.shape.keys.shape.pollIntervalSeconds, Number(keyringPoll), 'KEYRING_POLL_SECONDS');
  }
  // An instance that reads a rotation after its keys started signing would sign with a key it never published.
  if (settings.keys.publishDelaySeconds > 0 && settings.keys.pollIntervalSeconds >= settings.keys.publishDelaySeconds) {
    throw new ConfigError('KEYRING_POLL_SECONDS', `must be shorter than the publish delay (${settings.keys.publishDelaySeconds} s)`);
  }
  const metricsPort = nonEmpty(env, 'METRICS_PORT');
  if (metricsPort !== undefined) settings.metrics.port = parsePort(metricsPort, 'METRICS_PORT');
  if (settings.metrics.port === settings.port) throw new ConfigError('METRICS_PORT', `must differ from PORT (${settings.port})`);
  const metricsToken = nonEmpty(env, 'METRICS_TOKEN');
  if (metricsToken !== undefined && metricsToken.length < 16) {
    throw new ConfigError('METRICS_TOKEN', 'must be at least 16 characters long (e.g. `openssl rand -hex 16`)');
  }

  const secretKey = nonEmpty(env, 'SECRET_KEY');
  if (secretKey !== undefined && secretKey.length < 32) {
    throw new ConfigError('SECRET_KEY', 'must be at least 32 characters long (e.g. `openssl rand -base64 32`)');
  }
  if (secretKey === undefined && nodeEnv === 'production') {
    throw new ConfigError('SECRET_KEY', 'is required when NODE_ENV=production (e.g. `openssl rand -base64 32`)');
  }

  const mongodbUri = nonEmpty(env, 'MONGODB_URI');
  const redisUrl = nonEmpty(env, 'REDIS_URL');
  const smtpUrl = nonEmpty(env, 'SMTP_URL');
  const issuer = parseIssuer(nonEmpty(env, 'ISSUER') ?? `http://localhost:${settings.port}`, nodeEnv);
  const mailOutboxSetting = nonEmpty(env, 'MAIL_OUTBOX');
  const mailOutbox = mailOutboxSetting !== undefined && parseBoolean('MAIL_OUTBOX', mailOutboxSetting);
  // The outbox keeps every mail, live links included, in files on the server and reaches no one:
  // a production server without SMTP is a mistake unless chosen on purpose.
  if (smtpUrl === undefined && nodeEnv === 'production' && !mailOutbox) {
    throw new ConfigError('SMTP_URL',
      'is required when NODE_ENV=production (or set MAIL_OUTBOX=true to write mail to DATA_DIR/outbox on purpose)');
  }

  return {
    ...settings,
    nodeEnv,
    issuer,
    mongodbUri: mongodbUri && parseUrl('MONGODB_URI', mongodbUri, ['mongodb:', 'mongodb+srv:']),
    redisUrl: redisUrl && checkRedisUrl(redisUrl),
    smtpUrl: smtpUrl && parseUrl('SMTP_URL', smtpUrl, ['smtp:', 'smtps:']),
    mailOutbox,
    secretKey,
    workers: resolveWorkerCount(settings.workers, nodeEnv),
    metricsToken,
    scopes: parseOrThrow(scopeCatalogSchema, readJson(join(configDir, 'scopes.json')), join(configDir, 'scopes.json')),
    roles: parseOrThrow(roleCatalogSchema, readJson(join(configDir, 'roles.json')), join(configDir, 'roles.json')),
  };
}

/** For process entries: the loaded configuration, or one line naming the bad setting and exit 1. */
export function loadOrExit<T>(program: string, load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${program}: configuration error: ${error.message}\n`);
    return process.exit(1);
  }
}
