#!/usr/bin/env node
// End-to-end test of the database dashboard's Backups tab, in a real (headless) Chromium.
//
//   BACKSTOP_URL=http://127.0.0.1:18080 BACKSTOP_TOKEN=bst_... BACKSTOP_APP=my-app BACKSTOP_ADDON=pg-1 \
//   SCREENSHOT=/tmp/dashboard.png node dashboard.spec.mjs
//
// Needs a Starter or Business addon whose database can really be dumped: the test triggers a
// manual backup and downloads it. It changes the addon's schedule (ends at 4:00 UTC, enabled).
// Optional: BACKSTOP_SANDBOX_ADDON (a Sandbox addon of the same app) also checks the Sandbox message;
// CHROMIUM (default /usr/bin/chromium); BACKUP_TIMEOUT_MS (default 60000).
// Exits 0 when every step passes, 1 with the failing step and why otherwise.

import { chromium } from 'playwright-core';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

// ------------------------------------------------------------------ configuration

function env(name, fallback) {
  const value = process.env[name];
  if (value === undefined || value === '') {
    if (fallback === undefined) {
      console.error(`FAIL: environment variable ${name} is required ` +
        '(BACKSTOP_URL, BACKSTOP_TOKEN, BACKSTOP_APP, BACKSTOP_ADDON; optional SCREENSHOT, CHROMIUM)');
      process.exit(2);
    }
    return fallback;
  }
  return value;
}

const BASE = env('BACKSTOP_URL').replace(/\/+$/, '');
const TOKEN = env('BACKSTOP_TOKEN');
const APP = env('BACKSTOP_APP');
const ADDON = env('BACKSTOP_ADDON');
const SCREENSHOT = path.resolve(env('SCREENSHOT', 'dashboard-backups-tab.png'));
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const SANDBOX_ADDON = env('BACKSTOP_SANDBOX_ADDON', ''); // optional: a Sandbox addon of the same app
const BACKUP_TIMEOUT_MS = Number(env('BACKUP_TIMEOUT_MS', '60000'));
const UI_TIMEOUT_MS = 10_000;
const OVERALL_TIMEOUT_MS = BACKUP_TIMEOUT_MS + 120_000;

const DASHBOARD_URL = `${BASE}/dashboard/index.html#/apps/${encodeURIComponent(APP)}/addons/${encodeURIComponent(ADDON)}/backups`;
const ADDON_API = `${BASE}/v1/apps/${encodeURIComponent(APP)}/addons/${encodeURIComponent(ADDON)}`;

// ------------------------------------------------------------------ tiny harness

class Failure extends Error {}

function check(condition, message) {
  if (!condition) {
    throw new Failure(message);
  }
}

let stepNumber = 0;
async function step(name, fn) {
  stepNumber++;
  const started = Date.now();
  try {
    const note = await fn();
    console.log(`ok ${stepNumber} - ${name}${note ? ` (${note})` : ''} [${Date.now() - started} ms]`);
  } catch (e) {
    console.log(`not ok ${stepNumber} - ${name} [${Date.now() - started} ms]`);
    e.step = name;
    throw e;
  }
}

