import { describe, expect, it } from 'vitest';
import { realClockEnv } from './kafka-broker.ts';

describe('the environment of a broker a test starts', () => {
  it('leaves libfaketime out, so the broker keeps real time while the test processes run ahead', () => {
    const env = realClockEnv({
      PATH: '/usr/bin',
      LD_PRELOAD: '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 /opt/other.so',
      FAKETIME: '+400d',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    });
    expect(env).toEqual({ PATH: '/usr/bin', LD_PRELOAD: '/opt/other.so' });
  });

  it('drops LD_PRELOAD when libfaketime was all it held', () => {
    expect(realClockEnv({ LD_PRELOAD: '/usr/lib/faketime/libfaketimeMT.so.1', HOME: '/root' })).toEqual({ HOME: '/root' });
  });
});
