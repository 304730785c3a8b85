import {
  test,
  expect,
  expectAccessible,
  settled,
  signUp,
  openUserMenu,
  uniqueEmail,
  mailTo,
  linkIn,
  submitSignUp,
  confirmEmail,
  PASSWORD,
  type Page,
} from './fixtures';

// Whole journeys across two browsers and an SMTP server: longer than one page's budget.
test.describe.configure({ timeout: 90_000 });

/** Signs up an owner, verifies their address from the email, and creates an organization. */
async function ownerWithOrganization(page: Page, organization: string): Promise<string> {
  const email = uniqueEmail('owner');
  await signUp(page, 'Olivia Owner', email);
  await expect(page.getByRole('region', { name: 'Email verification' })).toHaveCount(0);
  await page.getByRole('link', { name: 'Create New Organization' }).click();
  const create = page.getByRole('dialog', { name: 'Add New Organization' });
  await create.getByLabel('Organization name').fill(organization);
  await create.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('heading', { name: organization })).toBeVisible();
  return email;
}

/** Access Control → Invited Users → Invite user → Invite; the address shows as Pending. */
async function inviteThroughTheModal(page: Page, email: string) {
  await openUserMenu(page, 'Olivia Owner');
  await page.getByRole('menuitem', { name: 'Access Control' }).click();
  await page.getByRole('tab', { name: 'Invited Users' }).click();
  await expect(page.getByRole('tab', { name: 'Invited Users' })).toHaveAttribute('aria-selected', 'true');
  await page.getByRole('link', { name: 'Invite user' }).click();
  const dialog = page.getByRole('dialog', { name: 'Invite user' });
  await expect(dialog.getByLabel('Role')).toHaveValue('member');
  await settled(page);
  await expectAccessible(page);
  await dialog.getByLabel('Email address').fill(email);
  await dialog.getByRole('button', { name: 'Invite' }).click();
  await expect(page.getByRole('status')).toContainText('The invitation was sent.');
  const row = page.getByRole('row', { name: new RegExp(email.replace(/[.+]/g, '\\$&')) });
  await expect(row).toContainText('Pending');
  await expect(row).toContainText('Member');
  await expectAccessible(page);
}

