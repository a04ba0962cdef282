/**
 * A DEMO/TEST key pair for SendGrid's signed Event Webhook, public on purpose: the demo signs its
 * customers' opens, clicks and unsubscribes with the private key, and a stack started with
 * CLOCK=simulated (and no SENDGRID_WEBHOOK_PUBLIC_KEY) lets messaging verify them with the public
 * one. Never use it for a stack that takes SendGrid's real events: anyone can sign with it.
 */

/** PKCS#8 PEM of the demo's ECDSA P-256 private key. */
export const DEMO_WEBHOOK_PRIVATE_KEY_PEM = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSqdpRZHKSI0Y9IBn
jTS7UiwNdaMBxJzXXWDbQOKh5iGhRANCAASkAyFIYX11153XwDn/EaX9TrgWqwyz
9/AnkVf5aJ9mXbdTRhYKgd94YhI9HGwQkq7RIp8LoMLJaTOd8nCIexF0
-----END PRIVATE KEY-----
`;

/** The matching public key as SendGrid shows a verification key: base64 of the DER (SPKI). */
export const DEMO_WEBHOOK_PUBLIC_KEY = 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEpAMhSGF9dded18A5/xGl/U64FqsMs/fwJ5FX+WifZl23U0YWCoHfeGISPRxsEJKu0SKfC6DCyWkznfJwiHsRdA==';
