// The members' dashboard in a real browser: a test store on another origin embeds the widget with a
// member token its "backend" signs, and a member reads the balance, redeems a reward and sees the code,
// copies the referral link and invites two friends; an expired token is refused; the hosted page, a
// phone-sized screen, keyboard-only use, contrast and Spanish are checked too. Screenshots go to
// test-artifacts/browser/dashboard/.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import {
  api,
  createProgram,
  eventually,
  launchBrowser,
  memberToken,
  screenshot,
  startPatron,
} from '../lib/harness.mjs';

const SUITE = 'dashboard';

let world;
let browser;
let program;
let store;

/**
 * The test store: its own HTTP server on its own port, so a different origin than Patron's. Its
 * "backend" signs a member token for the signed-in customer (`?member=`, `?ttl=` seconds) and the page
 * embeds the widget with the README's five lines, under a stylesheet that would wreck an unprotected
 * widget.
 */
function startStore() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://store.invalid');
    const member = url.searchParams.get('member') || 'cust-42';
    const ttl = Number(url.searchParams.get('ttl') || 3600);
    const token = memberToken(program.member_token_secret, member, ttl);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Acme Outdoors — My account</title>
  <style>
    body { font-family: Georgia, serif; margin: 0; background: #fbf7f0; color: #3a2f25; }
    .shop { background: #2f4f3a; color: #fff; padding: 1rem 1.25rem; font-size: 1.25rem; }
    main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
    button { background: hotpink !important; font-size: 30px !important; }
    h2, h3 { text-transform: uppercase; color: red; }
    p { margin: 3rem; }
  </style>
</head>
<body>
  <div class="shop">Acme Outdoors</div>
  <main>
    <h1>My account</h1>
    <div id="patron-loyalty" data-patron-program="${program.id}"
         data-patron-token="${token}"></div>
    <script src="${world.base}/assets/widget.js" async></script>
  </main>
</body>
</html>`);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, origin: `http://127.0.0.1:${server.address().port}` }),
    );
  });
}

