import { z } from 'zod';

/** The parts of vitest's JSON report (`--reporter=json`) the totals come from. */
export const VitestReport = z.object({
  numPassedTests: z.number().int(),
  numFailedTests: z.number().int(),
  testResults: z
    .array(
      z.object({
        name: z.string(),
        status: z.string(),
        message: z.string().optional(),
        assertionResults: z.array(z.object({ status: z.string() })).default([]),
      }),
    )
    .default([]),
});
export type VitestReport = z.infer<typeof VitestReport>;

export interface CheckResult {
  /** e.g. "type-check". */
  name: string;
  ok: boolean;
}

export interface TestTotals {
  passed: number;
  failed: number;
  /** Why a failure counted beyond the failed tests. */
  notes: string[];
}

/**
 * The totals `./lifecycle test` ends with. Failed tests count one each; so does a failed
 * check (type-check, lint, set-up), a test file that failed without a failed test (it did not
 * load), and a vitest run that failed with nothing else to show for it, so a red run never
 * reads "0 failed".
 */
export function testTotals(checks: CheckResult[], vitest: { exitCode: number; report: VitestReport | undefined } | undefined): TestTotals {
  const notes: string[] = [];
  let failed = 0;
  for (const check of checks) {
    if (check.ok) continue;
    failed += 1;
    notes.push(`${check.name} failed`);
  }
  if (vitest === undefined) return { passed: 0, failed, notes };
  const { report, exitCode } = vitest;
  if (report === undefined) {
    notes.push(`vitest exited with code ${exitCode} and wrote no report`);
    return { passed: 0, failed: failed + 1, notes };
  }
  let vitestFailed = report.numFailedTests;
  for (const file of report.testResults) {
    if (file.status !== 'failed' || file.assertionResults.some((a) => a.status === 'failed')) continue;
    vitestFailed += 1;
    notes.push(`${file.name} failed to run${file.message ? `: ${file.message.split('\n')[0]}` : ''}`);
  }
  if (exitCode !== 0 && vitestFailed === 0) {
    vitestFailed = 1;
    notes.push(`vitest exited with code ${exitCode}`);
  }
  return { passed: report.numPassedTests, failed: failed + vitestFailed, notes };
}

export function totalsLine(totals: TestTotals): string {
  return `${totals.passed} passed, ${totals.failed} failed`;
}
