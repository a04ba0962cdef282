import { describe, expect, it } from 'vitest';
import { loadConfig } from '@lifecycle/messaging';
import { DEMO_WEBHOOK_PUBLIC_KEY } from './demo/demo-webhook-key.ts';
import { simulatedStackDefaults } from './start-stack.ts';

describe('the defaults of a stack on a simulated clock', () => {
  it('gives messaging the demo’s webhook key, which its config accepts', () => {
    const defaults = simulatedStackDefaults({ CLOCK: 'simulated' });
    expect(defaults).toEqual({ SENDGRID_WEBHOOK_PUBLIC_KEY: DEMO_WEBHOOK_PUBLIC_KEY });
    expect(loadConfig({ CLOCK: 'simulated', ...defaults }).SENDGRID_WEBHOOK_PUBLIC_KEY).toBe(DEMO_WEBHOOK_PUBLIC_KEY);
  });

  it('leaves a key that is set, and a stack on the system clock, as they are', () => {
    expect(simulatedStackDefaults({ CLOCK: 'simulated', SENDGRID_WEBHOOK_PUBLIC_KEY: 'theirs' })).toEqual({});
    expect(simulatedStackDefaults({ CLOCK: 'system' })).toEqual({});
    expect(simulatedStackDefaults({})).toEqual({});
  });
});
