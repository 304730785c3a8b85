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
  staff,
  linkIn,
  ageProof,
  codeFor,
  turnOnAuthenticator,
  type Page,
} from './fixtures';

async function logOut(page: Page, name: string) {
  await openUserMenu(page, name);
  await page.getByRole('menuitem', { name: 'Log out' }).click();
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
  await settled(page);
}

test('an authenticator app is set up, then sign-in asks for its code or a recovery code', async ({ page }) => {
  // Four sign-ins (each a password hash), three mails and an axe check per page: 20-25 s
  // on an idle 2-core machine, past the default 30 s on a busy one (a fresh clone's run).
  test.setTimeout(60_000);
  const email = uniqueEmail('grace');
  await signUp(page, 'Grace Hopper', email);
  const { secret, codes } = await turnOnAuthenticator(page);
  const added = await mailTo(email, 'An authenticator app was added to your Orgdesk account');
  const notMe = linkIn(added, '/not-me');

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

  // The email's "This wasn't me" link: opening it changes nothing; its button removes the
  // app, signs out every session and signs no one in.
  await page.goto(notMe);
  await expect(page.getByRole('heading', { name: 'Remove a factor you did not add' })).toBeVisible();
  await expect(page.getByText('an authenticator app', { exact: true })).toBeVisible();
  await settled(page);
  await expectAccessible(page);
  await page.getByRole('button', { name: 'Remove it and sign out everywhere' }).click();
  await expect(page.getByRole('heading', { name: 'Removed, and signed out everywhere' })).toBeVisible();
  await expectAccessible(page);
  await mailTo(email, 'An authenticator app was removed from your Orgdesk account');
  await page.goto('/settings');
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
  // Used once: the link now says so.
  await page.goto(notMe);
  await expect(page.getByRole('heading', { name: 'This link cannot be used' })).toBeVisible();
});

test('an owner requires two-factor authentication: a member without it sees the banner, is kept out, then sets it up', async ({
  page,
  browser,
}) => {
  test.setTimeout(90_000);
  const project = test.info().project;
  const memberEmail = uniqueEmail('mia');
  const memberContext = await browser.newContext({
    baseURL: project.use.baseURL,
    javaScriptEnabled: project.use.javaScriptEnabled,
  });
  const member = await memberContext.newPage();
  try {
    await signUp(member, 'Mia Member', memberEmail);

    const ownerEmail = uniqueEmail('olivia');
    await signUp(page, 'Olivia Owner', ownerEmail);
    await page.goto('/');
    await page.getByRole('link', { name: 'Create New Organization' }).click();
    const create = page.getByRole('dialog', { name: 'Add New Organization' });
    const orgName = `Secure ${project.name}`;
    await create.getByLabel('Organization name').fill(orgName);
    await create.getByRole('button', { name: 'Save' }).click();
    const orgId = (await page.locator('dl.facts code').textContent())!.trim();
    staff('add-member', orgId, memberEmail, 'member');
    // The owner goes first: their own account gets a factor.
    await turnOnAuthenticator(page);

    // Before requiring it, the owner sees who does not have it yet.
    await page.goto('/organization/profile?tab=settings');
    const security = page.getByRole('region', { name: 'Security' });
    await expect(security.getByText('Two-factor authentication is not required.')).toBeVisible();
    const lacking = security.getByRole('table', { name: 'Members without two-factor authentication' });
    await expect(lacking.getByRole('row', { name: /Mia Member/ })).toContainText(memberEmail);
    await settled(page);
    await expectAccessible(page);
    await security.getByLabel('Grace period').selectOption('1');
    await security.getByRole('button', { name: 'Require two-factor authentication' }).click();
    await expect(page.getByRole('status')).toHaveText(
      'Two-factor authentication is now required. Members without it were emailed.',
    );
    await mailTo(memberEmail, `${orgName} requires two-factor authentication`);

    // During the grace period: a banner, and the organization still opens.
    await member.goto('/organization');
    const banner = member.getByRole('region', { name: 'Two-factor authentication required' });
    await expect(banner).toContainText(`${orgName} requires two-factor authentication. Set up an authenticator app by`);
    await expect(member.getByRole('heading', { name: orgName })).toBeVisible();
    await settled(member);
    await expectAccessible(member);

    // Without a grace period, members without it are kept out at once.
    await page.goto('/organization/profile?tab=settings');
    await settled(page);
    await security.getByRole('button', { name: 'Stop requiring two-factor authentication' }).click();
    await expect(page.getByRole('status')).toHaveText('Two-factor authentication is no longer required.');
    await settled(page);
    await security.getByLabel('Grace period').selectOption('0');
    await security.getByRole('button', { name: 'Require two-factor authentication' }).click();
    await expect(page.getByRole('status')).toHaveText(
      'Two-factor authentication is now required. Members without it were emailed.',
    );

    await member.goto('/organization');
    await expect(banner).toContainText(`You keep your membership, but cannot open ${orgName}`);
    await expect(member.getByRole('alert')).toContainText(`${orgName} requires two-factor authentication`);
    await settled(member);
    await expectAccessible(member);

    // Setting up an authenticator app opens it again.
    await banner.getByRole('link', { name: 'Set up two-factor authentication' }).click();
    await expect(member.getByRole('heading', { name: 'User Settings' })).toBeVisible();
    await turnOnAuthenticator(member);
    await member.goto('/organization');
    await expect(member.getByRole('heading', { name: orgName })).toBeVisible();
    await expect(banner).toHaveCount(0);

    // The owner's Users tab shows who has it, and filters by it.
    await page.goto('/access-control?tab=users&two_factor=on');
    await expect(page.getByRole('row', { name: /Mia Member/ })).toContainText('On');
    await expectAccessible(page);
  } finally {
    await memberContext.close();
  }
});

