import { test, expect, expectAccessible } from './fixtures';

// /api/docs: the API reference (Swagger UI, served by Orgdesk) under the pages' strict
// Content-Security-Policy. Any violation would be a console error, which fails the test.

test('the API reference lists the operations and explains each problem type', async ({ page }) => {
  await page.goto('/api/docs#problem-invalid-key');
  await expect(page).toHaveTitle('API reference · Orgdesk');
  await expect(page.getByRole('heading', { name: 'Orgdesk API reference', level: 1 })).toBeVisible();
  await expect(page.getByRole('banner').getByRole('link', { name: '/api/v1/openapi.json' })).toBeVisible();
  // Each problem `type` the API answers with is an anchor here.
  await expect(page.locator('#problem-invalid-key')).toContainText('/api/docs#problem-invalid-key');
  await expect(page.locator('#problem-insufficient-scope')).toBeVisible();
  if (test.info().project.use.javaScriptEnabled !== false) {
    // Swagger UI renders the document: the title, a tag and an operation of it.
    await expect(page.getByRole('heading', { name: /Orgdesk API/ }).nth(1)).toBeVisible();
    await expect(page.getByText('getOrganization').first()).toBeVisible();
    await expect(page.getByText('/webhooks/{webhook_id}/test').first()).toBeVisible();
  }
  await expectAccessible(page);
});