test('an invited new user signs up from the email, accepts, and the owner manages them', async ({
  page,
  browser,
}) => {
  const organization = `Invite Co ${test.info().project.name}`;
  await ownerWithOrganization(page, organization);
  const inviteeEmail = uniqueEmail('invitee');
  await inviteThroughTheModal(page, inviteeEmail);

  // The invitee, in a browser of their own, follows the emailed Accept link.
  const mail = await mailTo(inviteeEmail, `invited you to join ${organization}`);
  expect(mail.html).toContain('>Accept<');
  const invitee = await browser.newContext({
    javaScriptEnabled: test.info().project.use.javaScriptEnabled !== false,
  });
  const newcomer = await invitee.newPage();
  await newcomer.goto(linkIn(mail, '/invitation'));
  await expect(newcomer.getByRole('heading', { name: "You're invited" })).toBeVisible();
  await expect(newcomer.getByText(`Olivia Owner invited ${inviteeEmail} to join ${organization}`)).toBeVisible();
  await expectAccessible(newcomer);
  await newcomer.getByRole('link', { name: 'Create an account' }).click();
  const emailField = newcomer.getByLabel('Email');
  await expect(emailField).toHaveValue(inviteeEmail);
  await expect(emailField).toHaveAttribute('readonly', '');
  await settled(newcomer);
  await expectAccessible(newcomer);
  await newcomer.getByLabel('Name').fill('Nora Newcomer');
  await newcomer.getByLabel('Password').fill(PASSWORD);
  await newcomer.getByRole('button', { name: 'Create account' }).click();

  await expect(newcomer.getByRole('heading', { name: `Welcome to ${organization}` })).toBeVisible();
  await expect(newcomer.getByText(`Olivia Owner invited you to join ${organization} as Member.`)).toBeVisible();
  await settled(newcomer);
  await expectAccessible(newcomer);
  await newcomer.getByRole('button', { name: 'Accept Invitation' }).click();
  await expect(newcomer.getByRole('heading', { name: organization })).toBeVisible();
  // The link proved the address: no verification banner.
  await expect(newcomer.getByRole('region', { name: 'Email verification' })).toHaveCount(0);
  await invitee.close();

  // The owner sees them on the Users tab, makes them an admin, then removes them.
  await page.goto('/access-control?tab=users');
  const row = page.getByRole('row', { name: /Nora Newcomer/ });
  await expect(row).toContainText('Member');
  await page.goto('/access-control?tab=invited');
  await expect(page.getByText('0 pending invitations')).toBeVisible();
  await page.goto('/access-control?tab=users');
  await settled(page);
  await row.getByText('Actions').click();
  await row.getByRole('menuitem', { name: 'Edit roles' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit roles' });
  await edit.getByLabel('Role').selectOption('admin');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('status')).toHaveText('The role was changed.');
  await expect(page.getByRole('row', { name: /Nora Newcomer/ })).toContainText('Admin');

  const again = page.getByRole('row', { name: /Nora Newcomer/ });
  await again.getByText('Actions').click();
  await again.getByRole('menuitem', { name: 'Quick View' }).click();
  await page.getByRole('dialog', { name: 'Quick View' }).getByRole('link', { name: 'Remove' }).click();
  await page.getByRole('dialog', { name: 'Remove user' }).getByRole('button', { name: 'Remove' }).click();
  await expect(page.getByRole('status')).toHaveText('The user was removed from the organization.');
  await expect(page.getByRole('row', { name: /Nora Newcomer/ })).toHaveCount(0);

  // The audit log tells the story, newest first.
  await page.getByRole('tab', { name: 'Audit Log' }).click();
  const events = page.getByRole('table').getByRole('row');
  await expect(events.nth(1)).toContainText(`Olivia Owner removed ${inviteeEmail} from the organization.`);
  await expect(page.getByRole('table')).toContainText(`Olivia Owner invited ${inviteeEmail} as Member.`);
  await expectAccessible(page);

  // The whole log as a file: a plain link, with or without JavaScript.
  const exportLink = page.getByRole('link', { name: 'Export CSV' });
  const exported = await page.request.get((await exportLink.getAttribute('href'))!);
  expect(exported.status()).toBe(200);
  expect(exported.headers()['content-type']).toContain('text/csv');
  const csv = await exported.text();
  expect(csv.split('\n')[0]).toBe('time,kind,actor_kind,by,subject,role,event');
  expect(csv).toContain(`Olivia Owner removed ${inviteeEmail} from the organization.`);

  // Filtered by who acted: only the invitee's own events (accepting), and the export follows.
  await settled(page);
  await page.getByLabel('Actor').fill(inviteeEmail);
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/actor=/);
  await expect(page.getByRole('table')).not.toContainText('Olivia Owner invited');
  await expect(page.getByRole('table')).toContainText(inviteeEmail);
  const filtered = await page.request.get((await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href'))!);
  expect(await filtered.text()).not.toContain('Olivia Owner invited');
  await expectAccessible(page);
});

test('an invited existing user logs in from the email and accepts', async ({ page, browser }) => {
  const organization = `Second Co ${test.info().project.name}`;
  const existingEmail = uniqueEmail('existing');
  const existing = await browser.newContext({
    javaScriptEnabled: test.info().project.use.javaScriptEnabled !== false,
  });
  const member = await existing.newPage();
  await signUp(member, 'Evan Existing', existingEmail);
  await openUserMenu(member, 'Evan Existing');
  await member.getByRole('menuitem', { name: 'Log out' }).click();
  await expect(member.getByRole('heading', { name: 'Log in' })).toBeVisible();

  await ownerWithOrganization(page, organization);
  await inviteThroughTheModal(page, existingEmail);

  const mail = await mailTo(existingEmail, `invited you to join ${organization}`);
  await member.goto(linkIn(mail, '/invitation'));
  await member.getByRole('link', { name: 'Log in to accept' }).click();
  await expect(member.getByLabel('Email')).toHaveValue(existingEmail);
  await member.getByLabel('Password').fill(PASSWORD);
  await member.getByRole('button', { name: 'Log in' }).click();
  await expect(member.getByRole('heading', { name: `Welcome to ${organization}` })).toBeVisible();
  await member.getByRole('button', { name: 'Accept Invitation' }).click();
  await expect(member.getByRole('heading', { name: organization })).toBeVisible();
  await existing.close();

  await page.goto('/access-control?tab=users');
  await expect(page.getByRole('row', { name: /Evan Existing/ })).toContainText('Member');
});

test('a signed-in stranger is told whom the invitation is for; a revoked link says so', async ({
  page,
}) => {
  const organization = `Third Co ${test.info().project.name}`;
  const ownerEmail = await ownerWithOrganization(page, organization);
  const invitedEmail = uniqueEmail('invited');
  await inviteThroughTheModal(page, invitedEmail);
  const mail = await mailTo(invitedEmail, `invited you to join ${organization}`);
  const link = linkIn(mail, '/invitation');

  // The owner opens the link while logged in as themselves.
  await page.goto(link);
  await expect(page.getByRole('heading', { name: 'This invitation is for another address' })).toBeVisible();
  await expect(page.getByText(invitedEmail)).toBeVisible();
  await expect(page.getByRole('button', { name: 'Accept Invitation' })).toHaveCount(0);
  await expectAccessible(page);
  await page.getByRole('button', { name: 'Log out and switch account' }).click();
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
  await expect(page.getByLabel('Email')).toHaveValue(invitedEmail);

  // Back as the owner: Revoke, with a confirmation.
  await page.getByLabel('Email').fill(ownerEmail);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('heading', { name: 'This invitation is for another address' })).toBeVisible();
  await page.goto('/access-control?tab=invited');
  const row = page.getByRole('row', { name: new RegExp(invitedEmail.replace(/[.+]/g, '\\$&')) });
  await row.getByRole('link', { name: /Revoke/ }).click();
  const confirm = page.getByRole('dialog', { name: 'Revoke invitation' });
  await expect(confirm).toContainText(invitedEmail);
  await expectAccessible(page);
  await confirm.getByRole('button', { name: 'Revoke' }).click();
  await expect(page.getByRole('status')).toHaveText('The invitation was revoked.');
  await expect(page.getByText('0 pending invitations')).toBeVisible();
  await page.goto(link);
  await expect(page.getByRole('heading', { name: 'This invitation was revoked' })).toBeVisible();
  await expectAccessible(page);
});

test('a user who verifies their address finds the invitation waiting on the Welcome page', async ({ page, browser }) => {
  const organization = `Fourth Co ${test.info().project.name}`;
  const inviteeEmail = uniqueEmail('welcome');
  const context = await browser.newContext({
    javaScriptEnabled: test.info().project.use.javaScriptEnabled !== false,
  });
  const invitee = await context.newPage();
  await submitSignUp(invitee, 'Wendy Welcome', inviteeEmail);

  await ownerWithOrganization(page, organization);
  await inviteThroughTheModal(page, inviteeEmail);
  // Invitations waiting for an address show once its holder proves it.
  await confirmEmail(invitee, inviteeEmail);

  await invitee.goto('/');
  const section = invitee.getByRole('region', { name: 'Invitations for you' });
  await expect(section.getByRole('row', { name: new RegExp(organization) })).toContainText('Olivia Owner');
  await settled(invitee);
  await expectAccessible(invitee);
  await section.getByRole('button', { name: `Accept Invitation to ${organization}` }).click();
  await expect(invitee.getByRole('heading', { name: organization })).toBeVisible();
  await context.close();
});
