import type { RoleCatalog, ScopeCatalog } from '../config/schema.ts';
import { ConfigError } from '../config/load-config.ts';

export type Locale = 'en' | 'zh-CN';

export interface PermissionCatalog {
  /** OIDC scopes (openid, profile, …): the provider's `scopes`. */
  oidcScopes: string[];
  /** Permission scopes of the TokenIM API. */
  apiScopes: string[];
  isKnownScope(scope: string): boolean;
  describeScope(scope: string, locale: Locale): string;
  roleNames: string[];
  defaultRole: string;
  isKnownRole(role: string): boolean;
  /** The API scopes the given roles allow (inherited roles and "*" expanded). */
  scopesForRoles(roles: readonly string[]): Set<string>;
  /** How a role is named to people in `locale` (its label in config/roles.json, else its id). */
  describeRole(role: string, locale: Locale): string;
  /** The roles that allow `scope`, to tell a person which one they would need. */
  rolesGranting(scope: string): string[];
  /** True when any of the roles (or one they inherit) requires two-factor sign-in. */
  rolesRequireMfa(roles: readonly string[]): boolean;
  /** What the roles open of the admin console: every action, reading only, or nothing. */
  consoleAccess(roles: readonly string[]): ConsoleAccess;
}

/** `write` includes `read`. */
export type ConsoleAccess = 'write' | 'read' | undefined;

/** Builds the catalog from config/scopes.json and config/roles.json, checking that they agree. */
export function buildPermissionCatalog(scopes: ScopeCatalog, roles: RoleCatalog): PermissionCatalog {
  const oidcScopes = Object.keys(scopes.oidc);
  const apiScopes = Object.keys(scopes.api);
  const descriptions = new Map(Object.entries({ ...scopes.oidc, ...scopes.api }));
  const roleNames = Object.keys(roles.roles);

  if (!roles.roles[roles.defaultRole]) {
    throw new ConfigError('config/roles.json defaultRole', `names no role ("${roles.defaultRole}")`);
  }
  for (const [name, role] of Object.entries(roles.roles)) {
    for (const parent of role.inherits ?? []) {
      if (!roles.roles[parent]) throw new ConfigError(`config/roles.json roles.${name}.inherits`, `names no role ("${parent}")`);
    }
    if (role.adminConsole && !role.requiresMfa) {
      throw new ConfigError(`config/roles.json roles.${name}.requiresMfa`, 'must be true: the role opens the admin console');
    }
    for (const scope of role.scopes) {
      if (scope !== '*' && !scopes.api[scope]) {
        throw new ConfigError(`config/roles.json roles.${name}.scopes`, `"${scope}" is not in config/scopes.json api`);
      }
    }
  }

  const expand = (name: string, seen: Set<string>, into: Set<string>) => {
    if (seen.has(name)) return;
    seen.add(name);
    const role = roles.roles[name];
    if (!role) return;
    for (const scope of role.scopes) {
      if (scope === '*') apiScopes.forEach((s) => into.add(s));
      else into.add(scope);
    }
    for (const parent of role.inherits ?? []) expand(parent, seen, into);
  };

  const scopesForRoles = (assigned: readonly string[]): Set<string> => {
    const into = new Set<string>();
    const seen = new Set<string>();
    for (const role of assigned) expand(role, seen, into);
    return into;
  };

  return {
    oidcScopes,
    apiScopes,
    isKnownScope: (scope) => descriptions.has(scope),
    describeScope: (scope, locale) => descriptions.get(scope)?.[locale] ?? scope,
    roleNames,
    defaultRole: roles.defaultRole,
    isKnownRole: (role) => Object.hasOwn(roles.roles, role),
    describeRole: (role, locale) => (Object.hasOwn(roles.roles, role) ? roles.roles[role]!.label?.[locale] : undefined) ?? role,
    rolesGranting(scope) {
      return roleNames.filter((role) => scopesForRoles([role]).has(scope));
    },
    rolesRequireMfa(assigned) {
      const seen = new Set<string>();
      const requires = (name: string): boolean => {
        if (seen.has(name)) return false;
        seen.add(name);
        const role = roles.roles[name];
        return Boolean(role?.requiresMfa) || (role?.inherits ?? []).some(requires);
      };
      return assigned.some(requires);
    },
    consoleAccess(assigned) {
      const levels = assigned.map((name) => (Object.hasOwn(roles.roles, name) ? roles.roles[name]!.adminConsole : undefined));
      if (levels.includes(true)) return 'write';
      return levels.includes('read') ? 'read' : undefined;
    },
    scopesForRoles,
  };
}
