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
  linkIn,
} from './fixtures';

test('a user who forgot the password gets a link by email and chooses a new one', async ({ page }) => {
  const email = uniqueEmail('ida');
  await signUp(page, 'Ida Rhodes', email);
  await openUserMenu(page, 'Ida Rhodes');
  await page.getByRole('menuitem', { name: 'Log out' }).click();
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
  await settled(page);

  // The password step offers the way back in.
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('link', { name: 'Forgot password?' }).click();
  await expect(page.getByRole('heading', { name: 'Forgot password' })).toBeVisible();
  await expect(page.getByLabel('Email')).toHaveValue(email);
  await settled(page);
  await expectAccessible(page);
  await page.getByRole('button', { name: 'Send reset link' }).click();
  await expect(page.getByRole('status')).toContainText('If an Orgdesk account uses that address');

  const mail = await mailTo(email, 'Reset your Orgdesk password');
  await page.goto(linkIn(mail, '/reset-password'));
  await expect(page.getByRole('heading', { name: 'Choose a new password' })).toBeVisible();
  await settled(page);
  await expectAccessible(page);
  await page.getByLabel('New password').fill('password1');
  await page.getByRole('button', { name: 'Set password' }).click();
  await expect(page.getByText('one of the most commonly used passwords')).toBeVisible();
  await page.getByLabel('New password').fill('a brand new phrase');
  await page.getByRole('button', { name: 'Set password' }).click();
  await expect(page.getByRole('status')).toHaveText(
    'Your password was reset. Every other session of your account was signed out.',
  );
  await mailTo(email, 'Your Orgdesk password was changed');

  await openUserMenu(page, 'Ida Rhodes');
  await page.getByRole('menuitem', { name: 'Log out' }).click();
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
  await settled(page);
  await logIn(page, email, 'a brand new phrase');
  await expect(page.getByRole('heading', { name: 'Welcome, Ida Rhodes' })).toBeVisible();
});

test('the Sessions list shows another browser and signs it out', async ({ page, browser }) => {
  const email = uniqueEmail('kay');
  await signUp(page, 'Kay McNulty', email);

  const context = await browser.newContext({
    javaScriptEnabled: test.info().project.use.javaScriptEnabled !== false,
  });
  const other = await context.newPage();
  await other.goto('/login');
  await settled(other);
  await logIn(other, email);
  await expect(other.getByRole('heading', { name: 'Welcome, Kay McNulty' })).toBeVisible();

  await page.goto('/settings');
  const sessions = page.getByRole('region', { name: 'Sessions' });
  const rows = sessions.getByRole('row');
  await expect(rows).toHaveCount(3); // the header and two sessions
  await expect(sessions.getByRole('row').filter({ hasText: 'This browser' })).toHaveCount(1);
  await settled(page);
  await expectAccessible(page);
  await sessions
    .getByRole('row')
    .filter({ hasNotText: 'This browser' })
    .filter({ hasText: 'Password' })
    .getByRole('button', { name: /^Sign out/ })
    .click();
  await expect(page.getByRole('status')).toHaveText('That session was signed out.');
  await expect(sessions.getByRole('row')).toHaveCount(2);

  await other.goto('/settings');
  await expect(other.getByRole('heading', { name: 'Log in' })).toBeVisible();
  await context.close();
});
