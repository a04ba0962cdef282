#!/usr/bin/env node
import { runCommandLine } from '@lifecycle/kit/command';
import { schedulerCommands, schedulerUsage } from './commands.ts';

/** `lifecycle-scheduler <command>` (this package's bin): the scheduler's marketer commands. */
await runCommandLine({
  program: 'scheduler',
  usage: `Usage: lifecycle-scheduler <command> [options]\n\nCommands:\n${schedulerUsage}\n\nSettings come from the service's environment (CAMPAIGNS_DIR, …). Here the templates are not checked;\nmessaging's templates:check checks them against the campaigns, and ./lifecycle campaigns:check does both.`,
  commands: schedulerCommands,
  argv: process.argv.slice(2),
});