test('a passkey is added in User Settings, then signs in as the second factor and on its own', async ({ page }) => {
  const email = uniqueEmail('ada');
  await signUp(page, 'Ada Lovelace', email);
  await page.goto('/settings');
  const section = page.getByRole('region', { name: 'Two-factor authentication' });
  await expect(section.getByRole('heading', { name: 'Passkeys' })).toBeVisible();

  if (test.info().project.use.javaScriptEnabled === false) {
    // Passkeys need the browser's WebAuthn API: without JavaScript the page says so.
    await expect(
      section.getByText('Adding a passkey needs JavaScript and a browser that supports passkeys.'),
    ).toBeVisible();
    await expect(section.getByRole('button', { name: 'Add a passkey' })).toBeDisabled();
    await expectAccessible(page);
    // The login page's passkey button stays out of the way without JavaScript.
    await logOut(page, 'Ada Lovelace');
    await expect(page.getByRole('button', { name: 'Sign in with a passkey' })).toBeHidden();
    return;
  }

  // Chromium's virtual authenticator (the DevTools protocol's WebAuthn domain): a platform
  // passkey that verifies its user.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });

  await settled(page);
  await expect(section.getByText('Adding a passkey needs JavaScript')).toBeHidden();
  await expectAccessible(page);
  await section.getByLabel('Passkey name').fill('Work laptop');
  await section.getByRole('button', { name: 'Add a passkey' }).click();
  // The first factor comes with recovery codes.
  await expect(page.getByRole('heading', { name: 'Recovery codes' })).toBeVisible();
  await page.getByRole('button', { name: 'I have saved my recovery codes' }).click();
  await expect(page.getByRole('table', { name: 'Passkeys' }).getByRole('row', { name: /Work laptop/ })).toContainText('Never');
  await mailTo(email, 'A passkey was added to your Orgdesk account');

  await logOut(page, 'Ada Lovelace');
  await logIn(page, email);
  await expect(page.getByRole('heading', { name: 'Two-factor authentication' })).toBeVisible();
  await settled(page);
  await expectAccessible(page);
  await page.getByRole('button', { name: 'Use a passkey' }).click();
  await expect(page.getByRole('heading', { name: 'Welcome, Ada Lovelace' })).toBeVisible();

  await page.goto('/settings');
  await expect(
    page.getByRole('table', { name: 'Active sessions' }).getByRole('cell', { name: 'Password + passkey' }),
  ).toBeVisible();
  await expect(page.getByRole('table', { name: 'Passkeys' }).getByRole('row', { name: /Work laptop/ })).not.toContainText('Never');

  // Half an hour later, changes ask again who is there: the passkey answers for all of them.
  ageProof(email);
  await page.reload();
  await expect(section.getByLabel('Password or authentication code').first()).toBeVisible();
  await settled(page);
  await expectAccessible(page);
  await section.getByRole('button', { name: 'Confirm with a passkey' }).click();
  await expect(section.getByRole('button', { name: 'Remove passkey' })).toBeVisible();
  await expect(section.getByLabel('Password or authentication code')).toHaveCount(0);

  // Where the browser offers it, the passkey alone signs in: no email, no password.
  await logOut(page, 'Ada Lovelace');
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page.getByRole('heading', { name: 'Welcome, Ada Lovelace' })).toBeVisible();
  await page.goto('/settings');
  await expect(
    page.getByRole('table', { name: 'Active sessions' }).getByRole('cell', { name: 'Passkey', exact: true }),
  ).toBeVisible();

  // Another person's passkey is a passkey of its own (each is stored under its own ID).
  const other = await page.context().browser()!.newContext({ baseURL: test.info().project.use.baseURL });
  try {
    const bob = await other.newPage();
    const bobCdp = await other.newCDPSession(bob);
    await bobCdp.send('WebAuthn.enable');
    await bobCdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    const bobEmail = uniqueEmail('bob');
    await signUp(bob, 'Bob Bemer', bobEmail);
    await bob.goto('/settings');
    await settled(bob);
    await bob.getByLabel('Passkey name').fill('Phone');
    await bob.getByRole('button', { name: 'Add a passkey' }).click();
    await expect(bob.getByRole('heading', { name: 'Recovery codes' })).toBeVisible();
  } finally {
    await other.close();
  }
});
