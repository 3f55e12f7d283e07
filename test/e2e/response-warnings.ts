/** Shared by the e2e tests of models that barely respond: the Results page's first card against Node's analysis. */
import { expect } from 'vitest';
import type { Page } from 'playwright-core';
import { expectClose } from '../support/close';
import { copyingWarning, sensitivityWarning } from '../../src/app/decision-diagnostics';
import type { DecisionConditionAnalysis, ReportConditionAnalysis } from '../../src/app/run-analysis';

/**
 * The barely-responds and copied warnings are the page's first card, in the words Node gives, and
 * their numbers (and the copied share in the report table) equal Node's within 1e-9.
 */
export async function expectResponseWarnings(page: Page, d: DecisionConditionAnalysis, r: ReportConditionAnalysis): Promise<void> {
  const warnings = page.getByTestId('response-warnings');
  await warnings.waitFor({ timeout: 60_000 });
  const barely = warnings.getByTestId('barely-responds');
  expect(await barely.textContent()).toContain(sensitivityWarning(d)!);
  expect(await barely.textContent()).toMatch(/^\s*This model's choices barely depend on the attributes: its learned weights are mostly noise\./);
  const copied = warnings.getByTestId('copied-warning');
  expect(await copied.textContent()).toContain(copyingWarning(r)!);
  const first = await page.evaluate(() => {
    const w = document.querySelector('[data-testid=response-warnings]')!;
    return Array.from(document.querySelectorAll('main section.card')).indexOf(w);
  });
  expect(first).toBe(0);
  const num = async (l: ReturnType<Page['locator']>, attr: string) => Number(await l.getAttribute(attr));
  expectClose(await num(barely, 'data-share-significant'), d.sensitivity!.shareSignificant);
  expectClose(await num(barely, 'data-lr-p-median'), d.sensitivity!.lrPMedian);
  expectClose(await num(barely, 'data-mean-abs-slope'), d.sensitivity!.meanAbsSlope);
  expectClose(await num(copied, 'data-copied-share'), r.copying.share);
  expectClose(await num(page.getByTestId('copied-share').first(), 'data-value'), r.copying.share);
}
