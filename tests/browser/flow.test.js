// The reference frontend (web/app) in a real headless Chromium against a real dev server: the
// demo workflow end to end, a correction round requested through the tenant API, the friendly
// pages, languages, client-side checks and retries. Screenshots of every step, at desktop width
// and at 360 px, land in target/browser-screenshots/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, startBrowser, screenshots, criticalViolations, FIXTURES, REPO, DESKTOP } from './harness.js';

let server;
let chromium;

before(async () => {
  server = await startServer();
  chromium = await startBrowser();
});

after(async () => {
  await Promise.all([chromium && chromium.close(), server && server.stop()]);
});

async function newSession() {
  return server.tenant('POST', '/v1/sessions', { workflow_id: server.workflow_id });
}

async function openPage(url, locale = 'en-US') {
  const context = await chromium.browser.newContext({ locale, viewport: DESKTOP });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => {
    // API refusals the page handles (the form's 400) and the demo's offline logo are expected.
    if (message.type() === 'error' && !/^Failed to load resource/.test(message.text())) {
      problems.push(message.text());
    }
  });
  if (url) await page.goto(url);
  return { page, context, problems };
}

async function accessible(page, where) {
  assert.deepEqual(await criticalViolations(page), [], `axe critical violations on ${where}`);
}

const heading = (page) => page.locator('main h1');

test('the demo workflow walks end to end, then a correction round', async () => {
  const session = await newSession();
  assert.match(session.public_url, /\/public\/sessions\/[0-9a-f-]{36}$/);
  const { page, context, problems } = await openPage(session.public_url);

  // ID document: choose a file; init → PUT with progress → confirm; the document shows.
  await assert.doesNotReject(heading(page).filter({ hasText: 'ID Document' }).waitFor());
  assert.equal(await page.locator('.progress-count').textContent(), 'Step 1 of 5');
  await accessible(page, 'the ID step');
  await screenshots(page, '01-id-document');
  await page.getByLabel('Choose a file: Government ID').setInputFiles(path.join(FIXTURES, 'id-card-sample.png'));
  await page.getByText('Uploaded: id-card-sample.png').waitFor();
  await screenshots(page, '02-id-document-uploaded');
  await page.getByRole('button', { name: 'Continue' }).click();

  // Selfie: a camera capture input is offered; the file input uploads the same way.
  await heading(page).filter({ hasText: 'Selfie' }).waitFor();
  assert.equal(await page.getByLabel('Use the camera: Selfie').getAttribute('capture'), 'user');
  await page.getByLabel('Choose a file: Selfie').setInputFiles(path.join(FIXTURES, 'selfie-sample.png'));
  await page.getByText('Uploaded: selfie-sample.png').waitFor();
  await accessible(page, 'the selfie step');
  await screenshots(page, '03-selfie');
  await page.getByRole('button', { name: 'Continue' }).click();

  // Liveness in test mode: the sandbox, behind a clear banner.
  await heading(page).filter({ hasText: 'Liveness' }).waitFor();
  await page.getByRole('button', { name: 'Start the check' }).click();
  await page.locator('.test-mode').waitFor();
  assert.match(await page.locator('.test-mode').textContent(), /Test mode/);
  await accessible(page, 'the liveness step');
  await screenshots(page, '04-liveness-test-mode');
  await page.getByRole('button', { name: 'Complete the test check' }).click();

  // The form: one value the server refuses, its message next to the field, then fixed.
  await heading(page).filter({ hasText: 'Personal Information' }).waitFor();
  await page.getByLabel('Full Name').fill('Jon Doe');
  await page.getByLabel('Date of Birth').fill('1985-03-15');
  await page.getByLabel('Email').fill('jon@example.com');
  await page.getByLabel('Phone').fill('12345');
  await page.getByLabel('Country of residence').selectOption('GB');
  await page.getByLabel('Occupation').selectOption('employed');
  await page.getByRole('button', { name: 'Continue' }).click();
  const phoneError = page.locator('#f-personal_info-phone-error');
  await phoneError.waitFor();
  assert.match(await phoneError.textContent(), /international format/);
  assert.equal(await page.getByLabel('Phone').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'f-personal_info-phone');
  await accessible(page, 'the form with an error');
  await screenshots(page, '05-form-server-error');
  await page.getByLabel('Phone').fill('+447700900123');
  await page.getByRole('button', { name: 'Continue' }).click();

  // Related parties: add one, its link opens the app for their own session.
  await heading(page).filter({ hasText: 'Beneficial owners' }).waitFor();
  await page.getByText('Nobody added yet.').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Continue' }).isDisabled(), true);
  await page.getByLabel('Full name').fill('Juan Garcia');
  await page.getByLabel('Email').fill('juan@example.com');
  await page.getByLabel('Role').fill('UBO');
  await page.getByRole('button', { name: 'Add person' }).click();
  const party = page.locator('.party').filter({ hasText: 'Juan Garcia - UBO' });
  await party.waitFor();
  const link = await party.locator('input.link').inputValue();
  assert.match(link, /\/public\/sessions\/[0-9a-f-]{36}$/);
  await accessible(page, 'the related parties step');
  await screenshots(page, '06-related-parties');
  const child = await openPage(link);
  await child.page.locator('main h1').filter({ hasText: 'Owner details' }).waitFor();
  await child.context.close();
  await page.getByRole('button', { name: 'New link' }).click();
  await page.getByText('New link created').waitFor();
  assert.notEqual(await party.locator('input.link').inputValue(), link);
  await page.getByRole('button', { name: 'Continue' }).click();

  // The end: under review.
  await heading(page).filter({ hasText: 'Under review' }).waitFor();
  await accessible(page, 'the end page');
  await screenshots(page, '07-under-review');
  const stored = await server.tenant('GET', `/v1/sessions/${session.session_id}`);
  assert.equal(stored.status, 'manual_review');

  // A reviewer asks for a fix through the tenant API; only that step is editable, with the
  // reviewer's customer-facing message.
  await server.tenant('POST', `/v1/sessions/${session.session_id}/corrections`, {
    items: [{
      step_id: 'personal_info',
      field_ids: ['full_name'],
      message: 'Please correct your legal name so it matches your ID.',
      internal_note: 'Passport says JOHN DOE',
    }],
  });
  await page.reload();
  await heading(page).filter({ hasText: 'We need a few changes' }).waitFor();
  assert.equal(await page.locator('section[data-step]').count(), 1);
  assert.equal(await page.locator('section[data-step]').getAttribute('data-step'), 'personal_info');
  assert.match(await page.locator('.correction-message').textContent(), /matches your ID/);
  assert.equal(await page.getByText('Passport says JOHN DOE').count(), 0);
  assert.equal(await page.getByLabel('Full Name').inputValue(), 'Jon Doe');
  await accessible(page, 'the correction page');
  await screenshots(page, '08-correction');
  await page.getByLabel('Full Name').fill('John Doe');
  await page.getByRole('button', { name: 'Send the fix' }).click();
  await heading(page).filter({ hasText: 'Under review' }).waitFor();
  const fixed = await server.tenant('GET', `/v1/sessions/${session.session_id}`);
  assert.equal(fixed.status, 'manual_review');

  assert.deepEqual(problems, []);
  await context.close();
});

