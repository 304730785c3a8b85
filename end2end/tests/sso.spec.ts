import {
  test,
  expect,
  expectAccessible,
  settled,
  signUp,
  openUserMenu,
  publishTxt,
  type Page,
} from './fixtures';

// A journey through two browsers and a real OpenID Connect provider (oidc-provider).
test.describe.configure({ timeout: 90_000 });

const issuer = () => process.env.ORGDESK_E2E_IDP!;

/** The provider's own login form (oidc-provider's): any login is an account there. */
async function signInAtProvider(page: Page, email: string) {
  await expect(page).toHaveURL(new RegExp(`^${issuer()}/`));
  await page.getByPlaceholder('Enter any login').fill(email);
  await page.getByPlaceholder('and password').fill('the provider checks its own passwords');
  await page.getByRole('button', { name: 'Sign-in' }).click();
}

test('an owner connects the organization to its identity provider and a new user signs in through it', async ({
  page,
  browser,
}) => {
  const run = `${Date.now()}-${test.info().project.name}`;
  const domain = `acme-${run}.test`;
  const ownerEmail = `olivia@${domain}`;
  const organization = `SSO Co ${test.info().project.name}`;

  await signUp(page, 'Olivia Owner', ownerEmail);
  await page.getByRole('link', { name: 'Create New Organization' }).click();
  const create = page.getByRole('dialog', { name: 'Add New Organization' });
  await create.getByLabel('Organization name').fill(organization);
  await create.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('heading', { name: organization })).toBeVisible();

  // Organization Profile → Settings → Domains: the company proves it owns its domain.
  await openUserMenu(page, 'Olivia Owner');
  await page.getByRole('menuitem', { name: 'Organization Profile' }).click();
  await page.getByRole('tab', { name: 'Settings' }).click();
  await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Domains' }).click();
  const domains = page.getByRole('region', { name: 'Domains' });
  await settled(page);
  await domains.getByLabel('Domain', { exact: true }).fill(domain.toUpperCase());
  await domains.getByRole('button', { name: 'Add domain' }).click();
  await expect(domains.getByRole('status')).toContainText(`${domain} was added`);
  const domainRow = domains.getByRole('row', { name: new RegExp(domain) });
  await expect(domainRow).toContainText('Pending');
  await expectAccessible(page);
  // Verifying before the record is published fails, and says what to publish.
  await settled(page);
  await domainRow.getByRole('button', { name: `Verify ${domain}` }).click();
  await expect(domains.getByRole('alert')).toContainText(`No TXT record`);
  await expect(domains.getByRole('row', { name: new RegExp(domain) })).toContainText('Failed');
  const recordName = (await domains.getByRole('row', { name: new RegExp(domain) }).locator('code').nth(0).textContent())!;
  const recordValue = (await domains.getByRole('row', { name: new RegExp(domain) }).locator('code').nth(1).textContent())!;
  expect(recordName).toBe(`_orgdesk-challenge.${domain}`);
  await publishTxt(recordName, recordValue);
  await settled(page);
  await domains.getByRole('button', { name: `Verify ${domain}` }).click();
  await expect(domains.getByRole('status')).toHaveText(`${domain} is verified.`);
  await expect(domains.getByRole('row', { name: new RegExp(domain) })).toContainText('Verified');

  // Single sign-on: the next area of the settings.
  await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Single sign-on' }).click();
  const sso = page.getByRole('region', { name: 'Single Sign-On' });
  await expect(sso.getByLabel('Redirect URI')).toHaveValue(/\/sso\/callback$/);
  const loginUrl = await sso.getByLabel('Organization login URL').inputValue();
  expect(loginUrl).toMatch(/\/sso\/login\/org_[0-9a-f]{32}$/);
  await expect(sso.getByRole('switch', { name: 'Enable SSO' })).toHaveAttribute('aria-checked', 'false');
  await settled(page);
  await expectAccessible(page);
  await sso.getByLabel('Provider name').fill('Acme Identity');
  await sso.getByLabel('Issuer URL').fill(issuer());
  await sso.getByLabel('Client ID').fill('orgdesk');
  await sso.getByLabel('Client secret').fill('orgdesk-test-client-secret');
  await sso.getByRole('button', { name: 'Save' }).click();
  await expect(sso.getByRole('status')).toHaveText('The single sign-on settings were saved.');
  await expect(sso.getByLabel('Client secret')).toHaveValue('');

  // Turning it on before a test is refused; the test signs in at the provider once.
  await settled(page);
  await sso.getByRole('switch', { name: 'Enable SSO' }).click();
  await expect(page.getByText('Test the connection before turning SSO on')).toBeVisible();
  await sso.getByRole('button', { name: 'Test connection' }).click();
  await signInAtProvider(page, ownerEmail);
  await expect(sso.getByRole('status')).toHaveText('The test sign-in worked. You can turn single sign-on on.');
  await expect(sso).toContainText(`The last test signed in as ${ownerEmail}`);
  await settled(page);
  await sso.getByRole('switch', { name: 'Enable SSO' }).click();
  await expect(sso.getByRole('status')).toContainText('Single sign-on is on.');
  await expect(sso.getByRole('switch', { name: 'Enable SSO' })).toHaveAttribute('aria-checked', 'true');
  await expectAccessible(page);

  // Members now come from the provider: no Invited Users tab.
  await page.goto('/access-control');
  await expect(page.getByRole('tab', { name: 'Users', exact: true })).toBeVisible();
  await expect(page.getByRole('tab', { name: 'Roles' })).toBeVisible();
  await expect(page.getByRole('tab', { name: 'Invited Users' })).toHaveCount(0);

  // A new user, in a browser of their own, starts at the login page with their email.
  const newcomerEmail = `ivy.ito-${run}@${domain}`;
  const context = await browser.newContext({
    javaScriptEnabled: test.info().project.use.javaScriptEnabled !== false,
  });
  const newcomer = await context.newPage();
  await newcomer.goto('/login');
  await settled(newcomer);
  await newcomer.getByLabel('Email').fill(newcomerEmail);
  await newcomer.getByRole('button', { name: 'Continue' }).click();
  await signInAtProvider(newcomer, newcomerEmail);
  await expect(newcomer.getByRole('heading', { name: 'Welcome, Ivy Ito' })).toBeVisible();
  await expect(newcomer.getByRole('status')).toContainText('joined its organization as a member');
  await expect(newcomer.getByRole('row', { name: new RegExp(organization) })).toContainText('Member');
  await settled(newcomer);
  await expectAccessible(newcomer);
  // No password to change in User Settings.
  await newcomer.goto('/settings');
  await expect(newcomer.getByLabel('Name', { exact: true })).toHaveValue('Ivy Ito');
  await expect(newcomer.getByLabel('New password')).toHaveCount(0);
  await context.close();

  // A colleague starts at the organization's login URL (an app tile at the provider): a
  // page with a button, so no other site can sign anyone in through it.
  const colleagueContext = await browser.newContext({
    javaScriptEnabled: test.info().project.use.javaScriptEnabled !== false,
  });
  const colleague = await colleagueContext.newPage();
  await colleague.goto(loginUrl);
  await expect(colleague.getByRole('heading', { name: 'Single sign-on' })).toBeVisible();
  await expect(colleague.getByText(`Sign in to ${organization} through Acme Identity`)).toBeVisible();
  await settled(colleague);
  await expectAccessible(colleague);
  await colleague.getByRole('button', { name: 'Continue' }).click();
  await signInAtProvider(colleague, `ann.lee-${run}@${domain}`);
  await expect(colleague.getByRole('heading', { name: 'Welcome, Ann Lee' })).toBeVisible();
  await colleagueContext.close();

  // The owner gives them a role on the Users tab; the Remove dialog says where they come from.
  await page.goto('/access-control?tab=users');
  const row = page.getByRole('row', { name: /Ivy Ito/ });
  await expect(row).toContainText('Member');
  await settled(page);
  await row.getByText('Actions').click();
  await row.getByRole('menuitem', { name: 'Edit roles' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit roles' });
  await edit.getByLabel('Role').selectOption('admin');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('status')).toHaveText('The role was changed.');
  await expect(page.getByRole('row', { name: /Ivy Ito/ })).toContainText('Admin');

  const again = page.getByRole('row', { name: /Ivy Ito/ });
  await again.getByText('Actions').click();
  await again.getByRole('menuitem', { name: 'Quick View' }).click();
  await page.getByRole('dialog', { name: 'Quick View' }).getByRole('link', { name: 'Remove' }).click();
  const remove = page.getByRole('dialog', { name: 'Remove user' });
  await expect(remove).toContainText('their next sign-in adds them again');
  await expectAccessible(page);
});
