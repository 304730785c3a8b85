import { defineConfig } from '@playwright/test';
import * as path from 'node:path';

// The suite runs against the real server binary (built by `make test` before this runs)
// on a fresh SQLite database, in Debian's Chromium: Playwright's own browser download
// does not work on these machines.
const port = Number(process.env.E2E_PORT ?? 3100);
// localhost, not 127.0.0.1: WebAuthn (passkeys) refuses IP addresses as the relying party.
const baseURL = `http://localhost:${port}`;
// A real SMTP server (maildev): the server sends to it, the tests read it through its API.
const smtpPort = Number(process.env.E2E_SMTP_PORT ?? 3125);
const mailApiPort = Number(process.env.E2E_MAIL_API_PORT ?? 3180);
process.env.ORGDESK_E2E_MAIL_API ??= `http://127.0.0.1:${mailApiPort}`;
// A real OpenID Connect provider (oidc-provider) for the SSO tests.
const idpPort = Number(process.env.E2E_IDP_PORT ?? 3190);
process.env.ORGDESK_E2E_IDP ??= `http://127.0.0.1:${idpPort}`;
// A real SAML identity provider (samlify behind a login page) for the SAML tests.
const samlIdpPort = Number(process.env.E2E_SAML_IDP_PORT ?? 3195);
process.env.ORGDESK_E2E_SAML_IDP ??= `http://127.0.0.1:${samlIdpPort}`;
// A real DNS server (dns2) for domain verification: the tests publish TXT records on it.
const dnsPort = Number(process.env.E2E_DNS_PORT ?? 3153);
const dnsApiPort = Number(process.env.E2E_DNS_API_PORT ?? 3154);
process.env.ORGDESK_E2E_DNS_API ??= `http://127.0.0.1:${dnsApiPort}`;
// Workers load this file again: they inherit the first run's folder through the environment.
const runDir = (process.env.ORGDESK_E2E_RUN_DIR ??= path.resolve(__dirname, '.tmp', `run-${Date.now()}`));
const root = path.resolve(__dirname, '..');
const databaseUrl = `sqlite://${runDir}/e2e.db?mode=rwc`;
// Tests that need a staff command (e.g. `server add-member`) run it on the same database.
process.env.ORGDESK_E2E_DATABASE_URL = databaseUrl;
process.env.ORGDESK_E2E_ROOT = root;

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  retries: 0,
  forbidOnly: true,
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [
    // Every test twice: hydrated, and with JavaScript off (server rendering and plain forms).
    { name: 'hydrated', use: { javaScriptEnabled: true } },
    { name: 'no-js', use: { javaScriptEnabled: false } },
  ],
  webServer: [
    {
      command: `${root}/end2end/node_modules/.bin/maildev --smtp ${smtpPort} --ip 127.0.0.1 --web ${mailApiPort} --web-ip 127.0.0.1 --silent`,
      url: `http://127.0.0.1:${mailApiPort}/api/healthz`,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
    {
      command: `node ${root}/end2end/identity-provider.mjs`,
      url: `http://127.0.0.1:${idpPort}/.well-known/openid-configuration`,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: 'ignore',
      stderr: 'ignore',
      env: { IDP_PORT: String(idpPort), IDP_REDIRECT_URIS: `${baseURL}/sso/callback` },
    },
    {
      command: `node ${root}/end2end/saml-identity-provider.mjs`,
      url: `http://127.0.0.1:${samlIdpPort}/metadata`,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: 'ignore',
      stderr: 'pipe',
      env: { SAML_IDP_PORT: String(samlIdpPort) },
    },
    {
      command: `node ${root}/end2end/dns-server.mjs`,
      url: `http://127.0.0.1:${dnsApiPort}/records`,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: 'ignore',
      stderr: 'pipe',
      env: { DNS_PORT: String(dnsPort), DNS_API_PORT: String(dnsApiPort) },
    },
    {
      command: `${root}/target/debug/server`,
      cwd: root,
      url: `${baseURL}/health`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'pipe',
      stderr: 'pipe',
      env: {
        DATABASE_URL: databaseUrl,
        LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
        LEPTOS_SITE_ROOT: 'target/site',
        ORGDESK_PUBLIC_URL: baseURL,
        ORGDESK_MAIL_DIR: `${runDir}/mail`,
        SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
        ORGDESK_DNS_RESOLVER: `127.0.0.1:${dnsPort}`,
        // Every test signs people up from 127.0.0.1.
        ORGDESK_SIGNUPS_PER_ADDRESS: '100000',
        RUST_LOG: 'warn',
      },
    },
  ],
});
