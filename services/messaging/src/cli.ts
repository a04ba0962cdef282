#!/usr/bin/env node
import { runCommandLine } from '@lifecycle/kit/command';
import { messagingCommands, messagingUsage } from './commands.ts';

/** `lifecycle-messaging <command>` (this package's bin): messaging's marketer and operator commands. */
await runCommandLine({
  program: 'messaging',
  usage: `Usage: lifecycle-messaging <command> [options]\n\nCommands:\n${messagingUsage}\n\nSettings come from the service's environment (DATABASE_URL, KAFKA_BROKERS, TOPIC_PREFIX, TEMPLATES_DIR, …).`,
  commands: messagingCommands,
  argv: process.argv.slice(2),
});
