import * as path from 'node:path';
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { test, expect, expectAccessible, settled, signUp, openUserMenu, uniqueEmail, staff, type Page } from './fixtures';

async function createOrganization(page: Page, name: string) {
  await page.goto('/');
  await settled(page);
  await page.getByRole('link', { name: 'Create New Organization' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add New Organization' });
  await expect(dialog).toBeVisible();
  await dialog.getByLabel('Organization name').fill(name);
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
  await expect(page).toHaveURL(/\/organization$/);
}

test('a new user is told an account needs an organization, and creates one through the modal', async ({ page }) => {
  await signUp(page, 'Ada Lovelace', uniqueEmail('ada'));
  await expect(page.getByRole('heading', { name: 'Your account needs an organization' })).toBeVisible();
  await expectAccessible(page);

  await page.getByRole('link', { name: 'Create New Organization' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add New Organization' });
  await expect(dialog).toBeVisible();
  await expect(page).toHaveURL(/\?dialog=new-organization$/);
  await expectAccessible(page);

  await dialog.getByRole('button', { name: 'Save' }).click();
  if (test.info().project.use.javaScriptEnabled === false) {
    // The browser's own check stops an empty required field before it is sent.
    await expect(dialog.getByLabel('Organization name')).toHaveJSProperty('validity.valueMissing', true);
  }
  await dialog.getByLabel('Organization name').fill('Analytical Engines');
  await dialog.getByRole('button', { name: 'Save' }).click();

  await expect(page.getByRole('heading', { name: 'Analytical Engines', level: 1 })).toBeVisible();
  await expect(page.getByText('Organization ID')).toBeVisible();
  const facts = page.locator('dl.facts');
  await expect(facts).toContainText('Free');
  await expect(facts).toContainText('Owner');
  await expect(facts).toContainText(/org_[0-9a-f]{32}/);
  await expectAccessible(page);
});

test('the modal closes with Cancel, and with Escape once hydrated', async ({ page }) => {
  await signUp(page, 'Charles Babbage', uniqueEmail('charles'));
  await page.getByRole('link', { name: 'Create New Organization' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add New Organization' });
  await expect(dialog).toBeVisible();
  await dialog.getByRole('link', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();

  if (test.info().project.use.javaScriptEnabled !== false) {
    await page.getByRole('link', { name: 'Create New Organization' }).click();
    await expect(dialog.getByLabel('Organization name')).toBeFocused();
    await page.keyboard.press('Escape');
    await expect(dialog).toBeHidden();
  }
});

test('a form pressed twice while it is sent creates one organization, and says it is working', async ({ page }) => {
  test.skip(
    test.info().project.use.javaScriptEnabled === false,
    'the busy state and the second-press guard are the submit button island; without JavaScript the browser sends each press',
  );
  await signUp(page, 'Hasty Hopper', uniqueEmail('hasty'));
  let sent = 0;
  // Hold the request, as a slow network would, so the second press lands while it is out.
  await page.route('**/api/organizations/create', async (route) => {
    sent += 1;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await route.continue();
  });
  await page.getByRole('link', { name: 'Create New Organization' }).click();
  await settled(page);
  const dialog = page.getByRole('dialog', { name: 'Add New Organization' });
  await dialog.getByLabel('Organization name').fill('Hasty Works');
  // Both presses and the look in between happen in the page: Playwright's own clicks and
  // locators wait for the navigation the first press starts.
  const during = await dialog.getByRole('button', { name: 'Save' }).evaluate(async (button: HTMLButtonElement) => {
    button.click();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const seen = { label: button.textContent, busy: button.getAttribute('aria-busy') };
    button.click();
    return seen;
  });
  expect(during).toEqual({ label: 'Saving…', busy: 'true' });
  await expect(page.getByRole('heading', { name: 'Hasty Works', level: 1 })).toBeVisible();
  expect(sent).toBe(1);
});

test('switching between two organizations from Manage Organizations', async ({ page }) => {
  await signUp(page, 'Grace Hopper', uniqueEmail('grace'));
  await createOrganization(page, 'Cobol Works');
  await createOrganization(page, 'Compiler Labs');

  await openUserMenu(page, 'Grace Hopper');
  await page.getByRole('menuitem', { name: 'Manage Organizations' }).click();
  await expect(page.getByRole('heading', { name: 'Organizations', level: 1 })).toBeVisible();
  const rows = page.getByRole('row');
  await expect(rows.filter({ hasText: 'Compiler Labs' })).toContainText('Current organization');
  await expectAccessible(page);

  await rows.filter({ hasText: 'Cobol Works' }).getByRole('button', { name: /Switch to/ }).click();
  await expect(page.getByRole('heading', { name: 'Cobol Works', level: 1 })).toBeVisible();
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Cobol Works', level: 1 })).toBeVisible();
});

test('an owner fills in the profile, sees errors in place, and submits it', async ({ page }) => {
  await signUp(page, 'Katherine Johnson', uniqueEmail('katherine'));
  const orgName = `Orbit Math ${test.info().project.name}`;
  await createOrganization(page, orgName);
  await openUserMenu(page, 'Katherine Johnson');
  await page.getByRole('menuitem', { name: 'Organization Profile' }).click();
  await expect(page.getByRole('tab', { name: 'Organization Info' })).toHaveAttribute('aria-selected', 'true');
  await settled(page);
  await expectAccessible(page);

  const id = page.getByLabel('Organization ID');
  await expect(id).toHaveAttribute('readonly', '');
  await expect(id).toHaveValue(/org_[0-9a-f]{32}/);

  await page.getByLabel('Alert email').fill('alerts@orbit.example');
  await page.getByLabel('Company overview').fill('We compute trajectories.');
  await page.getByLabel('Sales email').fill('sales@orbit.example');
  await page.getByLabel('Phone').fill('555 0123');
  await page.getByLabel('Public website').fill('https://orbit.example');
  await page.getByLabel('Twitter (X) handle').fill('@orbit_math');
  await page.getByRole('button', { name: 'Submit' }).click();
  await expect(page.getByText('Phone must be an international number')).toBeVisible();

  await page.getByLabel('Phone').fill('+1 415 555 0123');
  if (test.info().project.use.javaScriptEnabled === false) {
    // Without JavaScript the refused form came back as stored: fill it in again.
    await page.getByLabel('Alert email').fill('alerts@orbit.example');
    await page.getByLabel('Company overview').fill('We compute trajectories.');
    await page.getByLabel('Sales email').fill('sales@orbit.example');
    await page.getByLabel('Public website').fill('https://orbit.example');
    await page.getByLabel('Twitter (X) handle').fill('@orbit_math');
  }
  await page.getByRole('button', { name: 'Submit' }).click();
  await expect(page.getByRole('status')).toHaveText('The organization profile was saved.');
  await expect(page.getByLabel('Phone')).toHaveValue('+14155550123');
  await expect(page.getByLabel('Twitter (X) handle')).toHaveValue('orbit_math');

  await page.goto(`/directory?q=${encodeURIComponent(orgName.toUpperCase())}`);
  await expect(page.getByRole('row', { name: new RegExp(orgName) })).toContainText('We compute trajectories.');
  await expectAccessible(page);
});

/** A small real PNG (solid colour), built with Node's zlib. */
function pngFile(dir: string): string {
  const width = 64, height = 64;
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) raw.set([200, 40, 90], y * (width * 3 + 1) + 1 + x * 3);
  }
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const out = Buffer.alloc(8 + data.length + 4);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'logo.png');
  fs.writeFileSync(file, png);
  return file;
}

test('an owner uploads a logo and sees it', async ({ page }, testInfo) => {
  await signUp(page, 'Mary Jackson', uniqueEmail('mary'));
  await createOrganization(page, 'Wind Tunnel');
  await page.goto('/organization/profile');
  await settled(page);
  const logo = pngFile(testInfo.outputDir);
  await page.getByLabel('Choose a logo image').setInputFiles(logo);
  await page.getByRole('button', { name: 'Save Logo' }).click();
  const image = page.getByRole('img', { name: 'Wind Tunnel logo' });
  await expect(image).toBeVisible();
  await expect(image).toHaveAttribute('src', /^\/logos\/org_[0-9a-f]{32}\/[0-9a-f]{64}\.png$/);
  // The element appears before its bytes arrive: poll until the browser has decoded them.
  await expect
    .poll(() => image.evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : 0)))
    .toBe(256);

  await page.goto('/organization');
  await expect(page.getByRole('img', { name: 'Wind Tunnel logo' })).toBeVisible();
});

test('the profile tabs move with the arrow keys and open with Enter', async ({ page }) => {
  test.skip(
    test.info().project.use.javaScriptEnabled === false,
    'arrow-key movement is the tab list island; without JavaScript each tab is a link reached with Tab',
  );
  await signUp(page, 'Annie Easley', uniqueEmail('annie'));
  await createOrganization(page, 'Centaur Rockets');
  await page.goto('/organization/profile');
  await settled(page);
  const info = page.getByRole('tab', { name: 'Organization Info' });
  const settings = page.getByRole('tab', { name: 'Settings' });
  await info.focus();
  await page.keyboard.press('ArrowRight');
  await expect(settings).toBeFocused();
  // Moving focus does not open the tab (manual activation): Enter does.
  await expect(info).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('ArrowRight');
  await expect(page.getByRole('tab', { name: 'API keys' })).toBeFocused();
  await page.keyboard.press('ArrowRight');
  await expect(page.getByRole('tab', { name: 'Webhooks' })).toBeFocused();
  // Past the last tab, focus wraps to the first.
  await page.keyboard.press('ArrowRight');
  await expect(info).toBeFocused();
  await page.keyboard.press('ArrowLeft');
  await expect(page.getByRole('tab', { name: 'Webhooks' })).toBeFocused();
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  await expect(settings).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(settings).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByRole('tabpanel')).toContainText('Delete organization');
});

test('an owner deletes an organization by typing its name', async ({ page }) => {
  await signUp(page, 'Dorothy Vaughan', uniqueEmail('dorothy'));
  await createOrganization(page, 'Fortran Team');
  await page.goto('/organization/profile');
  await page.getByRole('tab', { name: 'Settings' }).click();
  await expect(page.getByRole('tab', { name: 'Settings' })).toHaveAttribute('aria-selected', 'true');
  // Settings is a navigation of areas, each its own page.
  const areas = page.getByRole('navigation', { name: 'Settings' });
  await expect(areas.getByRole('link', { name: 'Security' })).toHaveAttribute('aria-current', 'page');
  await areas.getByRole('link', { name: 'Delete organization' }).click();
  await expect(page).toHaveURL(/area=delete/);
  await expect(page).toHaveTitle('Delete organization · Organization Profile · Orgdesk');
  await expect(areas.getByRole('link', { name: 'Delete organization' })).toHaveAttribute('aria-current', 'page');
  await page.getByRole('link', { name: 'Delete', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete organization' });
  await expect(dialog).toBeVisible();
  await expectAccessible(page);

  await dialog.getByLabel('Type the organization name to confirm').fill('fortran team');
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByText("Type the organization's name exactly as shown: Fortran Team")).toBeVisible();

  await dialog.getByLabel('Type the organization name to confirm').fill('Fortran Team');
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('status')).toHaveText('The organization was deleted.');
  await expect(page.getByRole('heading', { name: 'Your account needs an organization' })).toBeVisible();
});

test('a member sees the organization profile read-only', async ({ page }) => {
  const owner = uniqueEmail('owner');
  await signUp(page, 'Olivia Owner', owner);
  await createOrganization(page, `Read Only ${test.info().project.name}`);
  const orgId = (await page.locator('dl.facts code').textContent())!.trim();

  await openUserMenu(page, 'Olivia Owner');
  await page.getByRole('menuitem', { name: 'Log out' }).click();
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
  const member = uniqueEmail('member');
  await signUp(page, 'Mia Member', member);
  expect(staff('add-member', orgId, member, 'member')).toContain('is now a member');

  await page.goto('/organization');
  await expect(page.getByRole('heading', { name: `Read Only ${test.info().project.name}`, level: 1 })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Next steps' }), 'only owners see the steps').toHaveCount(0);

  await page.goto('/organization/profile');
  await expect(page.getByText('Only owners can change the organization profile. You can view it.')).toBeVisible();
  await expect(page.getByLabel('Organization name')).toHaveAttribute('readonly', '');
  await expect(page.getByLabel('Company overview')).toHaveAttribute('readonly', '');
  await expect(page.getByRole('button', { name: 'Submit' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Save Logo' })).toHaveCount(0);
  await page.getByRole('tab', { name: 'Settings' }).click();
  await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Delete organization' }).click();
  await expect(page.getByText('Only owners can delete the organization.')).toBeVisible();
  await expect(page.getByRole('link', { name: 'Delete', exact: true })).toHaveCount(0);
  await expectAccessible(page);
});

test('the navigation shows the current organization and opens Manage Organizations', async ({ page }) => {
  await signUp(page, 'Annie Easley', uniqueEmail('annie'));
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'No organization yet' })).toBeVisible();
  await createOrganization(page, 'Centaur Rockets');
  await createOrganization(page, 'Battery Lab');
  const current = nav.getByRole('link', { name: /^Current organization\W+Battery Lab$/ });
  await expect(current).toBeVisible();

  await current.click();
  await expect(page.getByRole('heading', { name: 'Organizations', level: 1 })).toBeVisible();
  await page
    .getByRole('row')
    .filter({ hasText: 'Centaur Rockets' })
    .getByRole('button', { name: /Switch to/ })
    .click();
  await expect(page.getByRole('heading', { name: 'Centaur Rockets', level: 1 })).toBeVisible();
  await expect(nav.getByRole('link', { name: /^Current organization\W+Centaur Rockets$/ })).toBeVisible();
  await expectAccessible(page);
});

test('a new organization shows its owner the next steps, each leading to its page', async ({ page }) => {
  await signUp(page, 'Evelyn Boyd', uniqueEmail('evelyn'));
  await createOrganization(page, 'Granville Analytics');
  const steps = page.getByRole('region', { name: 'Next steps' });
  await expect(steps).toContainText('0 of 3 done');
  const step = (name: string) => steps.getByRole('listitem').filter({ hasText: name });
  await expect(step('Fill out your organization profile')).toContainText('To do');
  await expect(step('Upload your company logo')).toContainText('To do');
  await expect(step('Invite users')).toContainText('To do');
  await expect(step('Set up single sign-on')).toContainText('(optional)');
  await expectAccessible(page);

  await step('Fill out your organization profile').getByRole('link').click();
  await expect(page.getByRole('tab', { name: 'Organization Info' })).toHaveAttribute('aria-selected', 'true');
  await settled(page);
  await page.getByLabel('Company overview').fill('We analyse orbits.');
  await page.getByLabel('Sales email').fill('sales@granville.example');
  await page.getByRole('button', { name: 'Submit' }).click();
  await expect(page.getByRole('status')).toHaveText('The organization profile was saved.');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
  await expect(step('Fill out your organization profile')).toContainText('Done');
  await expect(steps).toContainText('1 of 3 done');

  await step('Invite users').getByRole('link').click();
  await expect(page.getByRole('dialog', { name: 'Invite user' })).toBeVisible();
  await page.goto('/organization');
  await step('Set up single sign-on').getByRole('link').click();
  await expect(page.getByRole('tab', { name: 'Settings' })).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Single sign-on' }))
    .toHaveAttribute('aria-current', 'page');
  await expect(page.getByRole('region', { name: 'Single Sign-On' })).toBeVisible();
});
