import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@lifecycle/kit';
import { buildEml } from '../domain/eml-message.ts';
import type { OutgoingMail } from '../domain/outgoing-mail.ts';
import type { MailTransport } from './mail-transport.ts';

export interface OutboxTransportOptions {
  /** Created when missing. */
  dir: string;
  logger: Logger;
  now: () => Date;
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** Readable, safe on every file system, and the same for the same dedupe key. */
export function outboxFileName(dedupeKey: string): string {
  const readable = dedupeKey
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80);
  return `${readable === '' ? 'message' : readable}-${digest(dedupeKey).slice(0, 12)}.eml`;
}

function messageIdFor(mail: OutgoingMail): string {
  const domain = mail.from.email.split('@')[1] ?? 'lifecycle.local';
  return `${digest(mail.tags.dedupeKey).slice(0, 32)}@${domain}`;
}

/**
 * Writes each message as an .eml file instead of sending it: for development without a
 * SendGrid key. The file for a dedupe key is written whole (temp file, then rename), so a
 * repeated write replaces it instead of adding a second message.
 */
export function createOutboxTransport(opts: OutboxTransportOptions): MailTransport {
  // Made once, and again should it be removed while the service runs.
  let made: Promise<unknown> | undefined;
  return {
    name: 'outbox',
    send: async (mail) => {
      const messageId = messageIdFor(mail);
      const eml = buildEml(mail, { messageId, date: opts.now(), boundary: `=_lifecycle_${randomBytes(12).toString('hex')}` });
      const path = join(opts.dir, outboxFileName(mail.tags.dedupeKey));
      const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        made ??= mkdir(opts.dir, { recursive: true });
        await made;
        try {
          await writeFile(temp, eml, 'utf8');
        } catch (err) {
          // The folder went away since it was made: make it again.
          if (!(err instanceof Error && 'code' in err && err.code === 'ENOENT')) throw err;
          made = mkdir(opts.dir, { recursive: true });
          await made;
          await writeFile(temp, eml, 'utf8');
        }
        await rename(temp, path);
      } catch (err) {
        made = undefined;
        await rm(temp, { force: true }).catch(() => undefined);
        // Nothing reached a reader: a full or read-only disk is worth trying again.
        return { kind: 'retryable', status: null, error: `could not write the outbox file: ${err instanceof Error ? err.message : String(err)}` };
      }
      opts.logger.info({ path, messageId: mail.tags.messageId }, 'message written to outbox');
      return { kind: 'accepted', providerMessageId: messageId };
    },
  };
}
