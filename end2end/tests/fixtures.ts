import { test as base, expect, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { execFileSync } from 'node:child_process';
import { TOTP } from 'otpauth';

/**
 * The test every spec uses: it fails on any console error or uncaught page error
 * (hydration mismatches show up there), and offers an axe-core accessibility check.
 */
export const test = base.extend<{ failOnConsoleErrors: void }>({
  failOnConsoleErrors: [
    async ({ page }, use) => {
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() !== 'error') return;
        // The identity provider's own pages (its login form) are not Orgdesk's to judge.
        const idp = process.env.ORGDESK_E2E_IDP;
        if (idp && page.url().startsWith(idp)) return;
        // A server function refusing bad input answers 4xx with the error for the form;
        // Chromium logs that response as a failed load. Anything else fails the test.
        const refusedForm =
          /status of 4\d\d/.test(message.text()) && message.location().url.includes('/api/');
        if (!refusedForm) problems.push(`console error: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      // Every page Orgdesk serves carries its security headers.
      const origin = new URL(test.info().project.use.baseURL ?? 'http://localhost:3100').origin;
      page.on('response', (response) => {
        if (response.request().resourceType() !== 'document') return;
        if (new URL(response.url()).origin !== origin) return;
        const headers = response.headers();
        const csp = headers['content-security-policy'] ?? '';
        const expected: [string, boolean][] = [
          ["CSP frame-ancestors 'none'", csp.includes("frame-ancestors 'none'")],
          ['X-Frame-Options DENY', headers['x-frame-options'] === 'DENY'],
          ['Referrer-Policy same-origin', headers['referrer-policy'] === 'same-origin'],
          ['X-Content-Type-Options nosniff', headers['x-content-type-options'] === 'nosniff'],
        ];
        if (response.status() === 200) {
          expected.push(["a nonce for scripts", /script-src 'nonce-[^']+'/.test(csp)]);
          expected.push(['Cache-Control no-store', headers['cache-control'] === 'no-store']);
        }
        for (const [what, ok] of expected) {
          if (!ok) problems.push(`${response.url()} lacks ${what}`);
        }
      });
      await use();
      expect(problems, 'the page logged errors').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
export type { Page };

/**
 * No axe-core violation on the page as it is now. With JavaScript off axe cannot run in
 * the page itself, so the server-rendered HTML is checked in a scratch page that runs
 * scripts but loads none of the app's.
 */
export async function expectAccessible(page: Page) {
  if (test.info().project.use.javaScriptEnabled !== false) {
    await checkWithAxe(page);
    return;
  }
  const html = await page.content();
  const context = await page.context().browser()!.newContext({ javaScriptEnabled: true });
  try {
    const scratch = await context.newPage();
    await scratch.route(/\.(js|wasm)$/, (route) => route.abort());
    const base = new URL(page.url()).origin;
    await scratch.setContent(html.replace('<head>', `<head><base href="${base}/">`), {
      waitUntil: 'load',
    });
    await checkWithAxe(scratch);
  } finally {
    await context.close();
  }
}

async function checkWithAxe(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  expect(results.passes.length, 'axe checked the page').toBeGreaterThan(0);
  const summary = results.violations.map(
    (v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`,
  );
  expect(summary, 'accessibility violations').toEqual([]);
}

/** Waits until the page has loaded and, when JavaScript runs, the wasm has hydrated its
 * islands (the entry point marks `<html data-hydrated>` when it is done). */
export async function settled(page: Page) {
  await page.waitForLoadState('load');
  if (test.info().project.use.javaScriptEnabled === false) return;
  await page.locator('html[data-hydrated]').waitFor({ state: 'attached' });
}

/** Runs a staff command of the server binary against the suite's database. */
export function staff(...args: string[]): string {
  const root = process.env.ORGDESK_E2E_ROOT!;
  return execFileSync(`${root}/target/debug/server`, args, {
    cwd: root,
    env: { ...process.env, DATABASE_URL: process.env.ORGDESK_E2E_DATABASE_URL!, RUST_LOG: 'warn' },
    encoding: 'utf8',
  });
}

let counter = 0;
/** A fresh address per test, so tests can run in parallel on one database. */
export function uniqueEmail(prefix = 'user'): string {
  counter += 1;
  return `${prefix}-${Date.now()}-${process.pid}-${counter}@example.com`;
}

export const PASSWORD = 'correct horse battery';

/** Fills in and sends the sign-up form; the account then waits for its address. */
export async function submitSignUp(page: Page, name: string, email: string, next = '/signup') {
  await page.goto(next);
  await settled(page);
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('heading', { name: 'Check your email' })).toBeVisible();
}

/** Signs a new user up as a person does (the form, then the emailed link confirmed with
 * the password) and waits for the dashboard. */
export async function signUp(page: Page, name: string, email: string, next = '/signup') {
  await submitSignUp(page, name, email, next);
  await confirmEmail(page, email);
  await expect(page.getByRole('heading', { name: `Welcome, ${name}` })).toBeVisible();
}

/** Logs in through both steps of the login page: the email, then the password. */
export async function logIn(page: Page, email: string, password = PASSWORD) {
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByLabel('Password')).toBeVisible();
  await settled(page);
  await expect(page.getByLabel('Email')).toHaveValue(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

/** Opens the user menu at the bottom of the navigation. */
export async function openUserMenu(page: Page, name: string) {
  await page.getByRole('navigation', { name: 'Main' }).getByText(name).click();
  await expect(page.getByRole('menu', { name: 'User menu' })).toBeVisible();
}

/** A message as maildev's REST API returns it. */
export interface Mail {
  subject: string;
  to: { address: string }[];
  text?: string;
  html?: string;
}

/** Waits for the newest message to `address` whose subject contains `subject`. */
export async function mailTo(address: string, subject: string): Promise<Mail> {
  const api = process.env.ORGDESK_E2E_MAIL_API!;
  let found: Mail | undefined;
  await expect
    .poll(
      async () => {
        const response = await fetch(`${api}/api/email`);
        const messages = (await response.json()) as Mail[];
        found = messages
          .filter((m) => m.to.some((t) => t.address === address) && m.subject.includes(subject))
          .pop();
        return found !== undefined;
      },
      { message: `an email to ${address} about "${subject}"`, timeout: 15_000 },
    )
    .toBe(true);
  return found!;
}

/** The first link in a message's plain-text part whose path starts with `path`. */
export function linkIn(mail: Mail, path: string): string {
  const link = (mail.text ?? '').split(/\s+/).find((word) => new URL(word, 'http://x').pathname === path && word.startsWith('http'));
  expect(link, `a ${path} link in "${mail.subject}"`).toBeTruthy();
  return link!;
}

/** Opens the verification link Orgdesk emailed to `email` and confirms it with `password`. */
export async function confirmEmail(page: Page, email: string, password = PASSWORD) {
  const mail = await mailTo(email, 'Confirm your email address');
  await page.goto(linkIn(mail, '/verify-email'));
  await expect(page.getByRole('heading', { name: 'Confirm your email address' })).toBeVisible();
  await settled(page);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Confirm my email' }).click();
}

/**
 * Moves the last proof of identity of `email`'s sessions 30 minutes into the past, as a
 * session left open that long (or a stolen cookie) has: sensitive changes ask again.
 * Written with Python's sqlite3 into the suite's SQLite database.
 */
export function ageProof(email: string) {
  const database = process.env.ORGDESK_E2E_DATABASE_URL!.replace(/^sqlite:\/\//, '').replace(/\?.*$/, '');
  const script = [
    'import sqlite3, sys, datetime',
    'past = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=30)).isoformat()',
    'db = sqlite3.connect(sys.argv[1])',
    "db.execute('UPDATE sessions SET proved_at = ? WHERE user_id = (SELECT id FROM users WHERE email_normalized = ?)', (past, sys.argv[2].lower()))",
    'db.commit()',
  ].join('\n');
  execFileSync('python3', ['-c', script, database, email]);
}

/** Publishes a TXT record on the suite's DNS server (as a company would at its DNS host). */
export async function publishTxt(name: string, value: string) {
  const response = await fetch(`${process.env.ORGDESK_E2E_DNS_API!}/records/${name}`, {
    method: 'PUT',
    body: value,
  });
  expect(response.ok, `publish ${name}`).toBe(true);
}

/** The code an authenticator app with `secret` shows `offsetSeconds` from now. */
export function codeFor(secret: string, offsetSeconds = 0): string {
  const totp = new TOTP({ secret: secret.replace(/\s/g, ''), digits: 6, period: 30, algorithm: 'SHA1' });
  return totp.generate({ timestamp: Date.now() + offsetSeconds * 1000 });
}

/** Turns the authenticator app on from User Settings; returns the setup key and the codes. */
export async function turnOnAuthenticator(page: Page): Promise<{ secret: string; codes: string[] }> {
  await page.goto('/settings');
  const section = page.getByRole('region', { name: 'Two-factor authentication' });
  await expect(section.getByText('Authenticator app: off')).toBeVisible();
  await settled(page);
  await section.getByRole('button', { name: 'Set up authenticator app' }).click();
  await expect(page.getByRole('heading', { name: 'Set up authenticator app' })).toBeVisible();
  await expect(page.getByRole('img', { name: 'QR code to add Orgdesk to your authenticator app' })).toBeVisible();
  await settled(page);
  await expectAccessible(page);
  const secret = ((await page.getByText('Setup key:').textContent()) ?? '').replace('Setup key:', '').trim();
  expect(secret).toMatch(/^[A-Z2-7 ]{32,}$/);

  // A wrong code is refused, next to its field.
  await page.getByLabel('Authentication code').fill('000000');
  await page.getByRole('button', { name: 'Turn on' }).click();
  await expect(page.getByText('That code is not right.')).toBeVisible();
  await settled(page);
  await page.getByLabel('Authentication code').fill(codeFor(secret));
  await page.getByRole('button', { name: 'Turn on' }).click();

  await expect(page.getByRole('heading', { name: 'Recovery codes' })).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: 'Two-factor authentication is on.' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Download as a text file' })).toBeVisible();
  await settled(page);
  await expectAccessible(page);
  const codes = (await page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').allTextContents()).map(
    (code) => code.trim(),
  );
  expect(codes).toHaveLength(10);
  if (test.info().project.use.javaScriptEnabled === false) {
    // Without JavaScript the codes stay selectable text; no Copy button that cannot work.
    await expect(page.getByRole('button', { name: 'Copy codes' })).toBeHidden();
  } else {
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await page.getByRole('button', { name: 'Copy codes' }).click();
    await expect(page.getByText('Copied.')).toBeVisible();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied.split('\n')).toEqual(codes);
  }
  await page.getByRole('button', { name: 'I have saved my recovery codes' }).click();
  await expect(page.getByRole('status')).toHaveText('Your recovery codes are saved. Each works once.');
  await expect(page.getByText('Authenticator app: on')).toBeVisible();
  await expect(page.getByText('Recovery codes: 10 of 10 left.')).toBeVisible();
  return { secret, codes };
}
