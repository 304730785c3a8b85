import {
  test,
  expect,
  expectAccessible,
  settled,
  signUp,
  openUserMenu,
  logIn,
  uniqueEmail,
  submitSignUp,
  confirmEmail,
  PASSWORD,
} from './fixtures';

test('a new account logs in only after its address is confirmed with its password', async ({ page }) => {
  const email = uniqueEmail('edith');
  await submitSignUp(page, 'Edith Clarke', email);
  await expectAccessible(page);

  // Before confirming, logging in says what a wrong password says (nothing about the account).
  await page.getByRole('link', { name: 'Log in' }).click();
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
  await settled(page);
  await logIn(page, email);
  await expect(page.getByText('New account? Confirm your address with the link we emailed first.')).toBeVisible();

  // The emailed link alone is not enough: the account's password is asked.
  await confirmEmail(page, email, 'not my password');
  await expect(page.getByText('The password is incorrect.')).toBeVisible();
  await expectAccessible(page);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Confirm my email' }).click();
  await expect(page.getByRole('heading', { name: 'Welcome, Edith Clarke' })).toBeVisible();
});

test('a new user signs up, lands in the dashboard, logs out and logs in again', async ({ page }) => {
  const email = uniqueEmail('ada');
  await signUp(page, 'Ada Lovelace', email);
  await expect(page).toHaveURL(/\/$/);
  await expectAccessible(page);

  await openUserMenu(page, 'Ada Lovelace');
  await expectAccessible(page);
  await page.getByRole('menuitem', { name: 'Log out' }).click();
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
  await expect(page).toHaveURL(/\/login$/);

  await logIn(page, email);
  await expect(page.getByRole('heading', { name: 'Welcome, Ada Lovelace' })).toBeVisible();
});

test('a wrong password shows its error next to the field', async ({ page }) => {
  const email = uniqueEmail('grace');
  await signUp(page, 'Grace Hopper', email);
  await openUserMenu(page, 'Grace Hopper');
  await page.getByRole('menuitem', { name: 'Log out' }).click();
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
  await settled(page);

  await logIn(page, email, 'not my password');
  await expect(page.getByText('The email or password is incorrect.')).toBeVisible();
  await expect(page.getByLabel('Password')).toHaveAttribute('aria-invalid', 'true');
  await expectAccessible(page);
});

test('sign-up errors are shown next to their fields', async ({ page }) => {
  await page.goto('/signup');
  await settled(page);
  await expectAccessible(page);
  const email = uniqueEmail('alan');
  await page.getByLabel('Name').fill('Alan Turing');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('alan turing rocks');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByText('Password must not contain your name.')).toBeVisible();
  await expectAccessible(page);
  if (test.info().project.use.javaScriptEnabled === false) {
    return; // without JavaScript the refused form comes back empty (covered above)
  }
  // The refused form keeps what was typed, except the password, which is never stored.
  await settled(page);
  await expect(page.getByLabel('Name')).toHaveValue('Alan Turing');
  await expect(page.getByLabel('Email')).toHaveValue(email);
  await expect(page.getByLabel('Password')).toHaveValue('');
  expect(await page.evaluate(() => sessionStorage.length), 'restored, then forgotten').toBe(0);
  // Accepted, the form's values are kept on the way out and forgotten on the next page.
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('heading', { name: 'Check your email' })).toBeVisible();
  await settled(page);
  expect(await page.evaluate(() => sessionStorage.length), 'forgotten after the accepted form').toBe(0);
});

test('a signed-out visit to a dashboard page goes to login and comes back after it', async ({ page }) => {
  const email = uniqueEmail('katherine');
  await signUp(page, 'Katherine Johnson', email);
  await openUserMenu(page, 'Katherine Johnson');
  await page.getByRole('menuitem', { name: 'Log out' }).click();
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();

  await page.goto('/settings');
  await expect(page).toHaveURL(/\/login\?next=%2Fsettings$/);
  await settled(page);
  await expectAccessible(page);
  await logIn(page, email);
  await expect(page.getByRole('heading', { name: 'User Settings' })).toBeVisible();
  await expect(page).toHaveURL(/\/settings$/);
});

test('User Settings changes the name and the password', async ({ page }) => {
  const email = uniqueEmail('mary');
  await signUp(page, 'Mary Jackson', email);
  await openUserMenu(page, 'Mary Jackson');
  await page.getByRole('menuitem', { name: 'User Settings' }).click();
  await expect(page.getByRole('heading', { name: 'User Settings' })).toBeVisible();
  await settled(page);
  await expectAccessible(page);

  await page.getByLabel('Name', { exact: true }).fill('Mary W. Jackson');
  await page.getByRole('button', { name: 'Save name' }).click();
  await expect(page.getByRole('status')).toHaveText('Your name was saved.');
  await expect(page.getByRole('navigation', { name: 'Main' })).toContainText('Mary W. Jackson');

  await page.getByLabel('Current password').fill('wrong password');
  await page.getByLabel('New password').fill('a new secret phrase');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByText('Current password is incorrect.')).toBeVisible();

  await page.getByLabel('Current password').fill(PASSWORD);
  await page.getByLabel('New password').fill('a new secret phrase');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByRole('status')).toContainText('Your password was changed.');
});

test('the user menu works from the keyboard', async ({ page }) => {
  test.skip(
    test.info().project.use.javaScriptEnabled === false,
    'arrow-key movement in the menu needs JavaScript; without it the menu is a plain <details> (covered by the other tests)',
  );
  await signUp(page, 'Dorothy Vaughan', uniqueEmail('dorothy'));
  await settled(page);
  const summary = page.getByRole('navigation', { name: 'Main' }).getByText('Dorothy Vaughan');
  await summary.focus();
  await page.keyboard.press('Enter');
  const item = (name: string) => page.getByRole('menuitem', { name });
  await expect(item('Manage Organizations')).toBeFocused();
  await page.keyboard.press('ArrowDown');
  await expect(item('Organization Profile')).toBeFocused();
  await page.keyboard.press('End');
  await expect(item('Log out')).toBeFocused();
  await page.keyboard.press('ArrowDown');
  await expect(item('Manage Organizations')).toBeFocused();
  await page.keyboard.press('ArrowUp');
  await expect(item('Log out')).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(page.getByRole('menu', { name: 'User menu' })).toBeHidden();
  await expect(summary).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(item('Manage Organizations')).toBeFocused();
  await page.keyboard.press('End');
  await expect(page.getByRole('menuitem', { name: 'Log out' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
});
