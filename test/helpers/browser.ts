/** Headless Chromium from Debian (/usr/bin/chromium) driven by playwright-core, for the Web UI tests. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(__dirname, '..', 'artifacts');
export const hasChromium = existsSync(CHROMIUM);

/** `test` when Chromium is installed; otherwise `test.skip`, after saying which suite is skipped and why. */
export function browserTest(suite: string): jest.It {
  if (hasChromium) return test;
  console.warn(`Skipping ${suite}: ${CHROMIUM} is missing (install it with: apt-get install -y chromium)`);
  return test.skip;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** The HTML of the page and of every frame: the UI renders summaries and details in iframes. */
export async function allHtml(page: Page): Promise<string> {
  const frames = await Promise.all(page.frames().map((f) => f.content().catch(() => '')));
  return frames.join('\n');
}