async function patron(method, route, body) {
  const res = await api(world.base, method, route, { token: program.api_key, body });
  assert.ok(res.status < 300, `${method} ${route} answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

async function addMember(id, name, language, purchase) {
  await patron('PUT', `/v1/members/${id}`, {
    email: `${id}@example.com`,
    name,
    preferred_language: language,
  });
  await patron('POST', `/v1/members/${id}/activities`, { type: 'purchase', amount: purchase, order_id: `o-${id}` });
  await patron('POST', `/v1/members/${id}/activities`, { type: 'review' });
}

before(async () => {
  world = await startPatron();
  program = await createProgram(world.base, 'Acme Outdoors');
  store = await startStore();
  await patron('PUT', '/v1/settings', {
    dashboard: { allowed_origins: [store.origin] },
    tiers: {
      levels: [
        { name: 'Bronze', threshold: 0 },
        { name: 'Silver', threshold: 200 },
        { name: 'Gold', threshold: 1000 },
      ],
    },
    expiry: { mode: 'per_lot', days: 365 },
    earning: { review: { points: 50, display_name: 'Wrote a review', approval_days: 14 } },
    referral: { base_url: 'https://acme-outdoors.example/join' },
  });
  await patron('POST', '/v1/rewards', { name: '$5 off', points_cost: 100, coupon: { prefix: 'SAVE5-' } });
  await patron('POST', '/v1/rewards', { name: 'Free shipping', points_cost: 150, coupon: { prefix: 'SHIP-' } });
  await patron('POST', '/v1/rewards', { name: '$50 off', points_cost: 1000, coupon: { prefix: 'SAVE50-' } });
  await addMember('cust-42', 'Ann Lee', 'English', 250);
  await addMember('cust-kb', 'Kay Board', 'English', 250);
  await addMember('cust-es', 'Elena Ruiz', 'Spanish', 250);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  store?.server.close();
  await world?.stop();
});

/** The focused element, through shadow roots: its tag and accessible-ish name. */
function focused(page) {
  return page.evaluate(() => {
    let el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    if (!el || el === document.body) return null;
    const label = el.labels && el.labels[0] ? el.labels[0].textContent : null;
    return `${el.tagName.toLowerCase()}: ${(el.getAttribute('aria-label') || label || el.textContent).trim()}`;
  });
}

/** Text in the widget whose contrast with its background is below WCAG AA. */
function contrastFailures(page) {
  return page.evaluate(() => {
    const host = document.querySelector('[data-patron-program]');
    const parse = (c) => (c.match(/[\d.]+/g) || []).map(Number);
    const luminance = ([r, g, b]) => {
      const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el) => {
      for (let e = el; e; e = e.parentElement || (e.getRootNode() instanceof ShadowRoot ? e.getRootNode().host : null)) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const failures = [];
    const walk = (root) => {
      for (const el of root.querySelectorAll('*')) {
        if (el.closest('[disabled]')) continue;
        const text = Array.from(el.childNodes).filter((n) => n.nodeType === 3 && n.textContent.trim());
        if (text.length === 0 || el.getClientRects().length === 0) continue;
        const style = getComputedStyle(el);
        if (style.visibility === 'hidden' || el.closest('.visually-hidden')) continue;
        const [l1, l2] = [luminance(parse(style.color).slice(0, 3)), luminance(background(el))].sort((a, b) => b - a);
        const ratio = (l1 + 0.05) / (l2 + 0.05);
        const size = parseFloat(style.fontSize);
        const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
        if (ratio < (large ? 3 : 4.5)) failures.push(`${el.textContent.trim().slice(0, 40)}: ${ratio.toFixed(2)}`);
      }
    };
    walk(host.shadowRoot);
    return failures;
  });
}

test('a member reads the balance, redeems a reward and sees the code, copies the referral link and invites two friends', async () => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: store.origin });
  const page = await context.newPage();
  await page.goto(`${store.origin}/?member=cust-42`);

  const available = page.getByTestId('available');
  await available.waitFor();
  assert.equal(await available.textContent(), '250');
  assert.ok(await page.getByText('50 points pending').isVisible());
  assert.ok(await page.getByText(/250 points expire on/).isVisible());
  assert.ok(await page.getByText('Silver member').isVisible());
  assert.ok(await page.getByText('750 points to reach Gold').isVisible());
  assert.equal(await page.getByRole('progressbar').getAttribute('aria-valuenow'), '6');
  assert.ok(await page.getByRole('button', { name: 'Redeem $50 off' }).isDisabled());
  assert.ok(await page.getByText('750 points to go').isVisible());
  assert.deepEqual(await contrastFailures(page), [], 'every text meets WCAG AA contrast');
  await screenshot(page, SUITE, '01-store-page-with-widget');

  await page.getByRole('button', { name: 'Redeem $5 off' }).click();
  await page.getByText('Spend 100 points on $5 off?').waitFor();
  await screenshot(page, SUITE, '02-confirm-redemption');
  await page.getByRole('button', { name: 'Yes, redeem' }).click();
  const code = page.getByTestId('coupon-code');
  await code.waitFor();
  assert.match(await code.textContent(), /^SAVE5-\S+$/);
  await eventually('the balance to drop by 100', async () => (await available.textContent()) === '150');
  await screenshot(page, SUITE, '03-coupon-code-shown');
  const member = await patron('GET', '/v1/members/cust-42');
  assert.equal(member.points.available, 150);

  const referral = await patron('GET', '/v1/members/cust-42');
  await page.getByRole('button', { name: 'Copy link' }).click();
  await page.getByText('Copied to the clipboard.').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), referral.referral_url);

  await page.getByLabel("Friends' email addresses").fill('bob@example.com, cy@example.com');
  await page.getByRole('button', { name: 'Send invitations' }).click();
  await page.getByText('Invitations sent to 2 friends.').waitFor();
  await screenshot(page, SUITE, '04-referral-link-copied-and-friends-invited');

  const deliveries = await patron('GET', `/v1/deliveries?event=${encodeURIComponent('Referral Friend Invitation')}`);
  assert.deepEqual(deliveries.items.map((d) => d.email).sort(), ['bob@example.com', 'cy@example.com']);
  for (const d of deliveries.items) {
    assert.equal(d.fields['Referred By'], 'Ann Lee');
    assert.equal(d.fields['Referral URL'], referral.referral_url);
  }

  await page.getByLabel("Friends' email addresses").fill('bob@example.com, not-an-address');
  await page.getByRole('button', { name: 'Send invitations' }).click();
  await page.getByText('Check this address: not-an-address').waitFor();
  assert.equal(await page.getByLabel("Friends' email addresses").getAttribute('aria-invalid'), 'true');
  await context.close();
});

test('the widget fits a 390-pixel phone screen without sideways scrolling', async () => {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  });
  const page = await context.newPage();
  await page.goto(`${store.origin}/?member=cust-42`);
  await page.getByTestId('available').waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
  const box = await page.getByRole('button', { name: 'Send invitations' }).boundingBox();
  assert.ok(box.height >= 44, 'touch targets are at least 44 px tall');
  await screenshot(page, SUITE, '05-phone-390px');
  await context.close();
});

test('the keyboard alone reaches every control in reading order and redeems and invites', async () => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${store.origin}/?member=cust-kb`);
  await page.getByTestId('available').waitFor();

  const order = [];
  for (let i = 0; i < 7; i += 1) {
    await page.keyboard.press('Tab');
    order.push(await focused(page));
  }
  assert.deepEqual(order, [
    'button: Redeem $5 off',
    'button: Redeem Free shipping',
    'input: Your referral link',
    'button: Copy link',
    "input: Friends' email addresses",
    'button: Send invitations',
    'input: Email me about my points and rewards',
  ]);

  for (let i = 0; i < 6; i += 1) await page.keyboard.press('Shift+Tab');
  assert.equal(await focused(page), 'button: Redeem $5 off', 'Shift+Tab walks back the same way');
  await page.keyboard.press('Enter');
  assert.equal(await focused(page), 'button: Yes, redeem', 'focus moves to the confirmation');
  await screenshot(page, SUITE, '06-keyboard-focus-on-confirm');
  await page.keyboard.press('Enter');
  await page.getByTestId('coupon-code').waitFor();
  await eventually('focus on the code', async () => /^p: SAVE5-/.test(await focused(page)));

  await page.getByLabel("Friends' email addresses").focus();
  await page.keyboard.type('dana@example.com');
  await page.keyboard.press('Enter');
  await page.getByText('Invitation sent to 1 friend.').waitFor();
  await screenshot(page, SUITE, '07-keyboard-only-redeemed-and-invited');

  await page.getByLabel('Email me about my points and rewards').focus();
  await page.keyboard.press('Space');
  await page.getByText('Your email preference is saved.').waitFor();
  assert.equal((await patron('GET', '/v1/members/cust-kb')).opted_out, true, 'the member opted out');
  await context.close();
});