/** Polls fn until it returns a truthy value; fails with what(lastValue) after timeout. */
async function waitFor(fn, { timeout = UI_TIMEOUT_MS, interval = 100, what }) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await fn();
    if (last) {
      return last;
    }
    if (Date.now() > deadline) {
      throw new Failure(`timed out after ${timeout} ms waiting for ${typeof what === 'function' ? what(last) : what}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

async function api(method, url, body, token = TOKEN) {
  const res = await fetch(url, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      Accept: 'application/json',
      ...(body ? { 'Content-Type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, json, text };
}

const capitalize = (s) => s.charAt(0).toUpperCase() + s.slice(1);

// ------------------------------------------------------------------ the test

async function main() {
  let addon;
  let browser;
  const pageErrors = [];
  const downloadDir = await mkdtemp(path.join(tmpdir(), 'backstop-e2e-'));

  try {
    await step('API answers and the token can read the addon', async () => {
      const res = await api('GET', ADDON_API);
      check(res.status === 200, `GET ${ADDON_API} answered ${res.status}: ${res.text.slice(0, 300)}`);
      addon = res.json;
      check(addon.id === ADDON, `the API returned addon ${addon.id}, not ${ADDON}`);
      const schedule = await api('GET', `${ADDON_API}/schedule`);
      check(schedule.status === 200,
        `GET schedule answered ${schedule.status} (${schedule.json?.detail || schedule.text.slice(0, 200)}): ` +
        'the test needs a Starter or Business addon');
      return `${addon.engine}, ${addon.plan}`;
    });

    await step('reset the schedule (disabled, 1:00 Europe/Paris) so the change made in the UI is visible', async () => {
      const res = await api('PUT', `${ADDON_API}/schedule`, { enabled: false, hour: 1, timezone: 'Europe/Paris' });
      check(res.status === 200, `PUT schedule answered ${res.status}: ${res.text.slice(0, 300)}`);
      return res.json.message;
    });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true, locale: 'en-GB' });
    context.setDefaultTimeout(UI_TIMEOUT_MS);
    // Record every status each backup row shows, however briefly, to prove a row is shown before it is done.
    await context.addInitScript(() => {
      window.__statusLog = [];
      const record = () => {
        for (const row of document.querySelectorAll('tr[data-backup-id]')) {
          const { backupId: id, status } = row.dataset;
          const previous = window.__statusLog.filter((e) => e.id === id).pop();
          if (status && (!previous || previous.status !== status)) {
            window.__statusLog.push({ id, status, at: Date.now() });
          }
        }
      };
      new MutationObserver(record).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] });
    });
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const backupListRequests = [];
    page.on('request', (r) => {
      if (r.method() === 'GET' && new URL(r.url()).pathname === new URL(`${ADDON_API}/backups`).pathname) {
        backupListRequests.push(Date.now());
      }
    });

    const signIn = page.getByRole('heading', { name: /sign in/i });
    const tokenInput = page.getByLabel('API token');
    const signInButton = page.getByRole('button', { name: 'Sign in' });
    const signInError = page.getByTestId('signin-error');

    await step('without a token, the Backups tab URL shows the sign-in form', async () => {
      await page.goto(DASHBOARD_URL);
      await signIn.waitFor({ state: 'visible' });
      await tokenInput.waitFor({ state: 'visible' });
      check(await page.getByTestId('addon').isHidden(), 'the addon view is shown without a token');
    });

    await step('a wrong token brings the sign-in form back with an error', async () => {
      const wrong = `bst_wrong_${randomBytes(8).toString('hex')}`;
      await tokenInput.fill(wrong);
      await signInButton.click();
      await signInError.waitFor({ state: 'visible' });
      const text = (await signInError.textContent()).trim();
      check(/unknown or revoked token|unauthori[sz]ed/i.test(text), `unexpected sign-in error: "${text}"`);
      check(await tokenInput.isVisible(), 'the token field is gone after a rejected token');
      const stored = await page.evaluate(() => sessionStorage.getItem('backstop.token'));
      check(stored === null, 'a rejected token stays in sessionStorage');
      check(!page.url().includes(wrong), 'the token leaked into the URL');
      return `"${text}"`;
    });

    await step('signing in with the right token shows the addon header', async () => {
      await tokenInput.fill(TOKEN);
      await signInButton.click();
      const heading = page.getByRole('heading', { level: 1, name: ADDON, exact: true });
      await heading.waitFor({ state: 'visible' });
      const storage = await page.evaluate(() => ({
        session: sessionStorage.getItem('backstop.token'),
        local: Object.keys(localStorage).length,
      }));
      check(storage.session === TOKEN, 'the token is not in sessionStorage after signing in');
      check(storage.local === 0, 'the dashboard wrote to localStorage');
      check(!page.url().includes(TOKEN), 'the token leaked into the URL');
      check(await signIn.isHidden(), 'the sign-in form is still shown');
      const meta = {
        app: (await page.getByTestId('addon-app').textContent()).trim(),
        plan: (await page.getByTestId('addon-plan').textContent()).trim(),
        engine: (await page.getByTestId('addon-engine').textContent()).trim(),
      };
      check(meta.app === APP, `header app is "${meta.app}", expected "${APP}"`);
      check(meta.plan.toLowerCase() === addon.plan.toLowerCase(), `header plan is "${meta.plan}", expected "${addon.plan}"`);
      check(meta.engine.toLowerCase() === addon.engine.toLowerCase(), `header engine is "${meta.engine}", expected "${addon.engine}"`);
      const tab = page.getByRole('link', { name: 'Backups', exact: true });
      check(await tab.getAttribute('aria-current') === 'page', 'the Backups tab is not marked as the current one');
      await page.getByRole('heading', { name: 'Backup schedule' }).waitFor();
      await page.getByRole('heading', { name: 'Backups', exact: true }).waitFor();
      return `${meta.app} / ${meta.plan} / ${meta.engine}`;
    });

    await step('the Point-in-time recovery block states the window, in the browser\'s zone once there is one', async () => {
      await page.getByRole('heading', { name: 'Point-in-time recovery' }).waitFor();
      const badge = page.getByTestId('pitr-state');
      const first = await waitFor(async () => ((await badge.textContent()) || '').trim(), { what: 'a point-in-time state' });
      // the embedded mode streams no WAL: a PostgreSQL addon waits for its first window, anything else is unavailable
      check(['Starting', 'Not available', 'Active'].includes(first), `the point-in-time state is "${first}"`);
      await page.route(`${ADDON_API}/pitr`, (route) => route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({ state: 'streaming', earliest: '2026-11-24T10:00:29Z', latest: '2026-12-01T15:10:00Z', reason: null, baseBackups: [] }),
      }));
      await page.reload();
      await waitFor(async () => ((await badge.textContent()) || '').trim() === 'Active', { what: 'the routed window' });
      const text = ((await page.getByTestId('pitr-window').textContent()) || '').trim();
      check(/^Restorable from \w{3}, 24 Nov 2026 \d{2}:\d{2}:29 \S+ to \w{3}, 01 Dec 2026 \d{2}:10:00 \S+$/.test(text),
        `the window reads "${text}"`);
      await page.unrouteAll();
      await page.reload();
      await page.getByRole('heading', { name: 'Backup schedule' }).waitFor();
      return `${first}; routed: "${text}"`;
    });

    const scheduleMessage = page.getByTestId('schedule-message');
    const checkbox = page.getByLabel('I want to enable scheduled backups');
    const hour = page.getByLabel(/hour.*timezone is UTC/i);
    const update = page.getByRole('button', { name: 'Update', exact: true });

    await step('the Backup schedule block states the current schedule', async () => {
      const text = await waitFor(async () => ((await scheduleMessage.textContent()) || '').trim(), { what: 'a schedule message' });
      check(text === 'Periodic backups are disabled', `schedule message is "${text}"`);
      return `"${text}"`;
    });

    await step('days the watchdog reported missed are named under the schedule, and nothing when there are none', async () => {
      const missed = page.getByTestId('schedule-missed');
      check(await missed.isHidden(), 'a missed-backups line is shown although no day was missed');
      // two reported days, as the API would answer them, to see how the block words them
      await page.route(`${ADDON_API}/missed-backups`, (route) => route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify([
          { date: '2026-11-30', finding: 'never_requested', backupId: null, detail: 'no backup was requested for 2026-11-30' },
          { date: '2026-11-29', finding: 'requested_and_failed', backupId: '0123456789abcdef01234567', detail: 'connection refused' },
        ]),
      }));
      await page.reload();
      await missed.waitFor({ state: 'visible' });
      const text = (await missed.textContent()).trim();
      check(text === 'Missed scheduled backups: 2026-11-30 (never requested), 2026-11-29 (failed)', `missed line is "${text}"`);
      await page.unrouteAll();
      await page.reload();
      await waitFor(async () => ((await scheduleMessage.textContent()) || '').trim(), { what: 'a schedule message' });
      await waitFor(async () => (await missed.isHidden()) || null, { what: 'the missed line to go away' });
      return `"${text}"`;
    });

    await step('Schedule reveals the form; an API validation error is shown inline', async () => {
      await page.getByRole('button', { name: 'Schedule', exact: true }).click();
      await checkbox.waitFor({ state: 'visible' });
      check(!(await checkbox.isChecked()), 'the checkbox is checked although scheduled backups are disabled');
      const hours = await hour.locator('option').evaluateAll((options) => options.map((o) => o.value));
      check(hours.length === 24 && hours[0] === '0' && hours[23] === '23', `the hour picker offers ${hours.join(',')}`);
      // One answer replaced by a problem document, to see that the dashboard shows the API's detail.
      const detail = 'hour must be between 0 and 23 (test)';
      await page.route(`${ADDON_API}/schedule`, (route) => (route.request().method() === 'PUT'
        ? route.fulfill({
          status: 400,
          contentType: 'application/problem+json',
          body: JSON.stringify({ type: 'about:blank', title: 'Invalid request', status: 400, detail }),
        })
        : route.fallback()), { times: 1 });
      await update.click();
      const error = page.getByTestId('schedule-error');
      await error.waitFor({ state: 'visible' });
      const text = (await error.textContent()).trim();
      check(text.includes(detail), `inline error is "${text}"`);
      check(await checkbox.isVisible(), 'the form closed on an error');
      await page.unrouteAll();
    });

    await step('checkbox, hour 4, Update: the message says 4:00 UTC', async () => {
      await checkbox.check();
      await hour.selectOption('4');
      const put = page.waitForResponse((r) => r.url() === `${ADDON_API}/schedule` && r.request().method() === 'PUT');
      await update.click();
      const response = await put;
      check(response.status() === 200, `PUT schedule answered ${response.status()}`);
      const sent = response.request().postDataJSON();
      check(sent.enabled === true && sent.hour === 4 && sent.timezone === 'UTC', `the dashboard sent ${JSON.stringify(sent)}`);
      const text = await waitFor(async () => {
        const t = ((await scheduleMessage.textContent()) || '').trim();
        return /\b4:00 UTC\b/.test(t) && t;
      }, { what: 'the schedule message to say 4:00 UTC' });
      await checkbox.waitFor({ state: 'hidden' });
      check(await page.getByTestId('schedule-error').isHidden(), 'the inline error is still shown');
      return `"${text}"`;
    });

    await step('the API stores the schedule as enabled, 4:00 UTC', async () => {
      const res = await api('GET', `${ADDON_API}/schedule`);
      check(res.status === 200, `GET schedule answered ${res.status}`);
      const s = res.json;
      check(s.enabled === true && s.hour === 4 && s.timezone === 'UTC', `the API has ${JSON.stringify(s)}`);
      check(s.message === (await scheduleMessage.textContent()).trim(), `API message "${s.message}" differs from the page's`);
      return JSON.stringify({ enabled: s.enabled, hour: s.hour, timezone: s.timezone });
    });

    const trigger = page.getByRole('button', { name: 'Trigger manual backup' });
    const notice = page.getByTestId('backup-notice');
    let backupId;
    let doneAt;

    await step('Trigger manual backup: the new backup is listed at once, pending or running, newest first', async () => {
      check(await trigger.isEnabled(), 'Trigger manual backup is disabled before any backup was asked for');
      const post = page.waitForResponse((r) => r.url() === `${ADDON_API}/backups` && r.request().method() === 'POST');
      await trigger.click();
      const response = await post;
      check(response.status() === 202, `POST backups answered ${response.status()}: ${await response.text()}`);
      backupId = (await response.json()).id;
      check(/^[0-9a-f]{24}$/.test(backupId), `unexpected backup id ${backupId}`);
      const row = page.locator(`tr[data-backup-id="${backupId}"]`);
      await row.waitFor({ state: 'visible', timeout: 3000 });
      const first = await page.evaluate((id) => window.__statusLog.find((e) => e.id === id), backupId);
      check(first && (first.status === 'pending' || first.status === 'running'),
        `the new row first showed as ${first && first.status}, not pending/running`);
      const firstRow = await page.locator('tbody tr').first().getAttribute('data-backup-id');
      check(firstRow === backupId, 'the new backup is not the first row (newest first)');
      return `${backupId}, first shown ${first.status}`;
    });

    await step('Trigger manual backup is disabled while the backup is in flight', async () => {
      const log = await page.evaluate((id) => window.__statusLog.filter((e) => e.id === id), backupId);
      if (log.some((e) => e.status === 'done' || e.status === 'failed')) {
        return 'backup already finished, nothing to observe';
      }
      check(await trigger.isDisabled(), 'Trigger manual backup is enabled while the backup is in flight');
      return 'disabled';
    });

    await step(`the row goes live to done with "Backup successfully finished" (within ${BACKUP_TIMEOUT_MS / 1000} s)`, async () => {
      const row = page.locator(`tr[data-backup-id="${backupId}"]`);
      let status;
      try {
        status = await waitFor(async () => {
          const s = await row.getAttribute('data-status');
          return (s === 'done' || s === 'failed') && s;
        }, { timeout: BACKUP_TIMEOUT_MS, interval: 250, what: `backup ${backupId} to end` });
      } catch (e) {
        const now = await api('GET', `${ADDON_API}/backups/${backupId}`);
        const shown = await row.getAttribute('data-status').catch(() => null);
        throw new Failure(`${e.message}: the page shows "${shown}", the API says ${now.json ? now.json.status : now.status}`);
      }
      doneAt = Date.now();
      if (status === 'failed') {
        const reason = await row.getByTestId('backup-reason').textContent().catch(() => '?');
        throw new Failure(`the backup failed: ${reason}; notice: ${await notice.textContent()}`);
      }
      const text = await waitFor(async () => {
        const t = ((await notice.textContent()) || '').trim();
        return t === 'Backup successfully finished' && t;
      }, { what: 'the notice "Backup successfully finished"' });
      check(await notice.getAttribute('role') === 'status' || await notice.getAttribute('aria-live') === 'polite',
        'the notice is not a live region');
      const log = await page.evaluate((id) => window.__statusLog.filter((e) => e.id === id).map((e) => e.status), backupId);
      check(log.length >= 2 && log[log.length - 1] === 'done' && log.slice(0, -1).every((s) => s === 'pending' || s === 'running'),
        `the row went through ${log.join(' -> ')}`);
      check((await row.getByTestId('backup-status').textContent()).trim() === 'done', 'the status cell does not say done');
      check(await trigger.isEnabled(), 'Trigger manual backup is still disabled after the backup finished');
      return `${log.join(' -> ')}; "${text}"`;
    });

    await step('the row shows that Backstop restored the backup into a scratch database (its restore test)', async () => {
      const row = page.locator(`tr[data-backup-id="${backupId}"]`);
      const tested = row.getByTestId('backup-verification');
      await tested.waitFor({ state: 'visible', timeout: BACKUP_TIMEOUT_MS });
      const text = (await tested.textContent()).trim();
      check(text === '✓ Restore tested', `the status cell says "${text}"`);
      const title = (await tested.getAttribute('title')) || '';
      check(/^restored \d+ (of \d+ )?tables?, [\d,]+ rows? into PostgreSQL /.test(title), `its tooltip is "${title}"`);
      const res = await api('GET', `${ADDON_API}/backups/${backupId}`);
      check(res.json.verified === true && res.json.verification.summary === title.replace(/ \([^)]*\)$/, ''),
        `the API says verified=${res.json.verified}, "${res.json.verification && res.json.verification.summary}"`);
      return `"${text}": ${title}`;
    });

    let apiBackup;
    await step('the row shows the size and creation date the API has; polling stopped', async () => {
      const res = await api('GET', `${ADDON_API}/backups/${backupId}`);
      check(res.status === 200, `GET backup answered ${res.status}`);
      apiBackup = res.json;
      check(apiBackup.status === 'done', `the API says the backup is ${apiBackup.status}`);
      const row = page.locator(`tr[data-backup-id="${backupId}"]`);
      const cells = (await row.locator('td').allTextContents()).map((t) => t.trim());
      check(cells[0].includes(backupId), `ID cell is "${cells[0]}"`);
      check(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \S+$/.test(cells[1]), `Created at cell is "${cells[1]}"`);
      const shown = parseSize(cells[2]);
      check(shown !== null && Math.abs(shown - apiBackup.size) <= Math.max(1, apiBackup.size * 0.05),
        `Size cell is "${cells[2]}", which does not round ${apiBackup.size} bytes`);
      const list = await api('GET', `${ADDON_API}/backups`);
      const inFlight = list.json.filter((b) => b.status === 'pending' || b.status === 'running');
      if (inFlight.length) {
        return `${cells[2]}; polling legitimately goes on: ${inFlight.length} other backup(s) in flight`;
      }
      const since = Math.max(doneAt, Date.now());
      await page.waitForTimeout(5000);
      const late = backupListRequests.filter((t) => t > since + 500).length;
      check(late === 0, `the dashboard kept polling the list (${late} requests in 5 s with no backup in flight)`);
      return `${cells[1]}, ${cells[2]}; no list request in 5 s`;
    });

    await step('Download gives the archive: YYYYMMDDhhmmss_<db>.tar.zst, zstd, same bytes as the API', async () => {
      const row = page.locator(`tr[data-backup-id="${backupId}"]`);
      const button = row.getByRole('button', { name: /^Download/ });
      check(await button.isEnabled(), 'the Download button of a done backup is disabled');
      const urlBefore = page.url();
      const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15_000 }), button.click()]);
      const name = download.suggestedFilename();
      check(/^\d{14}_.+\.tar\.(zst|gz)$/.test(name), `suggested file name is "${name}"`);
      const zstd = name.endsWith('.zst');
      if (apiBackup.archiveName) {
        check(name === apiBackup.archiveName, `suggested file name "${name}" differs from the API's "${apiBackup.archiveName}"`);
      }
      const failure = await download.failure();
      check(!failure, `the download failed: ${failure}`);
      const file = path.join(downloadDir, name);
      await download.saveAs(file);
      const bytes = await readFile(file);
      check(bytes.length > 0, 'the downloaded file is empty');
      const magic = bytes.subarray(0, 4).toString('hex');
      check(zstd ? magic === '28b52ffd' : magic.startsWith('1f8b'), `not ${zstd ? 'zstd' : 'gzip'}: first bytes ${magic}`);
      if (apiBackup.size != null) {
        check(bytes.length === apiBackup.size, `downloaded ${bytes.length} bytes, the API says ${apiBackup.size}`);
      }
      if (apiBackup.sha256) {
        const sha = createHash('sha256').update(bytes).digest('hex');
        check(sha === apiBackup.sha256, `SHA-256 ${sha} differs from the API's ${apiBackup.sha256}`);
      }
      check(new URL(download.url()).pathname.startsWith('/v1/downloads/'), `downloaded from ${download.url()}, not a signed link`);
      check(page.url() === urlBefore, `the page navigated away to ${page.url()}`);
      check(await page.getByTestId('addon').isVisible(), 'the dashboard is gone after the download');
      return `${name}, ${bytes.length} bytes, ${zstd ? 'zstd' : 'gzip'}, SHA-256 matches`;
    });

    await step('full-page screenshot', async () => {
      await page.mouse.move(0, 0);
      await mkdir(path.dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      return SCREENSHOT;
    });

    await step('a running backup shows how much of the database has been read, from the worker\'s progress reports', async () => {
      // the real backup has ended: the listing is answered once more with it running, carrying progress as the API does
      await page.route(`${ADDON_API}/backups`, async (route) => {
        if (route.request().method() !== 'GET') {
          return route.fallback();
        }
        const response = await route.fetch();
        const list = await response.json();
        const progress = { dumpedBytes: 123456789, storedBytes: 23456789, attempt: 1, at: new Date().toISOString() };
        return route.fulfill({
          response,
          json: list.map((b) => (b.id === backupId ? { ...b, status: 'running', size: null, completedAt: null, progress } : b)),
        });
      });
      await page.reload();
      const cell = page.locator(`tr[data-backup-id="${backupId}"]`).getByTestId('backup-progress');
      await cell.waitFor({ state: 'visible' });
      const text = (await cell.textContent()).trim();
      check(text === '123 MB read', `the size cell of a running backup reads "${text}"`);
      const title = (await cell.getAttribute('title')) || '';
      check(title.includes('123,456,789 bytes read from the database'), `its tooltip is "${title}"`);
      await page.unrouteAll();
      return `"${text}"`;
    });

    await step('a backup that failed its restore test says so, with the reason, and stays downloadable', async () => {
      const summary = 'the restore into PostgreSQL 15.20 failed: pg_restore failed (exit 1): could not read input file: end of file';
      await page.route(`${ADDON_API}/backups`, async (route) => {
        if (route.request().method() !== 'GET') {
          return route.fallback();
        }
        const response = await route.fetch();
        const list = await response.json();
        const verification = { passed: false, at: new Date().toISOString(), summary, tables: 0, rows: 0 };
        return route.fulfill({
          response,
          json: list.map((b) => (b.id === backupId ? { ...b, verified: false, verification } : b)),
        });
      });
      await page.reload();
      const row = page.locator(`tr[data-backup-id="${backupId}"]`);
      const tested = row.getByTestId('backup-verification');
      await tested.waitFor({ state: 'visible' });
      const text = (await tested.textContent()).trim();
      check(text === '✗ Restore test failed', `the status cell says "${text}"`);
      const reason = ((await row.locator('.reason').first().textContent()) || '').trim();
      check(reason === summary, `the reason shown is "${reason}"`);
      check(await row.getByRole('button', { name: /^Download/ }).isEnabled(), 'the Download button is disabled');
      await page.unrouteAll();
      return `"${text}": ${reason}`;
    });

    if (SANDBOX_ADDON) {
      await step(`Sandbox addon ${SANDBOX_ADDON}: the API's message replaces the backup blocks`, async () => {
        await page.goto(`${BASE}/dashboard/index.html?app=${encodeURIComponent(APP)}&addon=${encodeURIComponent(SANDBOX_ADDON)}`);
        await page.getByRole('heading', { level: 1, name: SANDBOX_ADDON, exact: true }).waitFor();
        const detail = page.getByTestId('no-backups-detail');
        await detail.waitFor({ state: 'visible' });
        const text = (await detail.textContent()).trim();
        check(/sandbox/i.test(text), `the no-backups message is "${text}"`);
        check(await trigger.isHidden(), 'Trigger manual backup is shown on a Sandbox addon');
        check(await page.getByTestId('schedule-block').isHidden(), 'the Backup schedule block is shown on a Sandbox addon');
        check(page.url().endsWith(`#/apps/${encodeURIComponent(APP)}/addons/${encodeURIComponent(SANDBOX_ADDON)}/backups`),
          `?app=&addon= did not become the canonical hash URL: ${page.url()}`);
        return `"${text}"`;
      });
    }

    await step('no uncaught error in the page', async () => {
      check(pageErrors.length === 0, `uncaught errors: ${pageErrors.join(' | ')}`);
    });
  } finally {
    if (browser) {
      await browser.close().catch(() => {});
    }
    await rm(downloadDir, { recursive: true, force: true }).catch(() => {});
  }
}

/** Bytes from a size as shown ("567 B", "143 kB", "1.2 MB": decimal units); null if it is not one. */
function parseSize(text) {
  const m = /^(\d+(?:\.\d+)?) (B|kB|MB|GB|TB|PB)$/.exec(text);
  if (!m) {
    return null;
  }
  return Number(m[1]) * 1000 ** ['B', 'kB', 'MB', 'GB', 'TB', 'PB'].indexOf(m[2]);
}

const watchdog = setTimeout(() => {
  console.error(`FAIL: the whole test took more than ${OVERALL_TIMEOUT_MS / 1000} s`);
  process.exit(1);
}, OVERALL_TIMEOUT_MS);
watchdog.unref();

console.log(`# dashboard e2e: ${DASHBOARD_URL}`);
console.log(`# chromium: ${CHROMIUM}`);
main().then(() => {
  console.log(`PASS: ${stepNumber} steps`);
  process.exit(0);
}, (e) => {
  const where = e.step ? ` in step "${e.step}"` : '';
  console.error(`FAIL${where}: ${e instanceof Failure ? e.message : (e && e.stack) || e}`);
  process.exit(1);
});
