import {
  test,
  expect,
  expectAccessible,
  settled,
  signUp,
  openUserMenu,
  publishTxt,
  turnOnAuthenticator,
  type Page,
} from './fixtures';

// A SAML 2.0 journey through two browsers and a real SAML identity provider (samlify).
test.describe.configure({ timeout: 90_000 });

const idp = () => process.env.ORGDESK_E2E_SAML_IDP!;

/** The provider's login form; its answer is posted to the ACS by a script, or by its button. */
async function signInAtProvider(page: Page, email: string, mfa = false) {
  await expect(page).toHaveURL(new RegExp(`^${idp()}/`));
  await page.getByLabel('Email').fill(email);
  if (mfa) await page.getByLabel('Signed in with a second factor').check();
  await page.getByRole('button', { name: 'Sign in' }).click();
  await continueFromProvider(page);
}

/** The provider's page that posts the response: without JavaScript, its button does it. */
async function continueFromProvider(page: Page) {
  if (test.info().project.use.javaScriptEnabled === false) {
    await page.getByRole('button', { name: 'Continue to Orgdesk' }).click();
  }
  await expect(page).not.toHaveURL(new RegExp(`^${idp()}/`));
}

async function verifyDomain(page: Page, domain: string) {
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
}

test('an owner connects a SAML provider, tests it, and people sign in through it', async ({ page, browser }) => {
  const run = `${Date.now()}-${test.info().project.name}`;
  const domain = `saml-${run}.test`;
  const ownerEmail = `olivia@${domain}`;
  const organization = `SAML Co ${test.info().project.name}`;
  const javaScriptEnabled = test.info().project.use.javaScriptEnabled !== false;

  await signUp(page, 'Olivia Owner', ownerEmail);
  await page.getByRole('link', { name: 'Create New Organization' }).click();
  const create = page.getByRole('dialog', { name: 'Add New Organization' });
  await create.getByLabel('Organization name').fill(organization);
  await create.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('heading', { name: organization })).toBeVisible();
  await openUserMenu(page, 'Olivia Owner');
  await page.getByRole('menuitem', { name: 'Organization Profile' }).click();
  await page.getByRole('tab', { name: 'Settings' }).click();
  await verifyDomain(page, domain);

  // Single sign-on → SAML 2.0: the values to copy into the provider.
  await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Single sign-on' }).click();
  await page.getByRole('navigation', { name: 'Protocol' }).getByRole('link', { name: 'SAML 2.0' }).click();
  const sso = page.getByRole('region', { name: 'Single Sign-On' });
  await expect(sso.getByLabel('ACS URL')).toHaveValue(/\/sso\/saml\/org_[0-9a-f]{32}\/acs$/);
  const entityId = await sso.getByLabel('SP entity ID').inputValue();
  await expect(sso.getByLabel('NameID format')).toHaveValue('urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress');
  if (javaScriptEnabled) {
    await expect(sso.getByRole('button', { name: 'Copy acs url' })).toBeVisible();
  }
  await settled(page);
  await expectAccessible(page);

  // The administrator adds Orgdesk at the provider from the SP metadata...
  const spMetadata = await (await page.request.get(entityId)).text();
  expect(spMetadata).toContain('WantAssertionsSigned="true"');
  expect((await page.request.post(`${idp()}/sp`, { data: spMetadata })).ok()).toBeTruthy();
  // ...and pastes the provider's metadata here.
  const idpMetadata = await (await page.request.get(`${idp()}/metadata`)).text();
  await sso.getByLabel('Provider name').fill('Acme SAML');
  await sso.getByLabel('Metadata XML').fill(idpMetadata);
  await sso.getByLabel('AuthnContextClassRef values that mean multi-factor authentication').fill('urn:test:mfa');
  await sso.getByRole('button', { name: 'Save' }).click();
  await expect(sso.getByText('The single sign-on settings were saved.')).toBeVisible();
  await expect(sso.getByRole('table', { name: "The provider's signing certificates" })).toBeVisible();
  // The same metadata as a file: a plain multipart form.
  await sso.getByLabel('Metadata file').setInputFiles({
    name: 'idp-metadata.xml',
    mimeType: 'application/xml',
    buffer: Buffer.from(idpMetadata),
  });
  await sso.getByRole('button', { name: 'Upload metadata' }).click();
  await expect(sso.getByText('The single sign-on settings were saved.')).toBeVisible();
  await expect(sso.getByLabel('Provider name')).toHaveValue('Acme SAML');

  // Test connection: a round trip through the provider, then the inspector.
  await settled(page);
  await sso.getByRole('button', { name: 'Test connection' }).click();
  await signInAtProvider(page, ownerEmail);
  await expect(sso.getByText('The test sign-in worked. You can turn single sign-on on.')).toBeVisible();
  const inspector = page.getByRole('region', { name: 'Last test: assertion inspector' });
  await expect(inspector).toContainText(ownerEmail);
  await expect(inspector.getByRole('table', { name: 'Attributes received' })).toContainText('firstName');
  await settled(page);
  await sso.getByRole('switch', { name: 'Enable SSO' }).click();
  await expect(sso.getByText('Single sign-on is on.')).toBeVisible();
  await expectAccessible(page);

  // A new person at the domain signs in through the provider and lands as a member.
  const newcomerEmail = `ivy.ito-${run}@${domain}`;
  const context = await browser.newContext({ javaScriptEnabled });
  const newcomer = await context.newPage();
  await newcomer.goto('/login');
  await settled(newcomer);
  await newcomer.getByLabel('Email').fill(newcomerEmail);
  await newcomer.getByRole('button', { name: 'Continue' }).click();
  await signInAtProvider(newcomer, newcomerEmail, true);
  await expect(newcomer.getByRole('heading', { name: 'Welcome, Ivy Ito' })).toBeVisible();
  await expect(newcomer.getByRole('row', { name: new RegExp(organization) })).toContainText('Member');
  await settled(newcomer);
  await expectAccessible(newcomer);

  // The provider's app tile: an unsolicited response is not trusted; it leads to the
  // organization's own sign-in, which goes through the provider again.
  await context.clearCookies();
  await newcomer.goto(`${idp()}/tile?sp=${encodeURIComponent(entityId)}`);
  await continueFromProvider(newcomer);
  await expect(newcomer.getByText(`Sign in to ${organization} through Acme SAML`)).toBeVisible();
  await settled(newcomer);
  await newcomer.getByRole('button', { name: 'Continue' }).click();
  await signInAtProvider(newcomer, newcomerEmail);
  await expect(newcomer.getByRole('heading', { name: 'Welcome, Ivy Ito' })).toBeVisible();
  await context.close();

  // The owner makes them an admin.
  await page.goto('/access-control?tab=users');
  const row = page.getByRole('row', { name: /Ivy Ito/ });
  await expect(row).toContainText('Member');
  await settled(page);
  await row.getByText('Actions').click();
  await row.getByRole('menuitem', { name: 'Edit roles' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit roles' });
  await edit.getByLabel('Role').selectOption('admin');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('row', { name: /Ivy Ito/ })).toContainText('Admin');

  // The owner requires two-factor authentication at once; a person whose provider reports
  // MFA is not asked for a second factor of Orgdesk's.
  await turnOnAuthenticator(page);
  await page.goto('/organization/profile?tab=settings');
  const security = page.getByRole('region', { name: 'Security' });
  await settled(page);
  await security.getByLabel('Grace period').selectOption('0');
  await security.getByRole('button', { name: 'Require two-factor authentication' }).click();
  await expect(page.getByRole('status')).toHaveText(
    'Two-factor authentication is now required. Members without it were emailed.',
  );
  const mfaContext = await browser.newContext({ javaScriptEnabled });
  const zoe = await mfaContext.newPage();
  await zoe.goto('/login');
  await settled(zoe);
  await zoe.getByLabel('Email').fill(`zoe.zed-${run}@${domain}`);
  await zoe.getByRole('button', { name: 'Continue' }).click();
  await signInAtProvider(zoe, `zoe.zed-${run}@${domain}`, true);
  await expect(zoe.getByRole('heading', { name: 'Welcome, Zoe Zed' })).toBeVisible();
  await expect(zoe).not.toHaveURL(/two-factor/);
  // The organization opens: the provider's MFA meets its policy.
  await zoe.goto('/organization');
  await expect(zoe.getByRole('heading', { name: organization })).toBeVisible();
  await expect(zoe.getByRole('region', { name: 'Two-factor authentication required' })).toHaveCount(0);
  await mfaContext.close();
});
