// The admin console in headless Chromium, against a real `patron serve` and a real Listrak emulator:
// sign in, connect Listrak and read its ids off the page, watch a purchase's notification get delivered,
// retry one that died while Listrak failed, look a member up, and sign out. Screenshots of every page
// land in test-artifacts/browser/admin/.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import {
  LISTRAK_CLIENT_ID,
  LISTRAK_CLIENT_SECRET,
  api,
  createProgram,
  eventually,
  launchBrowser,
  screenshot,
  startPatron,
} from '../lib/harness.mjs';

const SUITE = 'admin';

let world;
let browser;
let program;
before(async () => {
  world = await startPatron();
  browser = await launchBrowser();
  program = await createProgram(world.base, 'Acme Outdoors');
});
after(async () => {
  await browser?.close();
  await world?.stop();
});

/** The Points Earned row of a member on the deliveries page, once it shows `status`. */
async function deliveryRow(page, member, status) {
  return eventually(`a ${status} Points Earned for ${member} on the deliveries page`, async () => {
    await page.goto(`${world.base}/admin/deliveries?member=${member}`);
    const row = page.locator(`tr[data-event="Points Earned"][data-status="${status}"]`).first();
    return (await row.count()) > 0 ? row : null;
  });
}

async function purchase(member, order, amount) {
  const res = await api(world.base, 'POST', `/v1/members/${member}/activities`, {
    token: program.api_key,
    body: { type: 'purchase', amount, order_id: order },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

test('a merchant runs the program from the console, end to end', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));

  // Signing in: a wrong key is refused in plain words, the API key opens the console.
  await page.goto(`${world.base}/admin/listrak`);
  assert.match(page.url(), /\/admin\/signin\?next=%2Fadmin%2Flistrak$/);
  await screenshot(page, SUITE, '01-signin');
  await page.getByLabel('API key or console password').fill('pk_not-a-real-key');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await assert.doesNotReject(page.getByText('This is not a valid API key or console password').waitFor());
  await page.getByLabel('API key or console password').fill(program.api_key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${world.base}/admin/listrak`);

  // Connecting Listrak: the ids on the page are the emulator's.
  await page.getByLabel('Client ID').fill(LISTRAK_CLIENT_ID);
  await page.getByLabel('Client Secret').fill(LISTRAK_CLIENT_SECRET);
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.waitForURL(/\/admin\/listrak\?done=connected/);
  await page.getByText('Listrak is connected and provisioned').waitFor();
  assert.equal(await page.locator('#listrak-status').getAttribute('data-status'), 'connected');
  const html = await page.content();
  assert.ok(!html.includes(LISTRAK_CLIENT_SECRET), 'the secret never comes back to the page');
  assert.ok(!html.includes(program.api_key), 'nor does the API key');
  await page.getByText('A Listrak admin must grant your marketers access').waitFor();

  const onPage = {};
  for (const row of await page.locator('table.events tbody tr').all()) {
    onPage[await row.getAttribute('data-event')] = Number(await row.locator('code.id').innerText());
  }
  const sim = (await api(world.simBase, 'GET', '/_sim/state?contacts=false')).body;
  assert.equal(sim.lists.length, 1);
  const inSim = Object.fromEntries(sim.lists[0].events.map((e) => [e.name, e.id]));
  assert.equal(Object.keys(onPage).length, 10, 'the ten events are listed');
  assert.deepEqual(onPage, inSim);
  const listId = Number(await page.locator('.list-ids code.id').first().innerText());
  assert.equal(listId, sim.lists[0].list_id);
  const fieldRows = await page.locator('table.fields tbody tr').count();
  assert.equal(fieldRows, sim.lists[0].fields.length, 'every profile field is listed');
  assert.ok(await page.locator('button.copy').first().isVisible(), 'copy buttons appear with scripts on');
  await screenshot(page, SUITE, '02-listrak');

  // A purchase through the API: its notification shows up as delivered.
  const member = await api(world.base, 'PUT', '/v1/members/cust-1', {
    token: program.api_key,
    body: { email: 'ann@example.com', name: 'Ann Lee', preferred_language: 'English' },
  });
  assert.ok(member.status < 300, JSON.stringify(member.body));
  await purchase('cust-1', 'A-1001', 42.5);
  const delivered = await deliveryRow(page, 'cust-1', 'delivered');
  await delivered.locator('summary').click();
  await delivered.locator('.attempts li').first().waitFor();
  await screenshot(page, SUITE, '03-deliveries');

  // Re-provisioning is safe to repeat, and the backfill shows its progress until it is done.
  await page.goto(`${world.base}/admin/listrak`);
  await page.getByRole('button', { name: 'Re-provision', exact: true }).click();
  await page.getByText('Re-provisioned: every list, event and field').waitFor();
  await page.getByRole('button', { name: 'Start the backfill' }).click();
  await page.waitForURL(/done=backfill/);
  await page.locator('#backfill [data-status]', { hasText: /^done$/ }).waitFor();
  assert.equal(await page.locator('#backfill [data-text]').innerText(), '1 of 1 members');
  const imports = (await api(world.simBase, 'GET', '/_sim/state?contacts=false')).body.imports;
  assert.equal(imports.length, 1, 'one import reached Listrak');

  // Listrak fails: the next notification dies after its retries, and is retried from the page.
  await api(world.simBase, 'POST', '/_sim/faults', { body: { error_rate: 1, error_status: 500 } });
  await purchase('cust-1', 'A-1002', 10);
  const dead = await deliveryRow(page, 'cust-1', 'dead');
  const deadId = await dead.getAttribute('data-delivery-id');
  assert.match(await dead.locator('.last-error').innerText(), /\S/, 'the dead row says why');
  await screenshot(page, SUITE, '04-deliveries-dead');
  await api(world.simBase, 'POST', '/_sim/faults', { body: {} });
  await dead.getByRole('button', { name: `Retry notification ${deadId}` }).click();
  await page.getByText(`Notification #${deadId} is back in line`).waitFor();
  await eventually('the retried notification to be delivered', async () => {
    await page.goto(`${world.base}/admin/deliveries/${deadId}`);
    return (await page.locator('#delivery-status .badge').innerText()) === 'delivered';
  });
  await screenshot(page, SUITE, '05-delivery-detail');

  // The member, found by email, with balances, ledger and notifications.
  await page.goto(`${world.base}/admin/members`);
  await page.getByLabel('Email or external id').fill('ANN@example.com');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('link', { name: 'cust-1' }).click();
  assert.equal(await page.locator('#points-available').innerText(), '52');
  await page.getByRole('heading', { name: 'Ledger' }).waitFor();
  await screenshot(page, SUITE, '06-member');

  // Settings: a mistake is explained next to its field, then saved.
  await page.goto(`${world.base}/admin/settings`);
  await page.locator('#digest-day_of_month').fill('31');
  await page.getByRole('button', { name: 'Save the digest' }).click();
  await page.getByText('This must be from 1 to 28').waitFor();
  assert.equal(await page.locator('#digest-day_of_month').getAttribute('aria-invalid'), 'true');
  await page.locator('#digest-day_of_month').fill('15');
  await page.getByRole('button', { name: 'Save the digest' }).click();
  await page.waitForURL(/saved=digest/);
  const settings = await api(world.base, 'GET', '/v1/settings', { token: program.api_key });
  assert.equal(settings.body.digest.day_of_month, 15);
  await screenshot(page, SUITE, '07-settings');

  // Email templates: an edit is previewed before it is saved.
  await page.goto(`${world.base}/admin/settings/templates?event=Points%20Earned`);
  await page.getByLabel('Subject').fill('You earned {{ points_current_activity }} points, {{ user_name }}');
  await page.getByRole('button', { name: 'Preview' }).click();
  await page.locator('#preview-subject').getByText(/^You earned \d+ points, /).waitFor();
  await screenshot(page, SUITE, '08-templates');

  // The overview, and a phone-width look at the deliveries.
  await page.goto(`${world.base}/admin`);
  await screenshot(page, SUITE, '09-overview');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${world.base}/admin/deliveries`);
  await screenshot(page, SUITE, '10-deliveries-phone');
  await page.goto(`${world.base}/admin/listrak`);
  await screenshot(page, SUITE, '11-listrak-phone');

  // Signing out ends the session: the console asks to sign in again.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByText('You are signed out').waitFor();
  await page.goto(`${world.base}/admin/deliveries`);
  assert.match(page.url(), /\/admin\/signin/);
  assert.deepEqual(problems, [], 'no script errors');
  const log = readFileSync(world.log, 'utf8');
  assert.ok(!log.includes(LISTRAK_CLIENT_SECRET), 'the Listrak secret never reaches the log');
  assert.ok(!log.includes(program.api_key), 'nor does the API key');
  await context.close();
});

test('every console page redirects to sign-in without a session', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  for (const route of ['/admin', '/admin/listrak', '/admin/deliveries', '/admin/members', '/admin/settings']) {
    await page.goto(`${world.base}${route}`);
    assert.match(new URL(page.url()).pathname, /^\/admin\/signin$/, route);
  }
  await context.close();
});
