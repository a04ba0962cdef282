#!/usr/bin/env node
import { runCommandLine } from '@lifecycle/kit/command';
import { classifierCommands, classifierUsage } from './commands.ts';

/** `lifecycle-classifier <command>` (this package's bin): the classifier's operator commands. */
await runCommandLine({
  program: 'classifier',
  usage: `Usage: lifecycle-classifier <command>\n\nCommands:\n${classifierUsage()}\n\nSettings come from the service's environment (DATABASE_URL, KAFKA_BROKERS, TOPIC_PREFIX).`,
  commands: classifierCommands,
  argv: process.argv.slice(2),
});
