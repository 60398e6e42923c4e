// The harness itself: Patron and the emulator come up, and Chromium renders a Patron page.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, startPatron } from '../lib/harness.mjs';

let world;
let browser;
before(async () => {
  world = await startPatron();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await world?.stop();
});

test('Chromium reaches a running Patron', async () => {
  const page = await browser.newPage();
  const res = await page.goto(`${world.base}/healthz`);
  assert.equal(res.status(), 200);
});
