import type { Command } from './command.ts';
import { USER_COMMANDS } from './user-commands.ts';
import { CLIENT_COMMANDS } from './client-commands.ts';
import { SYSTEM_COMMANDS } from './system-commands.ts';
import { AUDIT_COMMANDS } from './audit-commands.ts';

/** Every `tokenim-auth <area> <verb>` command, in the order `--help` lists them. */
export const COMMANDS: Record<string, Command> = { ...USER_COMMANDS, ...CLIENT_COMMANDS, ...SYSTEM_COMMANDS, ...AUDIT_COMMANDS };
