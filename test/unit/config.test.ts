import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config/load-config.ts';
import { settingsSchema } from '../../src/config/schema.ts';

// Everything production requires except mail.
const PRODUCTION = { NODE_ENV: 'production', ISSUER: 'https://id.example.com', SECRET_KEY: 'k'.repeat(32) };

describe('loadConfig', () => {
  it('defaults: port 3000, issuer on localhost, ./data, no external stores', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 3000, issuer: 'http://localhost:3000', nodeEnv: 'development',
      mongodbUri: undefined, redisUrl: undefined, smtpUrl: undefined, mailOutbox: false, logLevel: 'info', trustProxy: false });
    expect(config.dataDir).toMatch(/\/data$/);
  });

  it('environment overrides the files', () => {
    const config = loadConfig({ PORT: '8080', TRUST_PROXY: 'true', REDIS_URL: 'redis://127.0.0.1:6380', LOG_LEVEL: 'debug' });
    expect(config).toMatchObject({ port: 8080, issuer: 'http://localhost:8080', trustProxy: true,
      redisUrl: 'redis://127.0.0.1:6380', logLevel: 'debug' });
  });

  it.each([
    [{ PORT: '0' }, 'PORT: must be a whole number from 1 to 65535 (got "0")'],
    [{ PORT: '3000abc' }, 'PORT: must be a whole number from 1 to 65535 (got "3000abc")'],
    [{ ISSUER: 'not a url' }, 'ISSUER: is not a valid URL (got "not a url")'],
    [{ ISSUER: 'http://id.example.com?x=1' }, 'ISSUER: must not have a query or a fragment'],
    [{ NODE_ENV: 'production', SECRET_KEY: 'k'.repeat(32) }, 'ISSUER: must be an https:// URL when NODE_ENV=production'],
    [{ NODE_ENV: 'production', ISSUER: 'https://id.example.com' }, 'SECRET_KEY: is required when NODE_ENV=production'],
    [{ SECRET_KEY: 'short' }, 'SECRET_KEY: must be at least 32 characters long'],
    [{ REDIS_URL: 'http://127.0.0.1:6379' }, 'REDIS_URL: must look like redis://host:6379, redis-sentinel://host:26379?name=mymaster or redis-cluster://host:6379'],
    [{ REDIS_URL: 'redis-sentinel://10.0.0.1:26379,10.0.0.2' }, 'REDIS_URL: a redis-sentinel:// URL names the master: ?name=mymaster'],
    [{ MONGODB_URI: 'postgres://x' }, 'MONGODB_URI: must start with mongodb:// or mongodb+srv://'],
    [{ TRUST_PROXY: 'maybe' }, 'TRUST_PROXY: must be true or false (got "maybe")'],
    [{ MAIL_OUTBOX: 'sometimes' }, 'MAIL_OUTBOX: must be true or false (got "sometimes")'],
    [{ SMTP_URL: 'http://mail.example.com' }, 'SMTP_URL: must start with smtp:// or smtps://'],
    [{ ...PRODUCTION }, 'SMTP_URL: is required when NODE_ENV=production (or set MAIL_OUTBOX=true to write mail to DATA_DIR/outbox on purpose)'],
    [{ ...PRODUCTION, MAIL_OUTBOX: 'false' }, 'SMTP_URL: is required when NODE_ENV=production'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV: must be development, production or test (got "staging")'],
    [{ KEY_PUBLISH_DELAY_SECONDS: '-1' }, 'KEY_PUBLISH_DELAY_SECONDS'],
    [{ KEY_PUBLISH_DELAY_SECONDS: '4' }, 'KEYRING_POLL_SECONDS: must be shorter than the publish delay (4 s)'],
  ])('%j stops with a line naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('signing-key rotation: a 10-minute publish delay and a 5 s keyring poll by default, both settable from the environment', () => {
    expect(loadConfig({}).keys).toEqual({ publishDelaySeconds: 600, pollIntervalSeconds: 5 });
    expect(loadConfig({ KEY_PUBLISH_DELAY_SECONDS: '2', KEYRING_POLL_SECONDS: '0.25' }).keys).toEqual({ publishDelaySeconds: 2, pollIntervalSeconds: 0.25 });
  });

  it('accepts a production setup', () => {
    const config = loadConfig({ ...PRODUCTION, ISSUER: 'https://id.tokenim.example/', SMTP_URL: 'smtps://mail.tokenim.example' });
    expect(config).toMatchObject({ issuer: 'https://id.tokenim.example', smtpUrl: 'smtps://mail.tokenim.example', mailOutbox: false });
  });

  it('clients: keys made on /developers live 90 days, none longer than 365 days; a default above the maximum is refused', () => {
    expect(loadConfig({}).clients).toMatchObject({ secretLifetimeSeconds: 7_776_000, maxSecretLifetimeSeconds: 31_536_000 });
    const clients = { ...loadConfig({}).clients };
    const { clients: schema } = settingsSchema.shape;
    expect(schema.safeParse({ ...clients, maxSecretLifetimeSeconds: 0, secretLifetimeSeconds: 10 ** 9 }).success).toBe(true);
    expect(schema.safeParse({ ...clients, commandLineSecretLifetimeSeconds: 31_536_001 }).success).toBe(false);
    expect(schema.safeParse({ ...clients, secretLifetimeSeconds: 31_536_001 }).success).toBe(false);
    expect(schema.safeParse({ ...clients, secretLifetimeSeconds: 0 }).success).toBe(false);
  });

  it('accepts production without SMTP when MAIL_OUTBOX=true says the outbox is meant', () => {
    expect(loadConfig({ ...PRODUCTION, MAIL_OUTBOX: 'true' })).toMatchObject({ smtpUrl: undefined, mailOutbox: true });
  });
});