test('an unknown or expired link shows a friendly page, not JSON', async () => {
  const { page, context } = await openPage(`${server.base_url}/public/sessions/00000000-0000-4000-8000-000000000000`);
  await heading(page).filter({ hasText: 'This link does not work' }).waitFor();
  assert.doesNotMatch(await page.content(), /NOT_FOUND/);
  await accessible(page, 'the invalid link page');
  await screenshots(page, '09-invalid-link');
  await context.close();
});

test('the page speaks Spanish to a Spanish browser and switches to English', async () => {
  const session = await newSession();
  const { page, context } = await openPage(session.public_url, 'es-AR');
  await page.locator('.progress-count').filter({ hasText: 'Paso 1 de 5' }).waitFor();
  assert.equal(await page.locator('html').getAttribute('lang'), 'es');
  await screenshots(page, '10-spanish');
  await page.getByRole('button', { name: 'Switch to English' }).click();
  await page.locator('.progress-count').filter({ hasText: 'Step 1 of 5' }).waitFor();
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  await context.close();
});

test('the tenant branding colours the page and every answer forbids referrers', async () => {
  const session = await newSession();
  const { page, context } = await openPage();
  const response = await page.goto(session.public_url);
  assert.equal(response.headers()['referrer-policy'], 'no-referrer');
  assert.match(response.headers()['content-security-policy'], /default-src 'self'/);
  assert.match(response.headers()['content-type'], /^text\/html/);
  await heading(page).waitFor();
  const primary = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--primary').trim());
  assert.equal(primary.toLowerCase(), '#10b981');
  const buttonText = await page.locator('.actions .primary').first().evaluate((b) => getComputedStyle(b).color);
  assert.equal(buttonText, 'rgb(0, 0, 0)', 'dark text on the light green primary colour');
  await context.close();
});

test('files the server would refuse are refused before any upload', async () => {
  const session = await newSession();
  const { page, context } = await openPage(session.public_url);
  await heading(page).filter({ hasText: 'ID Document' }).waitFor();
  const uploads = [];
  page.on('request', (request) => { if (request.url().includes('/upload/')) uploads.push(request.url()); });
  const dir = await mkdtemp(path.join(tmpdir(), 'kyc-files-'));
  const text = path.join(dir, 'notes.txt');
  await writeFile(text, 'not an image');
  await page.getByLabel('Choose a file: Government ID').setInputFiles(text);
  await page.getByText('notes.txt is not an accepted file type.').waitFor();
  assert.deepEqual(uploads, []);
  await context.close();
});

test('network failures are retried with a visible message', async () => {
  const session = await newSession();
  const { page, context } = await openPage();
  let failures = 1;
  await page.route('**/workflow', (route) => (failures-- > 0 ? route.abort('connectionrefused') : route.continue()));
  await page.goto(session.public_url);
  await page.locator('#retry').filter({ hasText: 'Retrying' }).waitFor();
  await heading(page).filter({ hasText: 'ID Document' }).waitFor();
  assert.equal(await page.locator('#retry').isHidden(), true);
  await context.close();
});

