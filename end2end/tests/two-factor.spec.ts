import { TOTP } from 'otpauth';
import {
  test,
  expect,
  expectAccessible,
  settled,
  signUp,
  openUserMenu,
  logIn,
  uniqueEmail,
  mailTo,
  type Page,
} from './fixtures';

/** The code an authenticator app with `secret` shows `offsetSeconds` from now. */
function codeFor(secret: string, offsetSeconds = 0): string {
  const totp = new TOTP({ secret: secret.replace(/\s/g, ''), digits: 6, period: 30, algorithm: 'SHA1' });
  return totp.generate({ timestamp: Date.now() + offsetSeconds * 1000 });
}

async function logOut(page: Page, name: string) {
  await openUserMenu(page, name);
  await page.getByRole('menuitem', { name: 'Log out' }).click();
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
  await settled(page);
}

/** Turns the authenticator app on from User Settings; returns the setup key and the codes. */
async function turnOnAuthenticator(page: Page): Promise<{ secret: string; codes: string[] }> {
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
  await expect(page.getByRole('status')).toHaveText('Two-factor authentication is on.');
  await expect(page.getByRole('link', { name: 'Download as a text file' })).toBeVisible();
  await settled(page);
  await expectAccessible(page);
  const codes = (await page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').allTextContents()).map(
    (code) => code.trim(),
  );
  expect(codes).toHaveLength(10);
  await page.getByRole('button', { name: 'I have saved my recovery codes' }).click();
  await expect(page.getByRole('status')).toHaveText('Your recovery codes are saved. Each works once.');
  await expect(page.getByText('Authenticator app: on')).toBeVisible();
  await expect(page.getByText('Recovery codes: 10 of 10 left.')).toBeVisible();
  return { secret, codes };
}

test('an authenticator app is set up, then sign-in asks for its code or a recovery code', async ({ page }) => {
  const email = uniqueEmail('grace');
  await signUp(page, 'Grace Hopper', email);
  const { secret, codes } = await turnOnAuthenticator(page);
  await mailTo(email, 'Two-factor authentication is on for your Orgdesk account');

  // The password alone no longer signs in: the second step asks for a code.
  await logOut(page, 'Grace Hopper');
  await logIn(page, email);
  await expect(page.getByRole('heading', { name: 'Two-factor authentication' })).toBeVisible();
  await expect(page.getByText(`Signing in as ${email}`)).toBeVisible();
  await settled(page);
  await expectAccessible(page);
  await page.getByLabel('Authentication code').fill('123456');
  await page.getByRole('button', { name: 'Verify', exact: true }).click();
  await expect(page.getByText('That code is not right.')).toBeVisible();
  await settled(page);
  // The app's next code (its clock a little ahead): the code that turned it on was used.
  await page.getByLabel('Authentication code').fill(codeFor(secret, 30));
  await page.getByRole('button', { name: 'Verify', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Welcome, Grace Hopper' })).toBeVisible();

  // A lost phone: a recovery code instead, once.
  await logOut(page, 'Grace Hopper');
  await logIn(page, email);
  await expect(page.getByRole('heading', { name: 'Two-factor authentication' })).toBeVisible();
  await settled(page);
  await page.getByText('Lost your phone? Use a recovery code').click();
  await page.getByLabel('Recovery code').fill(codes[0]);
  await page.getByRole('button', { name: 'Verify recovery code' }).click();
  await expect(page.getByRole('heading', { name: 'Welcome, Grace Hopper' })).toBeVisible();
  await mailTo(email, 'A recovery code was used to sign in to your Orgdesk account');

  await page.goto('/settings');
  await expect(page.getByText('Recovery codes: 9 of 10 left.')).toBeVisible();
  await expect(
    page.getByRole('table', { name: 'Active sessions' }).getByRole('cell', { name: 'Password + recovery code' }),
  ).toBeVisible();
});
