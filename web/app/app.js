// The hosted onboarding flow: reads the session and its workflow through the public API and
// renders what the end user has to do next. Opened at /public/sessions/{token}; the token is in
// the page's own path, and the page sends no Referer anywhere.

import { sessionApi, onRetry, ApiError, NetworkError } from './api.js';
import { h } from './dom.js';
import { t, language, setLanguage, LANGUAGES } from './i18n.js';
import { renderStep } from './steps.js';

const main = document.getElementById('main');
const retryNotice = document.getElementById('retry');
const announcer = document.getElementById('announcer');
const langButton = document.getElementById('lang');

const token = tokenFromUrl();
const api = sessionApi(token || '-');
let session = null;
let workflow = null;
let lastFocusKey = null;

function tokenFromUrl() {
  const match = window.location.pathname.match(/\/public\/sessions\/([^/]+)\/?$/);
  if (match) return decodeURIComponent(match[1]);
  return window.location.hash.length > 1 ? decodeURIComponent(window.location.hash.slice(1)) : null;
}

/// Says `text` to screen readers (and shows nothing else).
export function announce(text) {
  announcer.textContent = '';
  window.setTimeout(() => {
    announcer.textContent = text;
  }, 50);
}

onRetry((attempt, max) => {
  if (attempt === null) {
    retryNotice.hidden = true;
    retryNotice.textContent = '';
  } else {
    retryNotice.hidden = false;
    retryNotice.textContent = t('retrying', { attempt, max });
  }
});

// ------------------------------------------------------------------------------------------------
// Branding

function applyBranding(branding) {
  const style = document.documentElement.style;
  const colours = branding || {};
  const set = (name, value) => value && style.setProperty(name, value);
  set('--primary', colours.primary_color);
  set('--secondary', colours.secondary_color);
  set('--bg', colours.background_color);
  set('--text', colours.text_color);
  set('--accent', colours.accent_color);
  if (colours.primary_color) style.setProperty('--on-primary', readableOn(colours.primary_color));
  if (colours.secondary_color) style.setProperty('--on-secondary', readableOn(colours.secondary_color));
  const logo = document.getElementById('logo');
  if (colours.logo_url && /^(https:\/\/|\/)/.test(colours.logo_url)) {
    logo.src = colours.logo_url;
    logo.hidden = false;
    logo.addEventListener('error', () => {
      logo.hidden = true;
    });
  }
}

