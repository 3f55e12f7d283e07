/**
 * Playwright gives each launch a fresh, empty profile.
 * Debian's Chromium for browser tests (never a downloaded browser). Where it
 * is missing the tests skip with the reason printed, unless REQUIRE_BROWSER=1
 * (CI), where a missing browser is a failure.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasBrowser = existsSync(CHROMIUM);
if (!hasBrowser) {
  const why = `Browser tests need Chromium at ${CHROMIUM} (apt-get install chromium).`;
  if (process.env.REQUIRE_BROWSER === '1') throw new Error(`${why} REQUIRE_BROWSER=1, so this is a failure.`);
  console.warn(`SKIP: ${why}`);
}

export async function launchChromium(opts: { webgpu?: boolean } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      ...(opts.webgpu ? ['--enable-unsafe-webgpu'] : []),
    ],
  });
}
