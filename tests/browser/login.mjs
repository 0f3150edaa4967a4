// Walks the hosted login in headless Chromium, as a person would:
// the app (a loopback page the Go test serves) sends the browser to
// /oauth/authorize, the login page asks for an email, the code comes from
// the dev outbox, the organization picker offers two organizations, and
// the browser lands on the app's callback with a code. Screenshots of each
// page go to SCREENSHOTS. Prints one JSON line: {"callback": "<url>"}.
//
// Environment: GATEHOUSE_URL, START_URL (the app's login link), EMAIL,
// ORG_NAME (the organization to pick), SCREENSHOTS (a directory),
// CHROMIUM (default /usr/bin/chromium), VIEWPORT (WIDTHxHEIGHT, default
// 1280x720; the test also runs 360x640, a small phone). On every login
// page nothing may overflow horizontally: the document is no wider than
// the viewport.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = (k, d) => process.env[k] ?? d;
const base = env('GATEHOUSE_URL');
const email = env('EMAIL');
const shots = env('SCREENSHOTS');
const [width, height] = env('VIEWPORT', '1280x720').split('x').map(Number);

const userDataDir = mkdtempSync(join(tmpdir(), 'gatehouse-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: env('CHROMIUM', '/usr/bin/chromium'),
  headless: true,
  viewport: { width, height },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const problems = [];
try {
  const page = context.pages()[0] ?? await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`); });
  let n = 0;
  const shot = async (name) => {
    await page.screenshot({ path: join(shots, `${String(++n).padStart(2, '0')}-${name}.png`), fullPage: true });
    const [scroll, inner] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    if (scroll > inner) problems.push(`${name}: the page is ${scroll}px wide in a ${inner}px viewport (horizontal overflow)`);
  };

  await page.goto(env('START_URL'));
  await page.waitForURL(/\/login\?auth_request=/);
  await shot('email');
  // The field is found by its label, as a screen reader would.
  const emailField = page.getByLabel('Email address');
  if (await emailField.getAttribute('autocomplete') !== 'email') throw new Error('email field without autocomplete=email');
  await emailField.fill(email);
  await page.keyboard.press('Enter');

  // The sign-in step: a password form and a code form, for every email.
  await page.waitForSelector('input[autocomplete="one-time-code"]');
  if (await page.getByLabel('Password', { exact: true }).getAttribute('autocomplete') !== 'current-password') {
    throw new Error('the sign-in step has no password field with autocomplete=current-password');
  }
  await shot('sign-in');
  // The dev outbox (docs/configuration.md): newest first, with the
  // fields id, to, subject, text, html, sent_at. The code is queued just
  // after the page's answer, so it is waited for.
  let mail;
  for (const deadline = Date.now() + 10_000; !mail && Date.now() < deadline;) {
    const res = await fetch(base + '/_dev/outbox', { headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`GET /_dev/outbox: ${res.status}`);
    mail = (await res.json()).find((m) => m.to === email);
    if (!mail) await new Promise((r) => setTimeout(r, 100));
  }
  for (const k of ['id', 'to', 'subject', 'text', 'html', 'sent_at']) {
    if (!mail || !(k in mail)) throw new Error(`outbox message without ${k}: ${JSON.stringify(mail)}`);
  }
  const code = /code is (\d{6})/.exec(mail.text)[1];
  await page.getByLabel('Code', { exact: true }).fill(code);
  await page.getByRole('button', { name: 'Continue' }).click();

  await page.getByRole('heading', { name: 'Choose an organization' }).waitFor();
  await shot('organizations');
  const [response] = await Promise.all([
    page.waitForRequest((r) => r.url().includes('/callback?')),
    page.getByRole('button', { name: env('ORG_NAME') }).click(),
  ]);
  await page.waitForLoadState('load');
  await shot('callback');

  // The session cookie as the browser holds it.
  const cookies = await context.cookies(base);
  const session = cookies.find((c) => c.name === '__Host-gatehouse_session');
  if (!session || !session.secure || !session.httpOnly || session.sameSite !== 'Lax' || session.path !== '/') {
    throw new Error('session cookie: ' + JSON.stringify(session));
  }
  if (problems.length) throw new Error(problems.join('\n'));
  console.log(JSON.stringify({ callback: response.url() }));
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
