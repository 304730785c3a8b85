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

// Organization Profile → Settings → Directory sync (SCIM): an owner of an SSO organization
// generates a token; the test then plays the identity provider with it (users, a group),
// the owner maps the group to a role, the Users tab follows, and a person the provider
// deactivates is signed out of their browser.
test.describe.configure({ timeout: 120_000 });

const issuer = () => process.env.ORGDESK_E2E_IDP!;

async function signInAtProvider(page: Page, email: string) {
  await expect(page).toHaveURL(new RegExp(`^${issuer()}/`));
  await page.getByPlaceholder('Enter any login').fill(email);
  await page.getByPlaceholder('and password').fill('the provider checks its own passwords');
  await page.getByRole('button', { name: 'Sign-in' }).click();
}

/** The organization's domain verified and single sign-on on, through the settings. */
async function turnOnSso(page: Page, domain: string, ownerEmail: string) {
  await page.getByRole('tab', { name: 'Settings' }).click();
  await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Domains' }).click();
  const domains = page.getByRole('region', { name: 'Domains' });
  await settled(page);
  await domains.getByLabel('Domain', { exact: true }).fill(domain);
  await domains.getByRole('button', { name: 'Add domain' }).click();
  const row = domains.getByRole('row', { name: new RegExp(domain) });
  await expect(row).toContainText('Pending');
  await publishTxt((await row.locator('code').nth(0).textContent())!, (await row.locator('code').nth(1).textContent())!);
  await settled(page);
  await row.getByRole('button', { name: `Verify ${domain}` }).click();
  await expect(domains.getByRole('status')).toHaveText(`${domain} is verified.`);

  await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Single sign-on' }).click();
  const sso = page.getByRole('region', { name: 'Single Sign-On' });
  await settled(page);
  await sso.getByLabel('Provider name').fill('Acme Identity');
  await sso.getByLabel('Issuer URL').fill(issuer());
  await sso.getByLabel('Client ID').fill('orgdesk');
  await sso.getByLabel('Client secret').fill('orgdesk-test-client-secret');
  await sso.getByRole('button', { name: 'Save' }).click();
  await expect(sso.getByRole('status')).toHaveText('The single sign-on settings were saved.');
  await settled(page);
  await sso.getByRole('button', { name: 'Test connection' }).click();
  await signInAtProvider(page, ownerEmail);
  await expect(sso.getByRole('status')).toHaveText('The test sign-in worked. You can turn single sign-on on.');
  await settled(page);
  await sso.getByRole('switch', { name: 'Enable SSO' }).click();
  await expect(sso.getByRole('switch', { name: 'Enable SSO' })).toHaveAttribute('aria-checked', 'true');
}

