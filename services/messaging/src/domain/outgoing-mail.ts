import type { MessageRequested } from '@lifecycle/contracts';
import type { RenderedContent } from './template-engine.ts';

export interface MailAddress {
  email: string;
  name?: string;
}

/** Ids that travel with a message so provider webhooks and outbox files lead back to it. */
export interface MailTags {
  messageId: string;
  dedupeKey: string;
  campaignId: string;
  customerId: string;
  /** The A/B variant, so SendGrid's events can be read per variant too. */
  variant?: string;
}

/** One rendered message, ready for any transport. */
export interface OutgoingMail {
  from: MailAddress;
  to: MailAddress;
  subject: string;
  text: string;
  html: string;
  categories: string[];
  tags: MailTags;
  /** Extra headers, e.g. `List-Unsubscribe` on marketing mail. */
  headers?: Record<string, string>;
}

export interface Sender {
  fromName: string;
  fromEmail: string;
}

/** Puts a request, its template's sender and the rendered content together. */
export function composeMail(request: MessageRequested, sender: Sender, content: RenderedContent, headers?: Record<string, string>): OutgoingMail {
  const { payload } = request;
  return {
    from: { email: sender.fromEmail, name: sender.fromName },
    to: payload.recipient.name === undefined ? { email: payload.recipient.email } : { email: payload.recipient.email, name: payload.recipient.name },
    subject: content.subject,
    text: content.text,
    html: content.html,
    categories: [payload.templateId, payload.category],
    tags: {
      messageId: request.id,
      dedupeKey: payload.dedupeKey,
      campaignId: payload.campaignId,
      customerId: request.customerId,
      ...(payload.variant !== undefined ? { variant: payload.variant } : {}),
    },
    ...(headers === undefined ? {} : { headers }),
  };
}