/// Black or white, whichever contrasts more with `hex` (WCAG relative luminance).
function readableOn(hex) {
  const channel = (i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  return (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) ? '#000000' : '#ffffff';
}

// ------------------------------------------------------------------------------------------------
// Loading and rendering

async function load() {
  try {
    [session, workflow] = await Promise.all([api.state(), api.workflow()]);
  } catch (error) {
    showLoadError(error);
    return;
  }
  applyBranding(session.branding);
  render();
}

/// Reloads the session after a change and renders what comes next.
export async function refresh() {
  try {
    session = await api.state();
  } catch (error) {
    showLoadError(error);
    return;
  }
  render();
}

function showLoadError(error) {
  document.title = t('invalid.title');
  if (error instanceof ApiError && (error.status === 404 || error.status === 400)) {
    setMain('invalid', [
      h('h1', { tabindex: '-1', class: 'focus-target' }, t('invalid.title')),
      h('p', {}, t('invalid.body')),
    ]);
  } else {
    setMain('offline', [
      h('h1', { tabindex: '-1', class: 'focus-target' }, t('error.generic')),
      h('p', {}, error instanceof NetworkError ? t('offline') : error.message),
      h('button', { type: 'button', class: 'primary', onclick: () => load() }, t('tryAgain')),
    ]);
  }
}

function setMain(focusKey, children) {
  main.replaceChildren(...children);
  main.dataset.view = focusKey;
  if (focusKey !== lastFocusKey) {
    lastFocusKey = focusKey;
    const target = main.querySelector('.focus-target');
    if (target) target.focus();
  }
}

function stepsInOrder() {
  const byId = new Map(session.steps_data.map((data) => [data.step_id, data]));
  return workflow.steps.map((step) => ({ step, data: byId.get(step.step_id) || { status: 'pending' } }));
}

function render() {
  document.documentElement.lang = language();
  langButton.textContent = t('lang.switch');
  langButton.setAttribute('aria-label', t('lang.switchLabel'));
  document.getElementById('workflow-name').textContent = session.workflow_name || t('app.title');
  document.title = `${session.workflow_name || t('app.title')}`;
  const ctx = { api, refresh, announce, correction: false };
  switch (session.status) {
    case 'active': {
      const steps = stepsInOrder();
      const index = steps.findIndex(({ data }) => !['completed', 'skipped'].includes(data.status));
      if (index === -1) return renderEnd('review');
      const { step, data } = steps[index];
      setMain(`step:${step.step_id}`, [
        progress(steps, index),
        h(
          'section',
          { class: 'card', 'aria-labelledby': `title-${step.step_id}` },
          h('h1', { id: `title-${step.step_id}`, tabindex: '-1', class: 'focus-target' }, step.name),
          renderStep(step, data, ctx),
        ),
      ]);
      return undefined;
    }
    case 'awaiting_client_correction':
      return renderCorrections({ ...ctx, correction: true });
    case 'manual_review':
    case 'processing':
      return renderEnd('review');
    case 'completed':
      return renderEnd('completed');
    case 'approved':
      return renderEnd('approved');
    case 'rejected':
      return renderEnd('rejected');
    default:
      return showLoadError(new ApiError(404, 'NOT_FOUND', ''));
  }
}

function progress(steps, currentIndex) {
  return h(
    'nav',
    { class: 'progress', 'aria-label': t('steps.label') },
    h('p', { class: 'progress-count' }, t('progress', { current: currentIndex + 1, total: steps.length })),
    h(
      'ol',
      {},
      steps.map(({ step, data }, i) =>
        h(
          'li',
          { class: `progress-step status-${data.status}`, 'aria-current': i === currentIndex ? 'step' : null },
          h('span', { class: 'progress-name' }, step.name),
          h('span', { class: 'progress-status' }, t(`status.${data.status}`)),
        ),
      ),
    ),
  );
}

function renderCorrections(ctx) {
  const steps = stepsInOrder();
  const open = steps.filter(({ data }) => data.status === 'needs_correction');
  setMain('correction', [
    h(
      'div',
      { class: 'card correction-intro' },
      h('h1', { tabindex: '-1', class: 'focus-target' }, t('correction.title')),
      h('p', {}, t('correction.intro')),
    ),
    ...open.map(({ step, data }) =>
      h(
        'section',
        { class: 'card', 'aria-labelledby': `title-${step.step_id}`, 'data-step': step.step_id },
        h('h2', { id: `title-${step.step_id}` }, step.name),
        (data.correction_requests || []).map((request) =>
          h(
            'div',
            { class: 'notice correction-message', role: 'note' },
            h('strong', {}, `${t('correction.message')}: `),
            request.message,
          ),
        ),
        renderStep(step, data, ctx),
      ),
    ),
    progress(steps, -1),
  ]);
}

function renderEnd(kind) {
  const children = [
    h('h1', { tabindex: '-1', class: 'focus-target' }, t(`end.${kind}.title`)),
    h('p', {}, t(`end.${kind}.body`)),
  ];
  if (kind === 'rejected' && (session.rejection_reasons || []).length) {
    children.push(h('h2', {}, t('end.reasons')), h('ul', {}, session.rejection_reasons.map((r) => h('li', {}, r))));
  }
  if (session.redirect_url && /^https?:\/\//.test(session.redirect_url)) {
    children.push(h('p', {}, h('a', { class: 'button primary', href: session.redirect_url, rel: 'noreferrer' }, t('end.redirect'))));
  }
  setMain(`end:${kind}`, [h('section', { class: `card end end-${kind}` }, children)]);
}

langButton.addEventListener('click', () => {
  const next = LANGUAGES[(LANGUAGES.indexOf(language()) + 1) % LANGUAGES.length];
  setLanguage(next);
  lastFocusKey = null;
  if (session && workflow) render();
  else load();
  langButton.focus();
});

document.documentElement.lang = language();
langButton.textContent = t('lang.switch');
langButton.setAttribute('aria-label', t('lang.switchLabel'));
main.replaceChildren(h('p', { class: 'loading' }, t('loading')));
if (token) load();
else showLoadError(new ApiError(404, 'NOT_FOUND', ''));
