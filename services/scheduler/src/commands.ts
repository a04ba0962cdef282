import type { Command } from '@lifecycle/kit/command';
import type { TemplateProblems } from './campaign-commands.ts';

/** The usage lines of the scheduler's commands, as `./lifecycle help` shows them too. */
export const schedulerUsage = `  campaigns:check       Validate every campaigns/*.yaml (file, line and field of each mistake) and that
                        each campaign's templates exist and use only the data it sends; exits 1 on error.
  catalog:import FILE   Products into the scheduler's catalog from CSV or JSON (product_id, sku, name, category,
                        price, currency, url, image_url, stock); plans back-in-stock and price-drop mails.`;

export const schedulerCommands = {
  'campaigns:check': async (args, ctx) => (await import('./campaign-commands.ts')).campaignsCheck(args, ctx),
  'catalog:import': async (args, ctx) => (await import('./catalog-commands.ts')).catalogImportCommand(args, ctx),
} satisfies Record<string, Command>;

/** `campaigns:check` with a check of the campaigns' templates by their owner (messaging), as `./lifecycle` runs it. */
export function campaignsCheckWith(templateProblems: TemplateProblems): Command {
  return async (args, ctx) => (await import('./campaign-commands.ts')).campaignsCheck(args, ctx, templateProblems);
}

/** The problems `campaigns:check` (with the templates' check given) finds in a campaign folder; none when it passes. */
export async function campaignFolderProblems(dir: string, templateProblems?: TemplateProblems): Promise<string[]> {
  return (await (await import('./campaign-commands.ts')).checkCampaignFolder(dir, templateProblems)).problems;
}
