// A small HTTP "browser" for the hosted login page, for suites that need a
// real authorization code: fetch with redirect: 'manual' (every hop is
// seen), a cookie jar of its own, and forms read from the HTML so the
// suite posts exactly what a person's browser would (the CSRF token and
// the auth_request id come from the page's hidden inputs). Codes are read
// from the dev outbox of a server started with --dev.
//
// Not a test file (no .test.mjs suffix): imported by the suites.

/** A cookie jar for one origin (the Gatehouse server). */
class Jar {
  #cookies = new Map();

  update(setCookies) {
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let expired = value === '';
      for (const a of attrs) {
        const [k, v = ''] = a.trim().split('=');
        if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
        if (k.toLowerCase() === 'expires' && Date.parse(v) < Date.now()) expired = true;
      }
      if (expired) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  get(name) { return this.#cookies.get(name); }

  header() { return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; '); }
}

const entities = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeHTML(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return entities[e.toLowerCase()] ?? m;
  });
}

function attrs(tag) {
  const out = {};
  for (const m of tag.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
    out[m[1].toLowerCase()] = unescapeHTML(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

/** One response as the browser saw it. */
export class Page {
  constructor(url, res, text) {
    this.url = url;
    this.status = res.status;
    this.headers = res.headers;
    this.location = res.headers.get('location');
    this.text = text;
  }

  /** The forms on the page: [{action, fields, buttons: [{name, value, label}]}]. */
  forms() {
    const forms = [];
    for (const m of this.text.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
      const a = attrs(m[1]);
      const fields = {};
      for (const i of m[2].matchAll(/<input\b[^>]*>/gi)) {
        const ia = attrs(i[0]);
        if (ia.name) fields[ia.name] = ia.value ?? '';
      }
      const buttons = [];
      for (const b of m[2].matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/gi)) {
        const ba = attrs(b[1]);
        buttons.push({ name: ba.name, value: ba.value, label: unescapeHTML(b[2].replace(/<[^>]*>/g, '')).trim() });
      }
      forms.push({ action: a.action, fields, buttons });
    }
    return forms;
  }

  form(action) { return this.forms().find((f) => f.action === action); }

  has(action) { return this.form(action) !== undefined; }

  heading() {
    const m = /<h1\b[^>]*>([\s\S]*?)<\/h1>/i.exec(this.text);
    return m ? unescapeHTML(m[1].replace(/<[^>]*>/g, '')).trim() : '';
  }

  /** A short description for assertion messages. */
  describe() {
    const body = this.text.replace(/<(style|head)\b[\s\S]*?<\/\1>/gi, '').replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
    return `${this.status} ${this.url}${this.location ? ' -> ' + this.location : ''}: ${body.slice(0, 400)}`;
  }
}

/** A browser: one cookie jar, every redirect followed by hand. */
export class Browser {
  constructor(base) {
    this.base = base;
    this.origin = new URL(base).origin;
    this.jar = new Jar();
  }

  async request(method, url, form) {
    const abs = new URL(url, this.base);
    const headers = { accept: 'text/html' };
    if (abs.origin === this.origin) {
      const c = this.jar.header();
      if (c) headers.cookie = c;
    }
    let body;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      // What a browser sends with a same-origin form post.
      headers.origin = this.origin;
      headers['sec-fetch-site'] = 'same-origin';
      body = new URLSearchParams(form).toString();
    }
    const res = await fetch(abs, { method, headers, body, redirect: 'manual' });
    if (abs.origin === this.origin) this.jar.update(res.headers.getSetCookie());
    return new Page(abs.toString(), res, await res.text());
  }

  get(url) { return this.request('GET', url); }

  post(url, form) { return this.request('POST', url, form); }

  /** Follows redirects within the server; stops at the first answer that
   * is not a redirect, or at a redirect that leaves the server (to the app). */
  async follow(p) {
    for (let i = 0; i < 10 && p.status >= 300 && p.status < 400 && p.location; i++) {
      const next = new URL(p.location, p.url);
      if (next.origin !== this.origin) return p;
      p = await this.get(next.toString());
    }
    return p;
  }

  /** Submits the form with action (its hidden fields plus fields), following redirects within the server. */
  async submit(p, action, fields = {}) {
    const f = p.form(action);
    if (!f) throw new Error(`no form ${action} on the page: ${p.describe()}`);
    return this.follow(await this.post(action, { ...f.fields, ...fields }));
  }
}

/** The dev outbox: GET /_dev/outbox (404 without --dev). */
export async function outbox(base) {
  const res = await fetch(new URL('/_dev/outbox', base), { headers: { accept: 'application/json' } });
  if (res.status === 404) throw new Error('the server has no dev outbox (start it with --dev)');
  if (!res.ok) throw new Error(`GET /_dev/outbox: ${res.status}`);
  return res.json();
}

/** Waits for an email to `to` whose id is not in `seen` and returns it. */
export async function newMail(base, to, seen, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const fresh = (await outbox(base)).filter((m) => m.to.toLowerCase() === to.toLowerCase() && !seen.has(m.id));
    if (fresh.length) {
      // The outbox's order is not relied on: the newest by timestamp.
      const at = (m) => Date.parse(m.sent_at ?? '') || 0;
      return fresh.reduce((a, m) => (at(m) >= at(a) ? m : a));
    }
    if (Date.now() > deadline) throw new Error(`no new email to ${to} in the dev outbox`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function seenMail(base) { return new Set((await outbox(base)).map((m) => m.id)); }

/**
 * Signs in with an emailed code (the user must have no password, so that
 * the code is emailed at once), starting at an app's authorization URL:
 * GET /oauth/authorize → /login, email, the code from the dev outbox,
 * the organization picker when shown (picks organizationId), and returns
 * the redirect to the app: {browser, callback (URL), pages (headings seen)}.
 */
export async function signInWithCode({ base, authorizationUrl, email, organizationId }) {
  const b = new Browser(base);
  const pages = [];
  let p = await b.follow(await b.get(authorizationUrl));
  if (!new URL(p.url).pathname.startsWith('/login') || !p.has('/login/email')) throw new Error(`want the login page, got ${p.describe()}`);
  pages.push(p.heading());
  const seen = await seenMail(base);
  p = await b.submit(p, '/login/email', { email });
  // The sign-in step, the same for every email: a password form and a
  // form for the code emailed to an account without a password (queued
  // just after this answer; newMail waits for it).
  if (!p.has('/login/password') || !p.has('/login/code')) throw new Error(`want the sign-in step, got ${p.describe()}`);
  pages.push(p.heading());
  const mail = await newMail(base, email, seen);
  const m = /code is (\d{6})/.exec(mail.text);
  if (!m) throw new Error(`no 6-digit code in the email: ${mail.text}`);
  p = await b.submit(p, '/login/code', { code: m[1] });
  if (p.has('/login/organization')) {
    pages.push(p.heading());
    const f = p.form('/login/organization');
    const choice = f.buttons.find((x) => x.name === 'organization_id' && x.value === organizationId);
    if (!choice) throw new Error(`organization ${organizationId} is not offered: ${JSON.stringify(f.buttons)}`);
    p = await b.submit(p, '/login/organization', { organization_id: choice.value });
  }
  if (p.status !== 303 || !p.location) throw new Error(`want a 303 to the app, got ${p.describe()}`);
  return { browser: b, callback: new URL(p.location), pages, mail };
}

/** A management token (client credentials), for the settings REST API. */
export async function managementToken(base, clientId, clientSecret) {
  const res = await fetch(new URL('/oauth/token', base), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
  });
  if (!res.ok) throw new Error(`client_credentials: ${res.status} ${await res.text()}`);
  return (await res.json()).access_token;
}

/** Adds callback and post-logout URLs to the environment's redirects
 * (GET, merge, PUT /api/v1/settings/redirects), keeping what is there. */
export async function registerRedirects(base, token, { callbackUrls = [], postLogoutUrls = [] }) {
  const url = new URL('/api/v1/settings/redirects', base);
  const auth = { authorization: `Bearer ${token}` };
  const cur = await fetch(url, { headers: auth });
  if (!cur.ok) throw new Error(`GET redirects: ${cur.status} ${await cur.text()}`);
  const r = await cur.json();
  const merge = (a = [], b) => [...new Set([...a, ...b])];
  const body = {
    callback_urls: merge(r.callback_urls ?? r.callbackUrls, callbackUrls),
    post_logout_urls: merge(r.post_logout_urls ?? r.postLogoutUrls, postLogoutUrls),
    initiate_login_url: r.initiate_login_url ?? r.initiateLoginUrl ?? '',
    backchannel_logout_url: r.backchannel_logout_url ?? r.backchannelLogoutUrl ?? '',
  };
  const put = await fetch(url, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!put.ok) throw new Error(`PUT redirects: ${put.status} ${await put.text()}`);
  return put.json();
}

/** The claims of a JWT, unverified (the suites verify through the libraries). */
export function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}
