// Drives the example app in headless Chromium against a live Gatehouse,
// through the real hosted login page: a legacy user signs in to the old
// system, an admin signs in with Gatehouse (email code from the dev
// outbox), opens the role-gated page and moves the cut-over to 100%, the
// legacy user's next page load is carried over to Gatehouse without any
// login page, and the admin signs out of both. Prints one JSON line.
//
// Environment: APP_URL, GATEHOUSE_URL, ADA_EMAIL, GRACE_EMAIL,
// PLAYWRIGHT_CORE (the package's directory), SCREENSHOTS (a directory),
// CHROMIUM (default /usr/bin/chromium). Run by browser_test.go.
const { chromium } = require(process.env.PLAYWRIGHT_CORE);
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const env = (k, d) => process.env[k] ?? d;
const app = env('APP_URL');
const gatehouse = env('GATEHOUSE_URL');
const shots = env('SCREENSHOTS');

// Each person gets a browser of their own (its own profile and cookies).
async function browser() {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-example-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: env('CHROMIUM', '/usr/bin/chromium'),
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? await context.newPage();
  const visited = [];
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) visited.push(f.url()); });
  return { context, page, visited, close: async () => { await context.close(); rmSync(dir, { recursive: true, force: true }); } };
}

let n = 0;
const shot = async (page, name) => page.screenshot({ path: join(shots, `${String(++n).padStart(2, '0')}-${name}.png`), fullPage: true });
const text = async (page, sel) => (await page.locator(sel).textContent()).trim();
const expect = (cond, what) => { if (!cond) throw new Error(what); };

(async () => {
  const grace = await browser();
  const ada = await browser();
  try {
    // 1. Grace signs in to the legacy system (the cut-over is at 0%).
    await grace.page.goto(`${app}/login?login_hint=${encodeURIComponent(env('GRACE_EMAIL'))}`);
    await grace.page.getByRole('heading', { name: 'Old sign-in' }).waitFor();
    await shot(grace.page, 'legacy-login');
    await grace.page.getByRole('button', { name: 'Sign in to the old system' }).click();
    await grace.page.waitForURL(`${app}/dashboard`);
    expect(await text(grace.page, '#via') === 'the legacy system', 'grace is not on the legacy session');
    await shot(grace.page, 'legacy-dashboard');

    // 2. Ada (allow-listed) signs in with Gatehouse's hosted login.
    await ada.page.goto(`${app}/`);
    await ada.page.getByLabel('Email').fill(env('ADA_EMAIL'));
    await ada.page.getByRole('button', { name: 'Sign in' }).click();
    await ada.page.waitForURL(/\/login\?auth_request=/);
    await shot(ada.page, 'gatehouse-login');
    const email = ada.page.getByLabel('Email address');
    if (await email.isVisible()) {
      await email.fill(env('ADA_EMAIL'));
      await ada.page.keyboard.press('Enter');
    }
    await ada.page.waitForSelector('input[autocomplete="one-time-code"]');
    // The dev outbox lists the newest email first. The code is queued just
    // after the sign-in page's answer, so it is waited for.
    let mail;
    for (const deadline = Date.now() + 10_000; !mail && Date.now() < deadline;) {
      const outbox = await (await fetch(gatehouse + '/_dev/outbox', { headers: { accept: 'application/json' } })).json();
      mail = outbox.find((m) => m.to === env('ADA_EMAIL'));
      if (!mail) await new Promise((r) => setTimeout(r, 100));
    }
    expect(mail, 'no sign-in code in the dev outbox');
    const code = /code is (\d{6})/.exec(mail.text)[1];
    await ada.page.getByLabel('Code', { exact: true }).fill(code);
    await ada.page.getByRole('button', { name: 'Continue' }).click();
    await ada.page.waitForURL(`${app}/`);
    await ada.page.goto(`${app}/dashboard`);
    expect(await text(ada.page, '#via') === 'Gatehouse', 'ada is not on a Gatehouse session');
    expect((await text(ada.page, '#roles')).split(/\s+/).includes('admin'), 'ada has no admin role');
    await shot(ada.page, 'dashboard');

    // The app's session cookie, as the browser holds it.
    const cookie = (await ada.context.cookies(app)).find((c) => c.name === '__Host-gatehouse_app');
    expect(cookie && cookie.httpOnly && cookie.secure && cookie.sameSite === 'Lax' && cookie.path === '/',
      'session cookie: ' + JSON.stringify(cookie));

    // 3. The role-gated page: Ada moves the cut-over to 100%.
    await ada.page.getByRole('link', { name: 'Admin page' }).click();
    await ada.page.getByRole('heading', { name: 'Admin' }).waitFor();
    await ada.page.getByLabel(/Share of users/).fill('100');
    await ada.page.getByRole('button', { name: 'Apply' }).click();
    await ada.page.waitForURL(`${app}/admin`);
    expect(await ada.page.getByLabel(/Share of users/).inputValue() === '100', 'the percentage did not change');
    await shot(ada.page, 'admin');

    // 4. Grace's next page is on Gatehouse, with no login page on the way.
    const before = grace.visited.length;
    await grace.page.reload();
    expect(await text(grace.page, '#via') === 'Gatehouse', 'grace was not carried over');
    expect(!grace.visited.slice(before).some((u) => u.startsWith(gatehouse)), 'grace saw a Gatehouse page: ' + grace.visited.slice(before));
    await shot(grace.page, 'carried-over');

    // 5. Ada signs out of the app and of Gatehouse.
    await ada.page.goto(`${app}/dashboard`);
    await ada.page.getByRole('button', { name: 'Sign out' }).click();
    await ada.page.waitForURL(`${app}/bye`);
    await ada.page.getByRole('heading', { name: 'You are signed out' }).waitFor();
    await shot(ada.page, 'signed-out');
    // Signed out at Gatehouse too: the dashboard asks for a login again.
    await ada.page.goto(`${app}/dashboard`);
    await ada.page.waitForURL(/\/login\?auth_request=/);
    console.log(JSON.stringify({ ok: true, graceVisited: grace.visited.length }));
  } finally {
    await grace.close();
    await ada.close();
  }
})().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
