// Walks the hosted login in headless Chromium for one of two flows, as a
// person would, and fails on any console error, page error or HTTP error:
//
//   FLOW=magic-link  email → the sign-in step (password and code forms,
//                    the same for every email) → the sign-in link from
//                    the email, opened in the same browser → its
//                    confirmation page → the app's callback.
//   FLOW=password    email → the sign-in step → "Forgot your password?" →
//                    the reset link from the
//                    email → set a new password → "Continue to sign in" →
//                    the password form → the organization picker → the
//                    app's callback. (Setting a password is the same
//                    emailed-link mechanism as resetting one.)
//
// Screenshots of each page go to SCREENSHOTS. Prints one JSON line:
// {"callback": "<url>", "pages": ["<heading>", ...]}.
//
// Environment: FLOW, GATEHOUSE_URL, START_URL (the app's login link),
// EMAIL, PASSWORD (FLOW=password), ORG_NAME (FLOW=password: the
// organization to pick), SCREENSHOTS, CHROMIUM (default /usr/bin/chromium).
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`flows.mjs: missing environment variable ${k}`);
  return v;
};
const flow = env('FLOW');
const base = env('GATEHOUSE_URL');
const email = env('EMAIL');
const shots = env('SCREENSHOTS');

// The dev outbox (docs/configuration.md): newest first, with the fields
// id, to, subject, text, html, sent_at.
async function outbox() {
  const res = await fetch(base + '/_dev/outbox', { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`GET /_dev/outbox: ${res.status}`);
  return res.json();
}
const seen = async () => new Set((await outbox()).map((m) => m.id));
async function newMail(before, re) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const m = (await outbox()).find((x) => x.to.toLowerCase() === email.toLowerCase() && !before.has(x.id) && re.test(x.text));
    if (m) return re.exec(m.text)[1];
    if (Date.now() > deadline) throw new Error(`no new email to ${email} matching ${re}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const userDataDir = mkdtempSync(join(tmpdir(), 'gatehouse-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: env('CHROMIUM', '/usr/bin/chromium'),
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const problems = [];
const headings = [];
try {
  const page = context.pages()[0] ?? await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`); });
  let n = 0;
  const shot = async (name) => {
    headings.push((await page.locator('h1').first().textContent({ timeout: 5000 }).catch(() => '')).trim());
    await page.screenshot({ path: join(shots, `${String(++n).padStart(2, '0')}-${name}.png`), fullPage: true });
  };
  const heading = (name) => page.getByRole('heading', { name }).waitFor();

  await page.goto(env('START_URL'));
  await page.waitForURL(/\/login\?auth_request=/);
  await shot('email');
  const emailField = page.getByLabel('Email address');
  if (await emailField.getAttribute('autocomplete') !== 'email') throw new Error('email field without autocomplete=email');
  const before = await seen();
  await emailField.fill(email);
  await page.getByRole('button', { name: 'Continue' }).click();
  // The sign-in step: a password form and a code form, for every email.
  await page.waitForSelector('input[autocomplete="one-time-code"]');
  if (await page.getByLabel('Password', { exact: true }).getAttribute('autocomplete') !== 'current-password') {
    throw new Error('the sign-in step has no password field with autocomplete=current-password');
  }
  await page.getByRole('button', { name: 'Email me a code instead' }).waitFor();
  await shot('sign-in');

  let callback;
  const toApp = async (action) => {
    const [req] = await Promise.all([page.waitForRequest((r) => r.url().includes('/callback?')), action()]);
    await page.waitForLoadState('load');
    await shot('callback');
    return req.url();
  };

  if (flow === 'magic-link') {
    const link = await newMail(before, /(https?:\/\/\S+\/login\/link\?token=\S+)/);
    if (!link.startsWith(base + '/')) throw new Error(`the link is not on the public URL: ${link}`);
    await page.goto(link);
    // Opening the link only shows a confirmation: mail scanners do not burn it.
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await shot('link-confirmation');
    callback = await toApp(() => page.getByRole('button', { name: 'Sign in' }).click());
  } else if (flow === 'password') {
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.waitForURL(/\/login\/forgot/);
    await shot('forgot');
    const beforeReset = await seen();
    const forgotEmail = page.getByLabel('Email address');
    if (!(await forgotEmail.inputValue())) await forgotEmail.fill(email);
    await page.getByRole('button', { name: 'Send link' }).click();
    await heading('Check your email');
    await shot('forgot-sent');

    const link = await newMail(beforeReset, /(https?:\/\/\S+\/login\/reset\?token=\S+)/);
    await page.goto(link);
    const pw = page.getByLabel('New password', { exact: true });
    if (await pw.getAttribute('autocomplete') !== 'new-password') throw new Error('new password field without autocomplete=new-password');
    await shot('reset');
    await pw.fill(env('PASSWORD'));
    await page.getByRole('button', { name: 'Set password' }).click();
    await heading('Your password is set');
    await shot('password-set');
    await page.getByRole('link', { name: 'Continue to sign in' }).click();

    const current = page.getByLabel('Password', { exact: true });
    await current.waitFor();
    if (await current.getAttribute('autocomplete') !== 'current-password') throw new Error('password field without autocomplete=current-password');
    await shot('password-again');
    await current.fill(env('PASSWORD'));
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();

    await heading('Choose an organization');
    await shot('organizations');
    callback = await toApp(() => page.getByRole('button', { name: env('ORG_NAME') }).click());
  } else {
    throw new Error(`unknown FLOW ${flow}`);
  }

  const cookies = await context.cookies(base);
  const session = cookies.find((c) => c.name === '__Host-gatehouse_session');
  if (!session || !session.secure || !session.httpOnly || session.sameSite !== 'Lax' || session.path !== '/') {
    throw new Error('session cookie: ' + JSON.stringify(session));
  }
  if (problems.length) throw new Error(problems.join('\n'));
  console.log(JSON.stringify({ callback, pages: headings }));
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
