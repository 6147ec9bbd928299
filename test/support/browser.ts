// Finds a Chromium to drive with playwright-core (its own browser download cannot reach its host
// here: Debian's `chromium` package is what CI installs) and gives a browser suite one browser for
// its file. Without a browser the suite is skipped with a warning that says what is missing, except
// under CI=true, where a missing browser is a failure rather than a quietly green run.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, it } from 'vitest';

/** Where Debian (and most distributions) install Chromium. */
const CHROMIUM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

// Headless, and quiet on the network: without these flags Chromium keeps calling home (updates,
// sync, field trials) on a machine whose only network is loopback.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const BROWSER_TEST_TIMEOUT_MS = 60_000;

export function chromiumPath(): string | undefined {
  return CHROMIUM_PATHS.find((path) => existsSync(path));
}

/**
 * A describe() whose tests get one Chromium, launched before them and closed after them. Playwright
 * gives each launch a fresh temporary profile (--user-data-dir) of its own and removes it on close.
 */
export function describeInBrowser(name: string, body: (browser: () => Browser) => void): void {
  const executablePath = chromiumPath();
  if (executablePath === undefined) {
    const missing = `no Chromium at ${CHROMIUM_PATHS.join(' or ')} (apt-get install -y chromium)`;
    if (process.env.CI === 'true') {
      describe(name, () => {
        it('has a browser to run in', () => {
          throw new Error(`${missing}: browser tests cannot be skipped under CI=true`);
        });
      });
      return;
    }
    console.warn(`SKIPPED browser tests "${name}": ${missing}`);
    describe.skip(name, () =>
      body(() => {
        throw new Error(missing);
      }),
    );
    return;
  }
  // A page load parses a megabyte of JavaScript: on two busy cores that takes seconds, not milliseconds.
  describe(name, { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
    let browser: Browser | undefined;
    beforeAll(async () => {
      browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
    }, BROWSER_TEST_TIMEOUT_MS);
    afterAll(async () => {
      await browser?.close();
    });
    body(() => {
      if (!browser) throw new Error('the browser is not running: use it inside a test or hook');
      return browser;
    });
  });
}
