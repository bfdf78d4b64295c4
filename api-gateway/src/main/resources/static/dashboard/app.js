/*
 * Backstop database dashboard: the Backups tab of an addon.
 *
 * Plain browser JavaScript, no build step. Routes:
 *   #/apps/{app}/addons/{addonId}/backups   (also ?app=...&addon=...)
 * The API token is kept in sessionStorage only (never in the URL, never in localStorage).
 * Every piece of data from the API is inserted with textContent, never as HTML.
 */
(() => {
  'use strict';

  const TOKEN_KEY = 'backstop.token';
  const POLL_MS = 2000;
  const POLL_RETRY_MS = 5000;
  const RESTORE_TEST_WAIT_MS = 15 * 60 * 1000;
  const IN_FLIGHT = new Set(['pending', 'running']);

  const $ = (id) => document.getElementById(id);
  const VIEWS = ['loading', 'signin', 'picker', 'fatal', 'addon'];

  const state = {
    app: null,
    addonId: null,
    addon: null,
    schedule: null,
    backups: [],
    retention: null,
    rows: new Map(),        // backup id -> <tr>
    downloading: new Set(), // backup ids whose link is being asked for
    watched: null,          // id of the manual backup whose end we announce
    triggering: false,
    noBackups: false,
    pollTimer: null,
    generation: 0,          // bumped on every route change / sign-out: late answers are dropped
    listSeq: 0,             // bumped on every list request: an older answer never overwrites a newer one
  };

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, problem) {
      const detail = (problem && (problem.detail || problem.title)) || (status ? `HTTP ${status}` : 'Network error');
      super(detail);
      this.status = status;
      this.problem = problem || {};
      this.unauthorized = status === 401;
    }
  }

  function token() {
    try {
      return sessionStorage.getItem(TOKEN_KEY);
    } catch {
      return null;
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: 'application/json, application/problem+json', Authorization: `Bearer ${token()}` };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
    }
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch (e) {
      throw new ApiError(0, { title: 'Network error', detail: `Could not reach the Backstop API (${e.message}).` });
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!res.ok) {
      const err = new ApiError(res.status, data && typeof data === 'object' ? data : null);
      if (err.unauthorized) {
        showSignIn(err.message);
      }
      throw err;
    }
    return data;
  }

  const enc = encodeURIComponent;
  const addonPath = () => `/v1/apps/${enc(state.app)}/addons/${enc(state.addonId)}`;

  // ---------------------------------------------------------------- formatting

  /** 143 kB: decimal units, as the reference CLI lists sizes. */
  function formatSize(bytes) {
    if (bytes === null || bytes === undefined) {
      return '—';
    }
    if (bytes < 1000) {
      return `${bytes} B`;
    }
    const units = ['kB', 'MB', 'GB', 'TB', 'PB'];
    let value = bytes;
    let unit = -1;
    while (value >= 1000 && unit < units.length - 1) {
      value /= 1000;
      unit++;
    }
    return `${value < 10 ? value.toFixed(1) : value.toFixed(0)} ${units[unit]}`;
  }

  const DATE_FORMAT = new Intl.DateTimeFormat('en-GB', {
    weekday: 'short', day: '2-digit', month: 'short', year: 'numeric',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZoneName: 'short',
  });
  const SHORT_DATE_FORMAT = new Intl.DateTimeFormat('en-GB', {
    day: '2-digit', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short',
  });

  function parts(format, date) {
    const out = {};
    for (const p of format.formatToParts(date)) {
      out[p.type] = p.value;
    }
    return out;
  }

  /** Thu, 07 Dec 2023 01:00:10 CET, in the browser's time zone, as the reference CLI shows dates. */
  function formatDate(iso) {
    const d = new Date(iso);
    if (!iso || Number.isNaN(d.getTime())) {
      return iso || '—';
    }
    const p = parts(DATE_FORMAT, d);
    return `${p.weekday}, ${p.day} ${p.month} ${p.year} ${p.hour}:${p.minute}:${p.second} ${p.timeZoneName}`;
  }

  function formatShortDate(iso) {
    const d = new Date(iso);
    if (!iso || Number.isNaN(d.getTime())) {
      return iso || '—';
    }
    const p = parts(SHORT_DATE_FORMAT, d);
    return `${p.day} ${p.month} ${p.year} ${p.hour}:${p.minute} ${p.timeZoneName}`;
  }

  const ENGINES = { postgresql: 'PostgreSQL', mysql: 'MySQL' };
  const capitalize = (s) => (s ? s.charAt(0).toUpperCase() + s.slice(1) : '');
  const engineName = (e) => ENGINES[e] || capitalize(e);
  const pad2 = (n) => String(n).padStart(2, '0');

  /** Minutes to add to UTC to get the wall-clock time of zone tz at date. */
  function zoneOffsetMinutes(tz, date) {
    const p = parts(new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit',
    }), date);
    const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
    return Math.round((asUtc - Math.floor(date.getTime() / 1000) * 1000) / 60000);
  }

  /** The UTC hour of hour:00 in zone tz today (the dashboard's hour picker is in UTC). */
  function utcHourOf(hour, tz) {
    if (!tz || tz === 'UTC' || tz === 'Etc/UTC' || tz === 'Z') {
      return hour;
    }
    try {
      const minutes = hour * 60 - zoneOffsetMinutes(tz, new Date());
      return Math.floor((((minutes % 1440) + 1440) % 1440) / 60);
    } catch {
      return hour;
    }
  }

  // ---------------------------------------------------------------- routing and views

  function hashFor(app, addonId) {
    return addonId ? `#/apps/${enc(app)}/addons/${enc(addonId)}/backups` : `#/apps/${enc(app)}`;
  }

  function safeDecode(s) {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  }

  function parseRoute() {
    const hash = location.hash.replace(/^#/, '');
    const m = hash.match(/^\/apps\/([^/]+)(?:\/addons\/([^/]+)(?:\/([^/]+))?)?\/?$/);
    if (m) {
      return { app: safeDecode(m[1]), addonId: m[2] ? safeDecode(m[2]) : null, tab: m[3] || null };
    }
    const query = new URLSearchParams(location.search);
    if (query.get('app')) {
      return { app: query.get('app'), addonId: query.get('addon') || null, fromQuery: true };
    }
    return { app: null, addonId: null };
  }

  function show(view) {
    for (const v of VIEWS) {
      $(v).hidden = v !== view;
    }
  }

  function setText(id, text) {
    $(id).textContent = text == null ? '' : String(text);
  }

  function stopPolling() {
    clearTimeout(state.pollTimer);
    state.pollTimer = null;
  }

  function resetAddonState() {
    stopPolling();
    state.generation++;
    state.addon = null;
    state.schedule = null;
    state.backups = [];
    state.retention = null;
    state.rows.clear();
    state.downloading.clear();
    state.watched = null;
    state.triggering = false;
    state.noBackups = false;
    $('backups-body').replaceChildren();
    hideNotice();
    closeScheduleForm(false);
  }

  function start() {
    resetAddonState();
    const route = parseRoute();
    if (route.fromQuery || (route.addonId && route.tab !== 'backups')) {
      // one canonical URL per addon: the Backups tab
      history.replaceState(null, '', location.pathname + hashFor(route.app, route.addonId));
    }
    state.app = route.app;
    state.addonId = route.addonId;
    $('breadcrumbs').hidden = !route.app;
    setText('crumb-app', route.app || '');
    setText('crumb-addon', route.addonId || '');
    $('crumb-addon').parentElement.hidden = !route.addonId;
    if (!token()) {
      showSignIn(null);
      return;
    }
    $('sign-out').hidden = false;
    if (!route.app || !route.addonId) {
      showPicker(route.app);
      return;
    }
    loadAddon();
  }

  // ---------------------------------------------------------------- sign in / sign out

  function showSignIn(message) {
    resetAddonState();
    try {
      sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // storage unavailable: nothing to forget
    }
    document.title = 'Sign in · Backstop';
    $('sign-out').hidden = true;
    show('signin');
    const error = $('signin-error');
    error.hidden = !message;
    error.textContent = message ? `Sign-in failed: ${message}` : '';
    const input = $('token-input');
    input.value = '';
    input.setAttribute('aria-invalid', message ? 'true' : 'false');
    input.focus();
  }

  $('signin-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = $('token-input').value.trim();
    if (!value) {
      const error = $('signin-error');
      error.hidden = false;
      error.textContent = 'Enter your API token.';
      $('token-input').setAttribute('aria-invalid', 'true');
      return;
    }
    try {
      sessionStorage.setItem(TOKEN_KEY, value);
    } catch {
      setText('signin-error', 'This browser does not allow storing the token for this tab (sessionStorage is disabled).');
      $('signin-error').hidden = false;
      return;
    }
    $('token-input').value = '';
    start();
  });

  function signOut() {
    showSignIn(null);
  }

  $('sign-out').addEventListener('click', signOut);
  $('fatal-signout').addEventListener('click', signOut);
  $('fatal-retry').addEventListener('click', start);
  window.addEventListener('hashchange', start);

  function showFatal(title, detail) {
    stopPolling();
    setText('fatal-title', title);
    setText('fatal-detail', detail);
    document.title = `${title} · Backstop`;
    show('fatal');
  }

  // ---------------------------------------------------------------- picker (no addon in the URL)

  async function showPicker(app) {
    document.title = 'Open a database · Backstop';
    show('picker');
    $('picker-app').value = app || '';
    $('picker-addon').value = '';
    $('picker-error').hidden = true;
    $('picker-list').hidden = true;
    $('picker-addons').replaceChildren();
    $('picker-webhooks').hidden = true;
    $('picker-webhook-list').replaceChildren();
    if (!app) {
      $('picker-app').focus();
      return;
    }
    const gen = state.generation;
    try {
      const addons = await api('GET', `/v1/apps/${enc(app)}/addons`);
      if (gen !== state.generation) {
        return;
      }
      const items = addons.map((a) => {
        const li = document.createElement('li');
        const link = document.createElement('a');
        link.href = hashFor(app, a.id);
        link.textContent = a.id;
        const meta = document.createElement('span');
        meta.className = 'muted';
        meta.textContent = ` ${engineName(a.engine)} · ${capitalize(a.plan)}${a.status === 'removed' ? ' · removed' : ''}`;
        li.append(link, meta);
        return li;
      });
      $('picker-addons').replaceChildren(...items);
      $('picker-list').hidden = false;
      await showWebhooks(app, gen);
    } catch (e) {
      if (e.unauthorized || gen !== state.generation) {
        return;
      }
      setText('picker-error', e.message);
      $('picker-error').hidden = false;
    }
  }

  /** The app's webhook endpoints under its addons: where each delivers, what, and whether it still does. */
  async function showWebhooks(app, gen) {
    let webhooks;
    try {
      webhooks = await api('GET', `/v1/apps/${enc(app)}/webhooks`);
    } catch (e) {
      // the addons are what this page is for: a missing webhook list leaves them be
      return;
    }
    if (gen !== state.generation) {
      return;
    }
    const items = webhooks.map((w) => {
      const li = document.createElement('li');
      const url = document.createElement('code');
      url.textContent = w.url;
      const meta = document.createElement('span');
      meta.className = 'muted';
      meta.textContent = ` ${w.events.join(', ')} · ${w.status}${w.disabledReason ? ` (${w.disabledReason})` : ''} · ${w.id}`;
      li.append(url, meta);
      return li;
    });
    $('picker-webhook-list').replaceChildren(...items);
    $('picker-webhooks-empty').hidden = items.length > 0;
    $('picker-webhooks').hidden = false;
  }

  $('picker-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const app = $('picker-app').value.trim();
    const addonId = $('picker-addon').value.trim();
    if (app) {
      location.hash = hashFor(app, addonId || null);
    }
  });

  // ---------------------------------------------------------------- the addon

  async function loadAddon() {
    const gen = state.generation;
    show('loading');
    let addon;
    try {
      addon = await api('GET', addonPath());
    } catch (e) {
      if (e.unauthorized || gen !== state.generation) {
        return;
      }
      if (e.status === 404) {
        showFatal('Database not found', `${e.message}. Check the address, or sign in with a token of the app that owns this database.`);
      } else {
        showFatal('Could not load this database', e.message);
      }
      return;
    }
    if (gen !== state.generation) {
      return;
    }
    state.addon = addon;
    renderHeader(addon);
    show('addon');
    await loadSchedule(gen);
    if (gen !== state.generation || state.noBackups) {
      return;
    }
    await loadPitr(gen);
    if (gen !== state.generation) {
      return;
    }
    await refreshBackups(gen);
  }

  function renderHeader(addon) {
    document.title = `${addon.id} · Backups · Backstop`;
    setText('addon-id', addon.id);
    setText('addon-app', addon.appName);
    setText('addon-plan', capitalize(addon.plan));
    setText('addon-engine', engineName(addon.engine));
    setText('addon-database', addon.database || '—');
    const status = $('addon-status');
    status.textContent = addon.status || 'unknown';
    status.className = `badge badge-${addon.status === 'running' ? 'ok' : 'muted'}`;
    const icon = $('addon-engine-icon');
    icon.textContent = addon.engine === 'mysql' ? 'My' : addon.engine === 'postgresql' ? 'Pg' : (addon.engine || '?').slice(0, 2);
    icon.className = `engine-icon engine-${addon.engine || 'other'}`;
    $('addon-removed').hidden = addon.status !== 'removed';
    setText('backups-empty', addon.status === 'removed'
      ? 'No backups left.'
      : 'No backups yet. Scheduled backups appear here once taken; you can also trigger one now.');
    $('tab-backups').href = hashFor(state.app, state.addonId);
    $('no-backups').hidden = true;
    $('backup-blocks').hidden = false;
    $('schedule-toggle').disabled = addon.status === 'removed';
    renderPitrRestore(addon);
    updateTrigger();
  }

  function showNoBackups(detail) {
    state.noBackups = true;
    stopPolling();
    setText('no-backups-detail', detail);
    $('no-backups').hidden = false;
    $('backup-blocks').hidden = true;
  }

  // ---------------------------------------------------------------- point-in-time recovery

  const PITR_STATES = {
    streaming: { label: 'Active', badge: 'badge-ok' },
    starting: { label: 'Starting', badge: 'status-running' },
    broken: { label: 'Interrupted', badge: 'status-failed' },
    unavailable: { label: 'Not available', badge: '' },
  };

  async function loadPitr(gen) {
    try {
      const pitr = await api('GET', `${addonPath()}/pitr`);
      if (gen === state.generation) {
        renderPitr(pitr);
      }
    } catch (e) {
      if (e.unauthorized || gen !== state.generation) {
        return;
      }
      renderPitr({ state: 'unknown', reason: `Could not load the point-in-time recovery window: ${e.message}` });
    }
  }

  /** The window in the browser's time zone, dates as the backups table shows them. */
  function renderPitr(pitr) {
    const known = PITR_STATES[pitr.state] || { label: capitalize(pitr.state || 'unknown'), badge: '' };
    const badge = $('pitr-state');
    badge.textContent = known.label;
    badge.className = `badge ${known.badge}`.trim();
    badge.dataset.state = pitr.state || '';
    let text = '';
    if (pitr.earliest && pitr.latest) {
      text = `Restorable from ${formatDate(pitr.earliest)} to ${formatDate(pitr.latest)}`;
    } else if (pitr.state === 'starting') {
      text = 'The window opens once the first base backup and its write-ahead log are archived (within minutes).';
    } else if (pitr.state === 'unavailable') {
      text = 'Point-in-time recovery is not available for this database.';
    }
    setText('pitr-window', text);
    const reason = $('pitr-reason');
    reason.hidden = !pitr.reason;
    reason.textContent = pitr.reason || '';
  }

  // ---------------------------------------------------------------- schedule

  async function loadSchedule(gen) {
    try {
      const schedule = await api('GET', `${addonPath()}/schedule`);
      if (gen === state.generation) {
        renderSchedule(schedule);
      }
      loadMissed(gen);
    } catch (e) {
      if (e.unauthorized || gen !== state.generation) {
        return;
      }
      if (e.status === 409) {
        // Sandbox plans: no backups, no schedule; the API says why
        showNoBackups(e.message);
      } else {
        setText('schedule-message', `Could not load the backup schedule: ${e.message}`);
      }
    }
  }

  // days the scheduler's watchdog found without a backup: the latest few, most recent first
  const MISSED_FINDINGS = {
    never_requested: 'never requested',
    requested_and_failed: 'failed',
    requested_never_started: 'never started',
    stuck_running: 'stuck running',
  };

  async function loadMissed(gen) {
    try {
      const missed = await api('GET', `${addonPath()}/missed-backups`);
      if (gen === state.generation) {
        renderMissed(missed);
      }
    } catch (e) {
      // the schedule still shows; only the missed-days line is left out
      if (gen === state.generation) {
        renderMissed([]);
      }
    }
  }

  function renderMissed(missed) {
    const line = $('schedule-missed');
    if (!missed || missed.length === 0) {
      line.hidden = true;
      setText('schedule-missed', '');
      return;
    }
    const days = missed.slice(0, 3).map((m) => `${m.date} (${MISSED_FINDINGS[m.finding] || m.finding})`).join(', ');
    setText('schedule-missed', `Missed scheduled backup${missed.length > 1 ? 's' : ''}: ${days}${missed.length > 3 ? ', …' : ''}`);
    line.hidden = false;
  }

  function renderSchedule(schedule) {
    state.schedule = schedule;
    setText('schedule-message', schedule.message);
    $('schedule-message').dataset.enabled = String(schedule.enabled);
  }

  function fillHourOptions() {
    const select = $('schedule-hour');
    const options = [];
    for (let h = 0; h < 24; h++) {
      const option = document.createElement('option');
      option.value = String(h);
      option.textContent = `${pad2(h)}:00 UTC`;
      options.push(option);
    }
    select.replaceChildren(...options);
  }

  function openScheduleForm() {
    const s = state.schedule;
    const form = $('schedule-form');
    $('schedule-enabled').checked = s ? s.enabled : true;
    const utc = s ? utcHourOf(s.hour, s.timezone) : 1;
    $('schedule-hour').value = String(utc);
    setText('schedule-hour-help', s && s.timezone && s.timezone !== 'UTC'
      ? `Currently ${s.hour}:00 ${s.timezone}, that is ${utc}:00 UTC today.`
      : '');
    $('schedule-error').hidden = true;
    form.hidden = false;
    $('schedule-toggle').setAttribute('aria-expanded', 'true');
    $('schedule-enabled').focus();
  }

  function closeScheduleForm(focusToggle) {
    $('schedule-form').hidden = true;
    $('schedule-toggle').setAttribute('aria-expanded', 'false');
    $('schedule-error').hidden = true;
    if (focusToggle) {
      $('schedule-toggle').focus();
    }
  }

  $('schedule-toggle').addEventListener('click', () => {
    if ($('schedule-form').hidden) {
      openScheduleForm();
    } else {
      closeScheduleForm(true);
    }
  });
  $('schedule-cancel').addEventListener('click', () => closeScheduleForm(true));

  $('schedule-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const gen = state.generation;
    const submit = $('schedule-submit');
    const error = $('schedule-error');
    const change = {
      enabled: $('schedule-enabled').checked,
      hour: Number($('schedule-hour').value),
      timezone: 'UTC',
    };
    submit.disabled = true;
    submit.setAttribute('aria-busy', 'true');
    error.hidden = true;
    try {
      const schedule = await api('PUT', `${addonPath()}/schedule`, change);
      if (gen !== state.generation) {
        return;
      }
      renderSchedule(schedule);
      closeScheduleForm(true);
    } catch (e) {
      if (e.unauthorized || gen !== state.generation) {
        return;
      }
      error.textContent = `Could not update the schedule: ${e.message}`;
      error.hidden = false;
    } finally {
      submit.disabled = false;
      submit.removeAttribute('aria-busy');
    }
  });

  // ---------------------------------------------------------------- backups

  function schedulePoll(gen, delay) {
    stopPolling();
    state.pollTimer = setTimeout(() => {
      state.pollTimer = null;
      if (gen === state.generation) {
        refreshBackups(gen);
      }
    }, delay);
  }

  async function refreshBackups(gen) {
    stopPolling();
    const seq = ++state.listSeq;
    let list;
    try {
      list = await api('GET', `${addonPath()}/backups`);
    } catch (e) {
      if (e.unauthorized || gen !== state.generation || seq !== state.listSeq) {
        return;
      }
      if (e.status === 409) {
        showNoBackups(e.message);
        return;
      }
      showNotice('error', `Could not refresh the backups: ${e.message}`);
      schedulePoll(gen, POLL_RETRY_MS);
      return;
    }
    if (gen !== state.generation || seq !== state.listSeq) {
      return;
    }
    const inFlight = list.some((b) => IN_FLIGHT.has(b.status));
    if (!inFlight || !state.retention) {
      // why each backup is kept: a nice-to-have, the listing works without it
      try {
        const retention = await api('GET', `${addonPath()}/retention`);
        if (gen !== state.generation) {
          return;
        }
        state.retention = retention;
      } catch (e) {
        if (e.unauthorized || gen !== state.generation) {
          return;
        }
      }
      if (seq !== state.listSeq) {
        return;
      }
    }
    if (!state.watched && !state.backups.length) {
      // opened while a manual backup runs: follow it to its end
      const running = list.find((b) => b.kind === 'manual' && IN_FLIGHT.has(b.status));
      state.watched = running ? running.id : null;
    }
    renderBackups(list);
    announceWatched();
    if (inFlight) {
      schedulePoll(gen, POLL_MS);
    } else if (list.some(awaitingRestoreTest)) {
      schedulePoll(gen, POLL_RETRY_MS);
    }
  }

  /** A backup done in the last minutes whose restore test has not ended yet: its outcome is worth waiting for. */
  function awaitingRestoreTest(b) {
    return b.status === 'done' && b.verified == null && b.completedAt
      && Date.now() - Date.parse(b.completedAt) < RESTORE_TEST_WAIT_MS;
  }

  function renderBackups(list) {
    state.backups = list;
    const body = $('backups-body');
    const seen = new Set();
    let previous = null;
    for (const backup of list) {
      let row = state.rows.get(backup.id);
      if (!row) {
        row = document.createElement('tr');
        row.dataset.testid = 'backup-row';
        row.dataset.backupId = backup.id;
        state.rows.set(backup.id, row);
      }
      updateRow(row, backup);
      seen.add(backup.id);
      const expected = previous ? previous.nextSibling : body.firstChild;
      if (expected !== row) {
        body.insertBefore(row, expected);
      }
      previous = row;
    }
    for (const [id, row] of state.rows) {
      if (!seen.has(id)) {
        row.remove();
        state.rows.delete(id);
      }
    }
    $('backups-empty').hidden = list.length > 0;
    $('backups-table').hidden = list.length === 0;
    updateTrigger();
  }

  function keptInfo(id) {
    const r = state.retention;
    if (!r) {
      return null;
    }
    const pruned = (r.nextEvaluation || []).find((p) => p.id === id);
    if (pruned) {
      return { text: 'Deleted at next clean-up', detail: pruned.reason || '', tone: 'warn' };
    }
    const kept = (r.backups || []).find((k) => k.id === id);
    if (!kept) {
      return null;
    }
    return {
      text: kept.expiresAt ? formatShortDate(kept.expiresAt) : 'Until replaced',
      detail: (kept.keptBy || []).join(' · '),
      tone: '',
    };
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function updateRow(row, b) {
    const kept = keptInfo(b.id);
    const downloading = state.downloading.has(b.id);
    const progress = b.status === 'running' ? b.progress : null;
    const signature = JSON.stringify([b.status, b.size, b.reason, b.createdAt, b.kind, b.targetTime, kept, downloading,
      progress && progress.dumpedBytes, b.node, b.verification && b.verification.at, awaitingRestoreTest(b)]);
    if (row.dataset.signature === signature) {
      return;
    }
    row.dataset.signature = signature;
    row.dataset.status = b.status;
    row.className = `status-row-${b.status}`;

    const idCell = el('td', 'cell-id');
    idCell.append(el('code', 'backup-id', b.id));
    if (b.kind) {
      idCell.append(el('span', `kind kind-${b.kind}`, b.kind === 'pitr_restore' ? 'Point in time' : capitalize(b.kind)));
    }

    const createdCell = el('td', 'cell-created');
    const time = el('time', null, formatDate(b.createdAt));
    if (b.createdAt) {
      time.dateTime = b.createdAt;
    }
    createdCell.append(time);
    if (b.targetTime) {
      // a point-in-time restore: the database as it was at that instant
      createdCell.append(el('p', 'muted small', `as of ${formatDate(b.targetTime)}`));
    }

    const sizeCell = el('td', 'num cell-size', formatSize(b.size));
    if (b.size != null) {
      sizeCell.title = `${b.size.toLocaleString('en-US')} bytes`;
    } else if (progress) {
      // live while the dump runs: what has been read from the database so far
      sizeCell.textContent = `${formatSize(progress.dumpedBytes)} read`;
      sizeCell.dataset.testid = 'backup-progress';
      sizeCell.title = `${progress.dumpedBytes.toLocaleString('en-US')} bytes read from the database, `
        + `${progress.storedBytes.toLocaleString('en-US')} bytes of archive written`
        + (progress.attempt > 1 ? ` (attempt ${progress.attempt})` : '');
    }

    const statusCell = el('td', 'cell-status');
    const badge = el('span', `badge status status-${b.status}`);
    badge.dataset.testid = 'backup-status';
    if (IN_FLIGHT.has(b.status)) {
      badge.append(el('span', 'spinner'));
    }
    badge.append(document.createTextNode(b.status));
    statusCell.append(badge);
    if (b.node) {
      // which node it was dumped on and why, for the curious: a Business plan's fallback to its primary shows here
      badge.title = b.nodeReason ? `${b.node}: ${b.nodeReason}` : b.node;
    }
    if (b.status === 'done' && b.verification) {
      // the restore test: the archive read back, checked and restored into a scratch database
      const v = b.verification;
      const tested = el('p', v.passed ? 'restore-test restore-test-passed' : 'restore-test restore-test-failed',
        v.passed ? '✓ Restore tested' : '✗ Restore test failed');
      tested.dataset.testid = 'backup-verification';
      tested.title = `${v.summary} (${formatDate(v.at)})`;
      statusCell.append(tested);
      if (!v.passed) {
        statusCell.append(el('p', 'reason', v.summary));
      }
    } else if (awaitingRestoreTest(b)) {
      statusCell.append(el('p', 'restore-test muted', 'Restore test pending'));
    }
    if (b.status === 'failed') {
      const reason = el('p', 'reason', b.reason || 'No reason given');
      reason.dataset.testid = 'backup-reason';
      statusCell.append(reason);
    }

    const keptCell = el('td', 'cell-kept');
    if (kept) {
      keptCell.append(el('span', kept.tone ? `kept kept-${kept.tone}` : 'kept', kept.text));
      if (kept.detail) {
        keptCell.append(el('span', 'kept-detail', kept.detail));
      }
    } else {
      keptCell.append(el('span', 'muted', '—'));
    }

    const actionCell = el('td', 'cell-actions');
    if (b.status !== 'failed') {
      const button = el('button', 'btn btn-small', downloading ? 'Preparing…' : 'Download');
      button.type = 'button';
      button.dataset.testid = 'download';
      button.setAttribute('aria-label', `Download backup ${b.id}`);
      button.disabled = b.status !== 'done' || downloading;
      if (b.status !== 'done') {
        button.title = 'Available once the backup is done';
      }
      button.addEventListener('click', () => download(b.id));
      actionCell.append(button);
    }

    const hadFocus = row.contains(document.activeElement);
    row.replaceChildren(idCell, createdCell, sizeCell, statusCell, keptCell, actionCell);
    if (hadFocus) {
      const button = actionCell.querySelector('button:not([disabled])');
      (button || $('trigger-backup')).focus();
    }
  }

  function manualInFlight() {
    return state.backups.some((b) => b.kind === 'manual' && IN_FLIGHT.has(b.status));
  }

  function updateTrigger() {
    const button = $('trigger-backup');
    const removed = state.addon && state.addon.status === 'removed';
    const busy = state.triggering || manualInFlight();
    button.disabled = busy || removed || !state.addon;
    button.classList.toggle('is-busy', busy);
    if (busy) {
      button.setAttribute('aria-busy', 'true');
      button.title = 'A manual backup is in progress';
    } else {
      button.removeAttribute('aria-busy');
      button.title = removed ? 'This addon was removed' : '';
    }
  }

  function showNotice(tone, text) {
    const notice = $('backup-notice');
    notice.className = `notice notice-${tone}`;
    notice.dataset.tone = tone;
    notice.textContent = text;
    notice.hidden = false;
  }

  function hideNotice() {
    const notice = $('backup-notice');
    notice.hidden = true;
    notice.textContent = '';
  }

  function announceWatched() {
    if (!state.watched) {
      return;
    }
    const b = state.backups.find((x) => x.id === state.watched);
    if (!b) {
      return;
    }
    if (b.status === 'done') {
      showNotice('success', 'Backup successfully finished');
      state.watched = null;
    } else if (b.status === 'failed') {
      showNotice('error', `Backup failed: ${b.reason || 'no reason given'}`);
      state.watched = null;
    } else if (b.status === 'running') {
      showNotice('info', 'Backup in progress…');
    } else {
      showNotice('info', 'Backup requested, waiting to start…');
    }
  }

  $('trigger-backup').addEventListener('click', async () => {
    const gen = state.generation;
    state.triggering = true;
    updateTrigger();
    try {
      const backup = await api('POST', `${addonPath()}/backups`);
      if (gen !== state.generation) {
        return;
      }
      state.listSeq++; // a listing asked for before this backup existed must not hide it
      state.watched = backup.id;
      renderBackups([backup, ...state.backups.filter((b) => b.id !== backup.id)]);
      announceWatched();
      schedulePoll(gen, POLL_MS);
    } catch (e) {
      if (e.unauthorized || gen !== state.generation) {
        return;
      }
      if (e.status === 409 && e.problem.type && e.problem.type.endsWith('/sandbox-has-no-backups')) {
        showNoBackups(e.message);
      } else {
        showNotice('error', `Could not start a backup: ${e.message}`);
      }
    } finally {
      if (gen === state.generation) {
        state.triggering = false;
        updateTrigger();
      }
    }
  });

  // ---------------------------------------------------------------- point-in-time restore

  function renderPitrRestore(addon) {
    $('pitr-restore').hidden = !(addon.engine === 'postgresql' && addon.plan !== 'sandbox' && addon.status !== 'removed');
    setText('pitr-restore-zone', Intl.DateTimeFormat().resolvedOptions().timeZone || 'your time zone');
  }

  function pitrNotice(tone, text) {
    const notice = $('pitr-restore-notice');
    notice.className = `notice notice-${tone}`;
    notice.dataset.tone = tone;
    notice.textContent = text;
    notice.hidden = false;
  }

  const PHASES = { 'fetching-base': 'Fetching the base backup', 'replaying-wal': 'Replaying WAL', dumping: 'Dumping',
    'restoring-into-target': "Restoring into the operator's database" };

  function restoreProgressText(r) {
    if (!r.phase) {
      return r.status === 'pending' ? 'Restore requested, waiting for a worker…' : 'Restore starting…';
    }
    let text = PHASES[r.phase] || r.phase;
    const p = r.progress;
    if (p && p.done != null && p.total) {
      text += `: ${formatSize(p.done)} of ${formatSize(p.total)} (${Math.min(100, Math.round((100 * p.done) / p.total))}%)`;
    }
    if (p && p.etaSeconds != null) {
      text += `, about ${p.etaSeconds} s left`;
    }
    return `${text}…`;
  }

  async function watchRestore(gen, id) {
    if (gen !== state.generation) {
      return;
    }
    let r;
    try {
      r = await api('GET', `${addonPath()}/pitr/restores/${enc(id)}`);
    } catch (e) {
      if (!e.unauthorized && gen === state.generation) {
        setTimeout(() => watchRestore(gen, id), POLL_MS);
      }
      return;
    }
    if (gen !== state.generation) {
      return;
    }
    if (r.status === 'done' || r.status === 'failed') {
      $('pitr-restore-submit').disabled = false;
      if (r.status === 'done') {
        pitrNotice('success', `Restored to ${formatDate(r.targetTime)}: download it from the backups below.`);
        refreshBackups(gen);
      } else {
        pitrNotice('error', `Restore failed: ${r.reason || 'no reason given'}`);
      }
      return;
    }
    pitrNotice('info', restoreProgressText(r));
    setTimeout(() => watchRestore(gen, id), POLL_MS);
  }

  $('pitr-restore-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = $('pitr-restore-at').value;
    // a datetime-local value is read in the browser's time zone
    const at = value ? new Date(value) : null;
    if (!at || Number.isNaN(at.getTime())) {
      pitrNotice('error', 'Choose the date and time to restore to.');
      return;
    }
    const gen = state.generation;
    $('pitr-restore-submit').disabled = true;
    try {
      const restore = await api('POST', `${addonPath()}/pitr/restores`, { targetTime: at.toISOString() });
      if (gen !== state.generation) {
        return;
      }
      pitrNotice('info', restoreProgressText(restore));
      setTimeout(() => watchRestore(gen, restore.id), POLL_MS);
    } catch (e) {
      if (e.unauthorized || gen !== state.generation) {
        return;
      }
      $('pitr-restore-submit').disabled = false;
      pitrNotice('error', `Could not restore: ${e.message}`);
    }
  });

  async function download(id) {
    const gen = state.generation;
    state.downloading.add(id);
    refreshRow(id);
    try {
      const link = await api('POST', `${addonPath()}/backups/${enc(id)}/links`);
      if (gen !== state.generation) {
        return;
      }
      const url = new URL(link.url, location.href);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        throw new ApiError(0, { detail: 'the API returned an unusable download link' });
      }
      // A signed link, valid for minutes: follow it without leaving the dashboard
      // (the archive comes as an attachment named like 20231207000608_my_app.tar.zst).
      const a = document.createElement('a');
      a.href = url.href;
      a.rel = 'noopener';
      a.download = '';
      a.hidden = true;
      document.body.append(a);
      a.click();
      a.remove();
    } catch (e) {
      if (e.unauthorized || gen !== state.generation) {
        return;
      }
      showNotice('error', `Could not download backup ${id}: ${e.message}`);
    } finally {
      if (gen === state.generation) {
        state.downloading.delete(id);
        refreshRow(id);
      }
    }
  }

  function refreshRow(id) {
    const row = state.rows.get(id);
    const backup = state.backups.find((b) => b.id === id);
    if (row && backup) {
      updateRow(row, backup);
    }
  }

  // ---------------------------------------------------------------- go

  fillHourOptions();
  start();
})();
