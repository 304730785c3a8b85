import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, expect, expectAccessible, settled, signUp, uniqueEmail } from './fixtures';

// Organization Profile → Webhooks: an owner adds an endpoint (a receiver this test runs on
// loopback, which the development server allows), sends a test event, and reads it in the
// delivery log.

test('an owner adds a webhook endpoint, sends a test event and sees it delivered', async ({ page }) => {
  const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const receiver = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body });
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('received by the test');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  try {
    const organization = `Hooks Co ${test.info().project.name}`;
    await signUp(page, 'Hana Hooks', uniqueEmail('hana'));
    await page.getByRole('link', { name: 'Create New Organization' }).click();
    const create = page.getByRole('dialog', { name: 'Add New Organization' });
    await create.getByLabel('Organization name').fill(organization);
    await create.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByRole('heading', { name: organization, level: 1 })).toBeVisible();

    await page.goto('/organization/profile');
    await page.getByRole('tab', { name: 'Webhooks' }).click();
    await expect(page.getByRole('tab', { name: 'Webhooks' })).toHaveAttribute('aria-selected', 'true');
    const tab = page.getByRole('region', { name: 'Webhooks' });
    await expect(tab.getByText('No webhook endpoints yet.')).toBeVisible();
    await expectAccessible(page);
    await settled(page);

    // No event chosen: the field says so.
    await tab.getByLabel('Endpoint URL').fill(url);
    await tab.getByRole('button', { name: 'Add endpoint' }).click();
    await expect(tab.getByText('Choose at least one event.')).toBeVisible();
    await settled(page);

    await tab.getByLabel('Endpoint URL').fill(url);
    await tab.getByRole('checkbox', { name: 'Member added' }).check();
    await tab.getByRole('checkbox', { name: 'Every audit event (for a SIEM)' }).check();
    await tab.getByRole('button', { name: 'Add endpoint' }).click();
    const shown = page.getByRole('region', { name: "The endpoint's signing secret" });
    await expect(shown).toBeVisible();
    const secret = (await shown.locator('code').textContent())!.trim();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    await expectAccessible(page);
    await settled(page);
    await shown.getByRole('button', { name: 'I have copied the secret' }).click();
    await expect(shown).toBeHidden();

    const row = tab.getByRole('row', { name: new RegExp(url.replace(/[.]/g, '\\.')) });
    await expect(row).toContainText('Enabled');
    await expect(row).toContainText('member.added, audit.event');
    await settled(page);
    await row.getByRole('button', { name: 'Send test event' }).click();
    await expect(tab.getByRole('status')).toContainText('A test event is on its way');
    const log = tab.getByRole('table', { name: `Delivery log of ${url}` });
    // The worker polls twice a second; the page shows what it wrote once reloaded.
    await expect(async () => {
      await page.reload();
      await expect(log.getByRole('row', { name: /webhook\.test/ })).toContainText('Succeeded', { timeout: 500 });
    }).toPass({ timeout: 15_000 });
    const delivered = log.getByRole('row', { name: /webhook\.test/ });
    await expect(delivered).toContainText('200');
    await expect(delivered).toContainText('received by the test');
    await expectAccessible(page);

    const test_event = received.find((r) => r.body.includes('"webhook.test"'));
    expect(test_event, 'the receiver got the test event').toBeTruthy();
    expect(test_event!.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(test_event!.headers['webhook-signature']).toMatch(/^v1,/);

    // Removing asks first.
    await settled(page);
    await tab.getByRole('link', { name: `Remove ${url}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Remove webhook endpoint' });
    await expect(dialog).toContainText('This cannot be undone.');
    await expectAccessible(page);
    await dialog.getByRole('button', { name: 'Remove' }).click();
    await expect(tab.getByRole('status')).toContainText('The endpoint was removed.');
    await expect(tab.getByText('No webhook endpoints yet.')).toBeVisible();
  } finally {
    receiver.close();
  }
});
