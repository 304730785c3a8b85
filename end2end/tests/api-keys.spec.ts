import { test, expect, expectAccessible, settled, signUp, uniqueEmail } from './fixtures';

// Organization Profile → API keys, and a program calling /api/v1 with the key (Playwright's
// request context: no cookies of the page, as a program has none).

test('an owner creates an API key, a program uses it, and the owner revokes it', async ({ page, request }) => {
  const organization = `Keys Co ${test.info().project.name}`;
  await signUp(page, 'Kay Keys', uniqueEmail('kay'));
  await page.getByRole('link', { name: 'Create New Organization' }).click();
  const create = page.getByRole('dialog', { name: 'Add New Organization' });
  await create.getByLabel('Organization name').fill(organization);
  await create.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('heading', { name: organization, level: 1 })).toBeVisible();

  await page.goto('/organization/profile');
  await page.getByRole('tab', { name: 'API keys' }).click();
  await expect(page.getByRole('tab', { name: 'API keys' })).toHaveAttribute('aria-selected', 'true');
  const tab = page.getByRole('region', { name: 'API keys' });
  await expect(tab.getByText('No API keys yet.')).toBeVisible();
  await expectAccessible(page);
  await settled(page);

  // Nothing chosen: the scopes field says what is missing.
  await tab.getByLabel('Key name').fill('HR sync');
  await tab.getByRole('button', { name: 'Create API key' }).click();
  await expect(tab.getByText('Choose at least one scope.')).toBeVisible();
  await settled(page);

  await tab.getByLabel('Key name').fill('HR sync');
  await tab.getByRole('checkbox', { name: 'View the organization, its profile and its members' }).check();
  await tab.getByLabel('Expires').selectOption('30');
  await tab.getByRole('button', { name: 'Create API key' }).click();
  const shown = page.getByRole('region', { name: 'Your new key “HR sync”' });
  await expect(shown).toBeVisible();
  const key = (await shown.locator('code').textContent())!.trim();
  expect(key).toMatch(/^odk_[A-Za-z0-9]{38}$/);
  await expectAccessible(page);

  // A program with the key reads the organization; without it, or with a session, nothing.
  const read = await request.get('/api/v1/organization', { headers: { Authorization: `Bearer ${key}` } });
  expect(read.status()).toBe(200);
  expect((await read.json()).name).toBe(organization);
  const anonymous = await request.get('/api/v1/organization');
  expect(anonymous.status()).toBe(401);
  expect(anonymous.headers()['content-type']).toBe('application/problem+json');

  await settled(page);
  await shown.getByRole('button', { name: 'I have copied the key' }).click();
  await expect(shown).toBeHidden();
  await page.reload();
  const row = tab.getByRole('row', { name: /HR sync/ });
  await expect(row).toContainText('Active');
  await expect(row).toContainText(key.slice(0, 12));
  await expect(row).not.toContainText(key);
  await expect(row.getByRole('cell').nth(5)).not.toHaveText('Never');
  await expect(page.getByText(key)).toHaveCount(0);

  await settled(page);
  await row.getByRole('link', { name: 'Revoke HR sync' }).click();
  const dialog = page.getByRole('dialog', { name: 'Revoke API key' });
  await expect(dialog).toContainText('This cannot be undone.');
  await expectAccessible(page);
  await dialog.getByRole('button', { name: 'Revoke' }).click();
  await expect(tab.getByRole('status')).toContainText('The key was revoked');
  await expect(tab.getByRole('row', { name: /HR sync/ })).toContainText('Revoked');

  const after = await request.get('/api/v1/organization', { headers: { Authorization: `Bearer ${key}` } });
  expect(after.status()).toBe(401);
});