test('an expired token is refused and the widget says so', async () => {
  const context = await browser.newContext({ viewport: { width: 900, height: 600 } });
  const page = await context.newPage();
  const answers = [];
  page.on('response', (r) => {
    if (r.url().includes('/v1/me/')) answers.push(r.status());
  });
  await page.goto(`${store.origin}/?member=cust-42&ttl=-60`);
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.equal(
    (await alert.textContent()).trim(),
    'Your session has expired. Reload the page to see your rewards.',
  );
  assert.deepEqual(answers, [401]);
  assert.equal(await page.getByTestId('available').count(), 0, 'no balance is shown');
  await screenshot(page, SUITE, '08-expired-token-refused');
  await context.close();
});

test('the hosted page takes the token from the fragment and removes it from the address', async () => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const sent = [];
  page.on('request', (r) => sent.push(r.url()));
  const token = memberToken(program.member_token_secret, 'cust-42', 600);
  await page.goto(`${world.base}/m/${program.id}#token=${token}`);
  await page.getByTestId('available').waitFor();
  assert.equal(await page.getByTestId('available').textContent(), '150');
  assert.equal(new URL(page.url()).hash, '', 'the token is no longer in the address bar');
  assert.ok(sent.every((u) => !u.includes(token)), 'the token never appears in a requested URL');
  assert.equal(await page.title(), 'Acme Outdoors — Rewards');
  await screenshot(page, SUITE, '09-hosted-page');
  await context.close();
});

test('a Spanish-speaking member sees the dashboard in Spanish', async () => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${store.origin}/?member=cust-es`);
  await page.getByRole('heading', { name: 'Tus recompensas' }).waitFor();
  assert.ok(await page.getByRole('button', { name: 'Canjear $5 off' }).isVisible());
  assert.ok(await page.getByText('Nivel Silver').isVisible());
  assert.ok(await page.getByLabel('Correos electrónicos de tus amigos').isVisible());
  await screenshot(page, SUITE, '10-spanish');
  await context.close();
});
