// The container files, checked by reading them (no Docker engine runs here; issue 13 item 7): the
// Dockerfile is multi-stage on the official Node 24 slim image, runs as a non-root user and has a
// HEALTHCHECK; docker-compose.yml parses and has the services the README promises, wired as it says.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(`${ROOT}${file}`, 'utf8');

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
}

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const instructions = dockerfile.split('\n').filter((line) => /^[A-Z]+ /.test(line));

  it('builds in two stages from the official Node 24 slim image and runs as the unprivileged node user, with a health check', () => {
    const stages = instructions.filter((line) => line.startsWith('FROM '));
    expect(stages).toHaveLength(2);
    for (const stage of stages) expect(stage).toMatch(/^FROM node:24-[a-z]+-slim( AS \w+)?$/);
    // The first compiles (npm run build) and keeps the production dependencies only; the second carries both.
    expect(instructions).toContain('RUN npm run build && npm prune --omit=dev --no-audit --no-fund');
    expect(instructions).toContain('COPY --from=build /app/node_modules ./node_modules');
    expect(instructions).toContain('COPY --from=build /app/dist ./dist');
    const user = instructions.filter((line) => line.startsWith('USER ')).at(-1);
    expect(user).toBe('USER node');
    expect(instructions.indexOf(user!)).toBeLessThan(instructions.findIndex((line) => line.startsWith('CMD ')));
    expect(dockerfile).toMatch(/HEALTHCHECK [^\n]*\\\n\s+CMD node -e "fetch\('http:\/\/127\.0\.0\.1:' \+ process\.env\.PORT \+ '\/readyz'\)/);
    expect(instructions.at(-1)).toBe('CMD ["node", "dist/main.js"]');
    // What `npm start` runs, too.
    expect((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start).toBe('npm run build && node dist/main.js');
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml')) as { services: Record<string, Service> };
  const { services } = compose;

  it('has MongoDB as a one-node replica set, Redis append-only, the migration step, two replicas and a proxy', () => {
    expect(Object.keys(services).sort()).toEqual(['auth-1', 'auth-2', 'migrate', 'mongo', 'proxy', 'redis']);
    expect(services.mongo!.image).toMatch(/^mongo:\d/);
    expect(services.mongo!.command).toEqual(['mongod', '--replSet', 'rs0', '--bind_ip_all']);
    expect(services.redis!.command).toEqual(['redis-server', '--appendonly', 'yes']);
    expect(services.migrate!.command).toEqual(['node', 'bin/tokenim-auth.js', 'db', 'create-indexes']);
  });

  it('runs both replicas from this image on the same stores, behind the proxy, trusting its headers', () => {
    for (const name of ['auth-1', 'auth-2']) {
      const replica = services[name]!;
      expect(replica.build).toBe('.');
      expect(replica.environment).toMatchObject({
        MONGODB_URI: 'mongodb://mongo:27017/tokenim?replicaSet=rs0&w=majority', REDIS_URL: 'redis://redis:6379', TRUST_PROXY: 'true',
      });
      expect(replica.environment!.SECRET_KEY).toContain('${SECRET_KEY:?');
      expect(replica.depends_on).toMatchObject({ mongo: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' },
        migrate: { condition: 'service_completed_successfully' } });
      expect(replica.ports).toBeUndefined(); // reached through the proxy only
    }
    expect(services.proxy!.image).toMatch(/^caddy:2/);
    expect(services.proxy!.command!.filter((arg, i, all) => all[i - 1] === '--to')).toEqual(['auth-1:3000', 'auth-2:3000']);
    expect(services.proxy!.ports).toEqual(['8080:8080']);
  });

  it('is what the README describes', () => {
    const readme = read('README.md');
    for (const name of Object.keys(services)) expect(readme).toContain(`\`${name}\``);
    expect(readme).toContain('SECRET_KEY=$(openssl rand -base64 32) docker compose up --build');
  });
});
