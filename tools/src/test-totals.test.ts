import { describe, expect, it } from 'vitest';
import { testTotals, totalsLine, type VitestReport } from './test-totals.ts';

const green: VitestReport = {
  numPassedTests: 12,
  numFailedTests: 0,
  testResults: [{ name: '/repo/a.test.ts', status: 'passed', assertionResults: [{ status: 'passed' }] }],
};

describe('testTotals', () => {
  it('reports the tests vitest counted when everything passed', () => {
    const totals = testTotals([{ name: 'type-check', ok: true }, { name: 'lint', ok: true }], { exitCode: 0, report: green });
    expect(totalsLine(totals)).toBe('12 passed, 0 failed');
  });

  it('counts a failed type-check and a failed lint as one failure each', () => {
    const totals = testTotals([{ name: 'type-check', ok: false }, { name: 'lint', ok: false }], { exitCode: 0, report: green });
    expect(totalsLine(totals)).toBe('12 passed, 2 failed');
    expect(totals.notes).toEqual(['type-check failed', 'lint failed']);
  });

  it('counts a test file that failed to load, which has no failed test of its own', () => {
    const report: VitestReport = {
      numPassedTests: 3,
      numFailedTests: 1,
      testResults: [
        { name: '/repo/a.test.ts', status: 'failed', assertionResults: [{ status: 'failed' }, { status: 'passed' }] },
        { name: '/repo/b.test.ts', status: 'failed', message: 'Failed to load url ./missing.ts\nmore', assertionResults: [] },
      ],
    };
    const totals = testTotals([], { exitCode: 1, report });
    expect(totalsLine(totals)).toBe('3 passed, 2 failed');
    expect(totals.notes).toEqual(['/repo/b.test.ts failed to run: Failed to load url ./missing.ts']);
  });

  it('never reads "0 failed" when vitest failed', () => {
    expect(totalsLine(testTotals([], { exitCode: 1, report: { ...green, testResults: [] } }))).toBe('12 passed, 1 failed');
    expect(totalsLine(testTotals([], { exitCode: 1, report: undefined }))).toBe('0 passed, 1 failed');
  });

  it('counts a set-up that kept vitest from running', () => {
    expect(totalsLine(testTotals([{ name: 'set-up', ok: false }, { name: 'lint', ok: true }], undefined))).toBe('0 passed, 1 failed');
  });
});
