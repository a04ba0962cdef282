import type { Command, CommandContext } from '@lifecycle/kit/command';
import type { CampaignTemplateUse } from '@lifecycle/contracts';

// Each command loads its modules when run, so `help` answers without loading kafkajs, pg or handlebars.

/** The usage lines of messaging's commands, as `./lifecycle help` shows them too. */
export const messagingUsage = `  templates:check       Compile every template and render each locale with its sample.json; exits 1
                        naming file and line when a variable is missing or a template is broken, or
                        when a template uses data its campaign does not send.
  templates:preview ID  Render a template's sample to an HTML file (--locale L, --out FILE).
  templates:send-test ID --to ADDR
                        Send a template's sample to an address (SendGrid with SENDGRID_API_KEY, else outbox).
  consent:lift TARGET   Lift a hard bounce or spam complaint that stops marketing mail, for a customer id
                        or an email address (all customers at it); publishes the change on consent.changes.
                        A customer's own unsubscribe is not lifted: only their re-subscription does that.
  messages:doubtful     List doubtful sends (a SendGrid call whose answer was lost) that SendGrid's
                        webhook has not settled, oldest first, and releases not taken up yet.
      --older-than AGE    only those doubtful at least that long (default 1h; 30m, 2d, 0 for all)
  messages:release-doubtful DEDUPE_KEY | --all-older-than AGE
                        Release one doubtful send, or every one listed with that age, for one more
                        try: messaging sends it again (a second copy if the first did go out).
  coupons:import POOL FILE.csv
                        Load a shop's discount codes (Shopify/WooCommerce export: a Code, Discount Code,
                        discount_code, coupon_code or post_title column, or one column) into an
                        imported pool of campaigns/_coupons.yaml; codes already known are left alone.
  coupons:export POOL [FILE.csv]
                        A pool's codes with issued_at, expires_at, campaign_id and redeemed_at (stdout
                        without a file), e.g. to load generated codes into the shop.
  coupons:status        Each pool's codes left, issued and redeemed; exits 1 when one is running low.`;

export const messagingCommands = {
  'templates:check': async (args, ctx) => (await import('./template-commands.ts')).templatesCheck(args, ctx),
  'templates:preview': async (args, ctx) => (await import('./template-commands.ts')).templatesPreview(args, ctx),
  'templates:send-test': async (args, ctx) => (await import('./template-commands.ts')).templatesSendTest(args, ctx),
  'consent:lift': async (args, ctx) => (await import('./operator-commands.ts')).consentLiftCommand(args, ctx),
  'messages:doubtful': async (args, ctx) => (await import('./operator-commands.ts')).doubtfulListCommand(args, ctx),
  'messages:release-doubtful': async (args, ctx) => (await import('./operator-commands.ts')).doubtfulReleaseCommand(args, ctx),
  'coupons:import': async (args, ctx) => (await import('./coupon-commands.ts')).couponsImportCommand(args, ctx),
  'coupons:export': async (args, ctx) => (await import('./coupon-commands.ts')).couponsExportCommand(args, ctx),
  'coupons:status': async (args, ctx) => (await import('./coupon-commands.ts')).couponsStatusCommand(args, ctx),
} satisfies Record<string, Command>;

/**
 * The problems of the campaigns' templates: each must exist, and its `sample.json` hold only
 * data its campaign sends. For `./lifecycle campaigns:check`, which checks the campaign files
 * with the scheduler and their templates with this. The folder defaults to `TEMPLATES_DIR`.
 */
export async function campaignTemplateProblems(campaigns: readonly CampaignTemplateUse[], templatesDir: string | undefined, env: CommandContext['env']): Promise<string[]> {
  const { templatesDir: resolveDir } = await import('./template-commands.ts');
  return (await import('./campaign-samples.ts')).checkCampaignSamples(campaigns, resolveDir(templatesDir, env));
}
