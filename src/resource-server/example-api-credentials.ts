import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The example API's resource-server credentials, as `tokenim-auth example-api credentials` writes
 * them to DATA_DIR and the example API reads them at start: with them it polls GET /revocations.
 */
export interface ExampleApiCredentials {
  client_id: string;
  client_secret: string;
}

export const exampleApiCredentialsFile = (dataDir: string) => join(dataDir, 'example-im-api.json');

/** undefined when there is no file (or it is not such a file). */
export function readExampleApiCredentials(dataDir: string): ExampleApiCredentials | undefined {
  const file = exampleApiCredentialsFile(dataDir);
  if (!existsSync(file)) return undefined;
  try {
    const { client_id: clientId, client_secret: clientSecret } = JSON.parse(readFileSync(file, 'utf8')) as Partial<ExampleApiCredentials>;
    return typeof clientId === 'string' && typeof clientSecret === 'string' ? { client_id: clientId, client_secret: clientSecret } : undefined;
  } catch {
    return undefined;
  }
}

/** Readable by its owner only: it holds a client secret. */
export function writeExampleApiCredentials(dataDir: string, credentials: ExampleApiCredentials): string {
  const file = exampleApiCredentialsFile(dataDir);
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  // `mode` applies only when the file is created: an older file keeps its own unless set again.
  chmodSync(file, 0o600);
  return file;
}
