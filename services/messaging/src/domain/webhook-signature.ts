import { createPublicKey, verify, type KeyObject } from 'node:crypto';

/**
 * SendGrid's verification key as shown in its settings: base64 of the DER public key, or a PEM
 * block. Throws when it is not an EC P-256 public key: config parsing turns that into an error
 * naming the variable.
 */
export function parseWebhookPublicKey(value: string): KeyObject {
  const trimmed = value.trim();
  const key = trimmed.startsWith('-----BEGIN')
    ? createPublicKey(trimmed)
    : createPublicKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new TypeError('expected an ECDSA P-256 public key');
  }
  return key;
}

/**
 * Checks SendGrid's Event Webhook signature: ECDSA P-256 with SHA-256 over the timestamp header
 * followed by the raw request body, as base64 DER. The body must be the exact bytes received.
 */
export function verifyWebhookSignature(key: KeyObject, signature: string | undefined, timestamp: string | undefined, rawBody: Buffer): boolean {
  if (signature === undefined || timestamp === undefined || signature === '' || timestamp === '') return false;
  try {
    return verify('sha256', Buffer.concat([Buffer.from(timestamp, 'utf8'), rawBody]), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
