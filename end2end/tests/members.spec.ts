import { test, expect, expectAccessible, settled, signUp, openUserMenu, uniqueEmail, staff } from './fixtures';

// Two accounts, an organization and every member dialog: more than one page's budget.
test.describe.configure({ timeout: 60_000 });

test('an owner changes a member’s role and removes them from Access Control', async ({ page }) => {
  const project = test.info().project.name;
  const memberEmail = uniqueEmail('member');
  await signUp(page, 'Mia Member', memberEmail);
  await openUserMenu(page, 'Mia Member');
  await page.getByRole('menuitem', { name: 'Log out' }).click();
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();

  await signUp(page, 'Olivia Owner', uniqueEmail('owner'));
  await page.getByRole('link', { name: 'Create New Organization' }).click();
  const create = page.getByRole('dialog', { name: 'Add New Organization' });
  await create.getByLabel('Organization name').fill(`Team ${project}`);
  await create.getByRole('button', { name: 'Save' }).click();
  const orgId = (await page.locator('dl.facts code').textContent())!.trim();
  staff('add-member', orgId, memberEmail, 'member');

  await openUserMenu(page, 'Olivia Owner');
  await page.getByRole('menuitem', { name: 'Access Control' }).click();
  await expect(page.getByRole('heading', { name: 'Access Control' })).toBeVisible();
  await expect(page.getByRole('tab', { name: 'Users', exact: true })).toHaveAttribute('aria-selected', 'true');
  await settled(page);
  await expectAccessible(page);
  const row = page.getByRole('row', { name: /Mia Member/ });
  await expect(row).toContainText('Member');

  await page.getByRole('tab', { name: 'Roles' }).click();
  await expect(page.getByRole('row', { name: /Manage organization roles/ })).toContainText('No');
  await expectAccessible(page);
  await page.getByRole('tab', { name: 'Users', exact: true }).click();

  await row.getByText('Actions').click();
  await row.getByRole('menuitem', { name: 'Edit roles' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit roles' });
  await expect(edit).toBeVisible();
  await edit.getByLabel('Role').selectOption('admin');
  if (test.info().project.use.javaScriptEnabled !== false) {
    await expect(edit.getByText('Mia Member gains 4 permissions and loses 0.')).toBeVisible();
  }
  await expectAccessible(page);
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('status')).toHaveText('The role was changed.');
  await expect(page.getByRole('row', { name: /Mia Member/ })).toContainText('Admin');

  const again = page.getByRole('row', { name: /Mia Member/ });
  await again.getByText('Actions').click();
  await again.getByRole('menuitem', { name: 'Quick View' }).click();
  const quick = page.getByRole('dialog', { name: 'Quick View' });
  await expect(quick).toContainText(memberEmail);
  await expectAccessible(page);
  await quick.getByRole('link', { name: 'Remove' }).click();
  const confirm = page.getByRole('dialog', { name: 'Remove user' });
  await confirm.getByRole('button', { name: 'Remove' }).click();
  await expect(page.getByRole('status')).toHaveText('The user was removed from the organization.');
  await expect(page.getByRole('row', { name: /Mia Member/ })).toHaveCount(0);
});