test('an owner turns directory sync on and the provider manages members and roles', async ({ page, browser }) => {
  const run = `${Date.now()}-${test.info().project.name}`;
  const domain = `scim-${run}.test`;
  const ownerEmail = `olivia@${domain}`;
  const organization = `Sync Co ${test.info().project.name}`;
  const javaScriptEnabled = test.info().project.use.javaScriptEnabled !== false;

  await signUp(page, 'Olivia Owner', ownerEmail);
  await page.getByRole('link', { name: 'Create New Organization' }).click();
  const create = page.getByRole('dialog', { name: 'Add New Organization' });
  await create.getByLabel('Organization name').fill(organization);
  await create.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('heading', { name: organization })).toBeVisible();
  await openUserMenu(page, 'Olivia Owner');
  await page.getByRole('menuitem', { name: 'Organization Profile' }).click();
  await turnOnSso(page, domain, ownerEmail);

  // Cy signs in through the provider before the directory knows about him.
  const cyEmail = `cy.chan-${run}@${domain}`;
  const cyContext = await browser.newContext({ javaScriptEnabled });
  const cy = await cyContext.newPage();
  await cy.goto('/login');
  await settled(cy);
  await cy.getByLabel('Email').fill(cyEmail);
  await cy.getByRole('button', { name: 'Continue' }).click();
  await signInAtProvider(cy, cyEmail);
  await expect(cy.getByRole('heading', { name: 'Welcome, Cy Chan' })).toBeVisible();

  // Directory sync: the base URL, and a token shown once.
  await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Directory sync (SCIM)' }).click();
  const sync = page.getByRole('region', { name: 'Directory sync (SCIM)' });
  await expect(sync.getByText('No token yet.')).toBeVisible();
  const base = await sync.getByLabel('SCIM base URL').inputValue();
  expect(base).toMatch(/\/scim\/v2$/);
  await settled(page);
  await expectAccessible(page);
  await sync.getByRole('button', { name: 'Generate token' }).click();
  const shown = page.getByRole('region', { name: 'Your new directory sync token' });
  await expect(shown).toBeVisible();
  const token = (await shown.locator('code').textContent())!.trim();
  expect(token).toMatch(/^ods_[A-Za-z0-9]{38}$/);
  await expectAccessible(page);
  await settled(page);
  await shown.getByRole('button', { name: 'I have copied the token' }).click();
  await expect(shown).toBeHidden();
  await expect(sync.getByRole('table', { name: 'Directory sync tokens' }).getByRole('row')).toHaveCount(2);

  // The provider pushes people and a group.
  const scim = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
  const user = (email: string, given: string, family: string) => ({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName: email,
    name: { givenName: given, familyName: family },
    displayName: `${given} ${family}`,
    emails: [{ value: email, type: 'work', primary: true }],
    active: true,
  });
  const annEmail = `ann.lee-${run}@${domain}`;
  const benEmail = `ben.berg-${run}@${domain}`;
  const ann = await scim('POST', '/Users', user(annEmail, 'Ann', 'Lee'));
  expect(ann.status).toBe(201);
  expect((await scim('POST', '/Users', user(benEmail, 'Ben', 'Berg'))).status).toBe(201);
  const cyUser = await scim('POST', '/Users', user(cyEmail, 'Cy', 'Chan'));
  expect(cyUser.status).toBe(201);
  const group = await scim('POST', '/Groups', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
    displayName: 'Orgdesk Admins',
    members: [{ value: ann.body.id }],
  });
  expect(group.status).toBe(201);
  // A stranger's address is refused.
  const stranger = await scim('POST', '/Users', user(`eve-${run}@elsewhere.test`, 'Eve', 'Evans'));
  expect(stranger.status).toBe(400);

  // The owner maps the group to Admin.
  await page.reload();
  const groups = sync.getByRole('table', { name: 'Directory groups' });
  const groupRow = groups.getByRole('row', { name: /Orgdesk Admins/ });
  await expect(groupRow).toContainText('1');
  await expect(sync.getByRole('table', { name: 'Recent directory sync requests' })).toContainText('POST /scim/v2/Users');
  await settled(page);
  await groupRow.getByLabel('Role for Orgdesk Admins').selectOption('admin');
  await groupRow.getByRole('button', { name: 'Save' }).click();
  // (The copy buttons have live regions of their own.)
  await expect(sync.getByRole('status').filter({ hasText: "The group's role was saved" })).toBeVisible();
  await expect(
    sync.getByRole('table', { name: 'Directory groups' }).getByLabel('Role for Orgdesk Admins'),
  ).toHaveValue('admin');
  await expectAccessible(page);

  // The Users tab shows the provisioned people with their roles.
  await page.goto('/access-control');
  const annRow = page.getByRole('row', { name: new RegExp(annEmail) });
  await expect(annRow).toContainText('Admin');
  await expect(page.getByRole('row', { name: new RegExp(benEmail) })).toContainText('Member');
  await settled(page);
  await expectAccessible(page);

  // The provider deactivates Cy: his browser's next page is the login page.
  const off = await scim('PATCH', `/Users/${cyUser.body.id}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'Replace', value: { active: 'False' } }],
  });
  expect(off.status).toBe(200);
  await cy.goto('/');
  await expect(cy).toHaveURL(/\/login/);
  await cyContext.close();
  await page.reload();
  await expect(page.getByRole('row', { name: new RegExp(cyEmail) })).toHaveCount(0);
});
