import type { Command } from '@lifecycle/kit/command';

/** The usage lines of the classifier's commands; `./lifecycle` names them `classifier:<name>`. */
export function classifierUsage(prefix = ''): string {
  return `  ${`${prefix}rebuild`.padEnd(22)}With the classifier stopped: reset its schema and consumer offsets, so its next
                        start rebuilds every profile from the retained events; exits 1 while it runs.`;
}

export const classifierCommands = {
  rebuild: async (args, ctx) => (await import('./rebuild-command.ts')).rebuildCommand(args, ctx),
} satisfies Record<string, Command>;