test('the country list is the one the server accepts', async () => {
  const rust = await readFile(path.join(REPO, 'crates/core/src/domain/countries.rs'), 'utf8');
  const server = /const CODES: &str = "([^"]+)"/.exec(rust)[1].replace(/\\\n/g, ' ').split(/\s+/).filter(Boolean);
  const { COUNTRY_CODES } = await import(path.join(REPO, 'web/app/countries.js'));
  assert.deepEqual(COUNTRY_CODES, server);
});

/// A workflow that reads the passport (test mode: the sandbox's specimen, ANNA MARIA ERIKSSON),
/// asks for every form field type and decides automatically.
async function checkedWorkflow() {
  const workflow = await server.tenant('POST', '/v1/workflows', {
    name: 'Checked',
    completion_redirect_url: 'https://example.com/kyc-complete',
    resolution_config: { auto_resolve: true },
    verification_config: { auto_reject: true },
    steps: [
      {
        step_id: 'passport', name: 'Passport', type: 'document_upload', extract: true,
        document_requirements: [{ document_type: 'passport', label: 'Passport' }],
      },
      {
        step_id: 'about', name: 'About you', type: 'form_fill', custom_fields: [
          { field_id: 'full_name', name: 'Legal name', type: 'text', required: true },
          { field_id: 'date_of_birth', name: 'Birth date', type: 'date', required: true },
          { field_id: 'bio', name: 'About your business', type: 'textarea' },
          { field_id: 'income', name: 'Yearly income', type: 'number' },
          { field_id: 'products', name: 'Products', type: 'multiselect', options: ['cards', 'loans'] },
          { field_id: 'terms', name: 'I accept the terms', type: 'checkbox', required: true },
          { field_id: 'proof', name: 'Proof of address', type: 'file' },
        ],
      },
    ],
  });
  return workflow.workflow_id;
}

async function walkChecked(fileName) {
  const session = await server.tenant('POST', '/v1/sessions', { workflow_id: await checkedWorkflow() });
  const { page, context, problems } = await openPage(session.public_url);
  await heading(page).filter({ hasText: 'Passport' }).waitFor();
  const png = await readFile(path.join(FIXTURES, 'id-card-sample.png'));
  await page.getByLabel('Choose a file: Passport').setInputFiles({ name: fileName, mimeType: 'image/png', buffer: png });
  await page.getByText('Is this information correct?').waitFor();
  assert.match(await page.locator('.extracted').textContent(), /ERIKSSON/);
  await screenshots(page, `11-extraction-${fileName.replace('.png', '')}`);
  await page.getByRole('button', { name: 'Yes, it is correct' }).click();
  await page.getByText(`Uploaded: ${fileName}`).waitFor();
  await page.getByRole('button', { name: 'Continue' }).click();

  await heading(page).filter({ hasText: 'About you' }).waitFor();
  await page.getByLabel('Legal name').fill('Anna Maria Eriksson');
  await page.getByLabel('Birth date').fill('1974-08-12');
  await page.getByLabel('About your business').fill('Coffee roasting\nand a small shop');
  await page.getByLabel('Yearly income').fill('52000.5');
  await page.getByLabel('cards').check();
  await page.getByLabel('Choose a file: Proof of address').setInputFiles(path.join(FIXTURES, 'id-card-sample.png'));
  await page.getByText('Current file: id-card-sample.png').waitFor();
  await page.getByRole('button', { name: 'Continue' }).click();
  // The required checkbox was left unticked: the server's "required" message sits next to it.
  await page.locator('#f-about-terms-error').filter({ hasText: 'This field is required.' }).waitFor();
  await accessible(page, 'every field type');
  await screenshots(page, '12-every-field-type');
  await page.getByLabel('I accept the terms').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  return { page, context, problems, session };
}

test('a passport read for confirmation, every field type, and an automatic approval', async () => {
  const { page, context, problems, session } = await walkChecked('passport.png');
  await heading(page).filter({ hasText: 'Verified' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Return to the website' }).getAttribute('href'), 'https://example.com/kyc-complete');
  await accessible(page, 'the approved page');
  await screenshots(page, '13-approved');
  const stored = await server.tenant('GET', `/v1/sessions/${session.session_id}`);
  const form = stored.steps.find((s) => s.step_id === 'about').form_data;
  assert.deepEqual({ ...form, proof: typeof form.proof }, {
    full_name: 'Anna Maria Eriksson', date_of_birth: '1974-08-12', bio: 'Coffee roasting\nand a small shop',
    income: 52000.5, products: ['cards'], terms: true, proof: 'string',
  });
  assert.deepEqual(problems, []);
  await context.close();
});

test('an automatic rejection shows its customer-facing reasons', async () => {
  const { page, context } = await walkChecked('expired-passport.png');
  await heading(page).filter({ hasText: 'We could not verify you' }).waitFor();
  assert.ok((await page.locator('.end li').count()) > 0, 'the reasons are listed');
  await screenshots(page, '14-rejected');
  await context.close();
});
