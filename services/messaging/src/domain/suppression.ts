/** Why an address gets no more marketing mail. */
export const suppressionReasons = ['unsubscribed', 'bounced', 'spam-report'] as const;
export type SuppressionReason = (typeof suppressionReasons)[number];

/** Where the suppression came from. */
export const suppressionSources = ['unsubscribe-link', 'email-unsubscribed-event', 'sendgrid-webhook'] as const;
export type SuppressionSource = (typeof suppressionSources)[number];

/** Suppressions are kept per address, compared without regard to case. */
export function normalizeAddress(email: string): string {
  return email.trim().toLowerCase();
}
