// One renderer per step type. Each gets the step's public definition, its public state and a
// context ({api, refresh, announce, correction}) and returns the step's body.

import { ApiError, NetworkError, putFile } from './api.js';
import { h, uid } from './dom.js';
import { t, formatBytes, countryName } from './i18n.js';
import { COUNTRY_CODES } from './countries.js';

const config = window.KYC_CONFIG || {};
// A list, or the deployment's comma-separated KYC_ALLOWED_MIME_TYPES (empty: every type).
const configuredTypes = typeof config.allowedMimeTypes === 'string'
  ? config.allowedMimeTypes.split(',').map((type) => type.trim().toLowerCase()).filter(Boolean)
  : config.allowedMimeTypes || [];
const ALLOWED_TYPES = configuredTypes.length
  ? configuredTypes
  : ['image/jpeg', 'image/png', 'image/heic', 'image/heif', 'image/webp', 'application/pdf'];
const MAX_BYTES = config.maxUploadBytes || 15 * 1024 * 1024;
const EXTENSION_TYPES = {
  jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', heic: 'image/heic', heif: 'image/heif',
  webp: 'image/webp', pdf: 'application/pdf',
};
/// Document kinds /extract reads.
const EXTRACT_KINDS = ['passport', 'id_card', 'driver_license', 'residence_permit', 'visa'];

/// Results of extraction waiting for the user's confirmation, by step id (kept across re-renders).
const extractions = new Map();

export function renderStep(step, data, ctx) {
  const intro = [step.description, step.instructions].filter(Boolean).map((text) => h('p', { class: 'step-intro' }, text));
  const body = {
    document_upload: documentStep,
    selfie: documentStep,
    form_fill: formStep,
    liveness: livenessStep,
    subsession_collection: partiesStep,
  }[step.type];
  return h('div', { class: `step step-${step.type}` }, intro, body ? body(step, data, ctx) : null);
}

function errorText(error) {
  if (error instanceof NetworkError) return t('offline');
  return (error && error.message) || t('error.generic');
}

function messageBox(role = 'alert') {
  return h('p', { class: 'message', role, hidden: true });
}

function show(box, text, kind = 'error') {
  box.textContent = text;
  box.hidden = !text;
  box.dataset.kind = kind;
}

function busy(button, on) {
  button.disabled = on;
  button.setAttribute('aria-busy', on ? 'true' : 'false');
}

// ------------------------------------------------------------------------------------------------
// Files

function fileType(file) {
  if (file.type) return file.type.toLowerCase();
  const extension = (file.name.split('.').pop() || '').toLowerCase();
  return EXTENSION_TYPES[extension] || '';
}

/// The server's own checks, before anything is sent: type on the allow-list, not empty, not
/// above the upload limit.
function checkFile(file) {
  if (!ALLOWED_TYPES.includes(fileType(file))) return t('upload.badType', { name: file.name });
  if (file.size === 0) return t('upload.empty', { name: file.name });
  if (file.size > MAX_BYTES) return t('upload.tooBig', { name: file.name, size: formatBytes(MAX_BYTES) });
  return null;
}

function typesHint() {
  const names = ALLOWED_TYPES.map((type) => type.split('/')[1].toUpperCase());
  return t('upload.hintTypes', { types: [...new Set(names)].join(', '), size: formatBytes(MAX_BYTES) });
}

/// init → PUT (with a progress bar) → confirm. Returns the confirmed document's id.
async function upload(ctx, { stepId, documentType, file, progressBar }) {
  const mime = fileType(file);
  const init = await ctx.api.initUpload({
    step_id: stepId,
    document_type: documentType,
    file_name: file.name,
    mime_type: mime,
    size_bytes: file.size,
  });
  progressBar.hidden = false;
  progressBar.value = 0;
  await putFile(init.upload_url, file, (fraction) => {
    progressBar.value = fraction;
  });
  await ctx.api.confirmUpload({
    doc_id: init.doc_id,
    s3_key: init.s3_key,
    step_id: stepId,
    document_type: documentType,
    file_name: file.name,
    mime_type: mime,
  });
  return init.doc_id;
}

/// A file picker (and, for images, a camera capture) that uploads what is chosen.
function filePicker(ctx, { stepId, documentType, label, capture, onUploaded }) {
  const hintId = uid('hint');
  const box = messageBox();
  const progressId = uid('progress');
  const progressBar = h('progress', { id: progressId, max: '1', value: '0', hidden: true, 'aria-label': t('upload.progress') });
  const inputs = [];
  const handle = async (event) => {
    const file = event.target.files && event.target.files[0];
    event.target.value = '';
    if (!file) return;
    const problem = checkFile(file);
    if (problem) {
      show(box, problem);
      return;
    }
    show(box, t('upload.uploading', { name: file.name }), 'info');
    inputs.forEach((input) => { input.disabled = true; });
    try {
      const docId = await upload(ctx, { stepId, documentType, file, progressBar });
      show(box, '');
      ctx.announce(t('upload.done', { name: file.name }));
      await onUploaded(docId, file);
    } catch (error) {
      show(box, errorText(error));
    }
    inputs.forEach((input) => { input.disabled = false; });
    progressBar.hidden = true;
  };
  const chooseId = uid('file');
  const choose = h('input', {
    id: chooseId, type: 'file', accept: ALLOWED_TYPES.join(','), 'aria-describedby': hintId, onchange: handle,
  });
  inputs.push(choose);
  const fields = [h('div', { class: 'file-field' }, h('label', { for: chooseId }, `${t('upload.choose')}: ${label}`), choose)];
  const imageTypes = ALLOWED_TYPES.filter((type) => type.startsWith('image/'));
  if (capture && imageTypes.length) {
    const cameraId = uid('camera');
    const camera = h('input', {
      id: cameraId, type: 'file', accept: imageTypes.join(','), capture, 'aria-describedby': hintId, onchange: handle,
    });
    inputs.push(camera);
    fields.push(h('div', { class: 'file-field' }, h('label', { for: cameraId }, `${t('upload.camera')}: ${label}`), camera));
  }
  return h('div', { class: 'picker' }, fields, h('p', { id: hintId, class: 'hint' }, typesHint()), progressBar, box);
}

// ------------------------------------------------------------------------------------------------
// document_upload and selfie

function requirementsOf(step) {
  const list = (step.document_requirements || []).map((r) => ({ ...r }));
  for (const type of step.required_documents || []) {
    if (!list.some((r) => r.document_type === type)) list.push({ document_type: type, label: type, required: true });
  }
  for (const type of step.document_types || []) {
    if (!list.some((r) => r.document_type === type)) list.push({ document_type: type, label: type, required: false });
  }
  return list;
}

function documentStep(step, data, ctx) {
  const documents = data.documents || [];
  const requirements = requirementsOf(step);
  const pending = extractions.get(step.step_id);
  if (pending) return extractionPanel(step, pending, ctx);
  const box = messageBox();
  const sections = requirements.map((requirement) => {
    const mine = documents.filter((d) => d.type === requirement.document_type);
    return h(
      'section',
      { class: 'requirement', 'data-document-type': requirement.document_type },
      h('h2', {}, requirement.label, requirement.required ? h('span', { class: 'badge' }, t('required')) : ` (${t('optional')})`),
      mine.length
        ? h('ul', { class: 'documents' }, mine.map((d) => h('li', { class: 'document' }, h('span', { class: 'check', 'aria-hidden': 'true' }, '✓ '), `${t('upload.uploaded')}: ${d.file_name}`)))
        : null,
      filePicker(ctx, {
        stepId: step.step_id,
        documentType: requirement.document_type,
        label: requirement.label,
        capture: step.type === 'selfie' ? 'user' : 'environment',
        onUploaded: async (docId) => {
          if (step.extract) await extractFor(step, requirement, docId, ctx);
          await ctx.refresh();
        },
      }),
    );
  });
  const missing = requirements.filter((r) => r.required && !documents.some((d) => d.type === r.document_type));
  const button = h('button', {
    type: 'button',
    class: 'primary',
    onclick: async () => {
      if (missing.length) {
        show(box, t('upload.missing'));
        return;
      }
      busy(button, true);
      try {
        await ctx.api.completeStep(step.step_id);
        await ctx.refresh();
      } catch (error) {
        show(box, errorText(error));
        busy(button, false);
      }
    },
  }, ctx.correction ? t('correction.done') : t('continue'));
  return h('div', {}, sections, box, h('div', { class: 'actions' }, button));
}

async function extractFor(step, requirement, docId, ctx) {
  const kind = EXTRACT_KINDS.includes(requirement.document_type) ? requirement.document_type : 'id_card';
  ctx.announce(t('extract.reading'));
  try {
    const result = await ctx.api.extract({ doc_id: docId, document_type: kind });
    extractions.set(step.step_id, { docId, data: result.extracted_data || {} });
  } catch {
    extractions.set(step.step_id, { docId, data: null });
  }
}

function extractionPanel(step, pending, ctx) {
  const done = async () => {
    extractions.delete(step.step_id);
    await ctx.refresh();
  };
  const rows = pending.data
    ? Object.entries(pending.data)
        .filter(([, value]) => value !== null && value !== '' && typeof value !== 'object')
        .map(([key, value]) => h('div', { class: 'row' }, h('dt', {}, t(`extract.${key}`) === `extract.${key}` ? key : t(`extract.${key}`)), h('dd', {}, String(value))))
    : [];
  return h(
    'section',
    { class: 'extraction' },
    h('h2', {}, pending.data ? t('extract.title') : t('extract.failed')),
    rows.length ? h('dl', { class: 'extracted' }, rows) : null,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', onclick: done }, t('extract.retake')),
      h('button', { type: 'button', class: 'primary', onclick: done }, pending.data ? t('extract.confirm') : t('continue')),
    ),
  );
}

// ------------------------------------------------------------------------------------------------
// form_fill

function fieldsOf(step) {
  return [...(step.custom_fields || []), ...(step.fields || [])];
}

function formStep(step, data, ctx) {
  const fields = fieldsOf(step);
  const values = { ...(data.form_data || {}) };
  const requested = new Set((data.correction_requests || []).flatMap((c) => c.field_ids || []));
  const box = messageBox();
  const controls = new Map();
  const form = h('form', { novalidate: true, class: 'form' });
  for (const field of fields) {
    const control = fieldControl(step, field, values, ctx, requested.has(field.field_id));
    controls.set(field.field_id, control);
    form.append(control.element);
  }
  const button = h('button', { type: 'submit', class: 'primary' }, ctx.correction ? t('correction.done') : t('continue'));
  form.append(box, h('div', { class: 'actions' }, button));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    controls.forEach((control) => control.setError(null));
    show(box, '');
    const formData = {};
    for (const field of fields) {
      const value = controls.get(field.field_id).value();
      if (value !== undefined) formData[field.field_id] = value;
    }
    busy(button, true);
    button.textContent = t('saving');
    try {
      await ctx.api.completeStep(step.step_id, formData);
      await ctx.refresh();
    } catch (error) {
      busy(button, false);
      button.textContent = ctx.correction ? t('correction.done') : t('continue');
      const placed = error instanceof ApiError && placeServerErrors(error.message, controls);
      show(box, placed ? t('error.fixBelow') : errorText(error));
      if (placed) placed.focus();
    }
  });
  return form;
}

/// Puts the server's validation message next to the field(s) it names; returns the first
/// control to focus, or null when the message names no field.
function placeServerErrors(message, controls) {
  const missing = /^Campos requeridos: (.+)$/.exec(message);
  if (missing) {
    let first = null;
    for (const id of missing[1].split(',').map((s) => s.trim())) {
      const control = controls.get(id);
      if (control) {
        control.setError(t('error.required'));
        first = first || control.focusable;
      }
    }
    return first;
  }
  const field = /^Field '([^']+)' (.+)$/.exec(message);
  if (field && controls.has(field[1])) {
    const control = controls.get(field[1]);
    control.setError(field[2].charAt(0).toUpperCase() + field[2].slice(1) + '.');
    return control.focusable;
  }
  return null;
}

function fieldControl(step, field, values, ctx, requested) {
  const id = `f-${step.step_id}-${field.field_id}`;
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const current = values[field.field_id];
  const error = h('p', { id: errorId, class: 'field-error', hidden: true });
  const hints = [field.help_text];
  if (field.type === 'phone') hints.push(t('phone.hint'));
  const hintText = hints.filter(Boolean).join(' ');
  const hint = hintText ? h('p', { id: hintId, class: 'hint' }, hintText) : null;
  const describedBy = [hint ? hintId : null, errorId].filter(Boolean).join(' ');
  const common = {
    id,
    name: field.field_id,
    required: field.required,
    'aria-required': field.required ? 'true' : null,
    'aria-describedby': describedBy,
  };
  const labelText = [field.name, field.required ? ' *' : ` (${t('optional')})`];
  let input;
  let value;
  let focusable;
  let element;
  switch (field.type) {
    case 'textarea':
      input = h('textarea', { ...common, rows: '4', maxlength: field.max_length, placeholder: field.placeholder, value: current ?? '' });
      value = () => (input.value.trim() === '' ? undefined : input.value);
      break;
    case 'number':
      input = h('input', { ...common, type: 'number', inputmode: 'decimal', step: 'any', value: current ?? '' });
      value = () => (input.value === '' ? undefined : Number(input.value));
      break;
    case 'date':
      input = h('input', { ...common, type: 'date', value: current ?? '' });
      value = () => (input.value === '' ? undefined : input.value);
      break;
    case 'email':
      input = h('input', { ...common, type: 'email', autocomplete: 'email', value: current ?? '' });
      value = () => (input.value.trim() === '' ? undefined : input.value.trim());
      break;
    case 'phone':
      input = h('input', { ...common, type: 'tel', autocomplete: 'tel', placeholder: field.placeholder || '+5491122334455', value: current ?? '' });
      value = () => (input.value.trim() === '' ? undefined : input.value.replace(/[\s()-]/g, ''));
      break;
    case 'select':
      input = h('select', common, h('option', { value: '' }, t('select.placeholder')),
        (field.options || []).map((option) => h('option', { value: option, selected: option === current }, option)));
      value = () => (input.value === '' ? undefined : input.value);
      break;
    case 'country': {
      const names = COUNTRY_CODES.map((code) => [code, countryName(code)]).sort((a, b) => a[1].localeCompare(b[1]));
      input = h('select', { ...common, autocomplete: 'country' }, h('option', { value: '' }, t('country.placeholder')),
        names.map(([code, name]) => h('option', { value: code, selected: code === current }, name)));
      value = () => (input.value === '' ? undefined : input.value);
      break;
    }
    case 'checkbox':
      input = h('input', { ...common, type: 'checkbox', checked: current === true });
      value = () => input.checked;
      element = h('div', { class: `field field-checkbox${requested ? ' requested' : ''}` }, input, h('label', { for: id }, labelText), hint, error);
      break;
    case 'multiselect': {
      const chosen = new Set(Array.isArray(current) ? current : []);
      const boxes = (field.options || []).map((option, i) => {
        const optionId = `${id}-${i}`;
        return [h('input', { type: 'checkbox', id: optionId, name: field.field_id, value: option, checked: chosen.has(option), 'aria-describedby': describedBy }), h('label', { for: optionId }, option)];
      });
      element = h('fieldset', { class: `field field-multiselect${requested ? ' requested' : ''}`, id }, h('legend', {}, labelText), boxes.map((pair) => h('div', { class: 'option' }, pair)), hint, error);
      value = () => {
        const list = boxes.filter(([box]) => box.checked).map(([box]) => box.value);
        return list.length ? list : undefined;
      };
      focusable = boxes.length ? boxes[0][0] : element;
      break;
    }
    case 'file': {
      let docId = typeof current === 'string' ? current : undefined;
      const status = h('p', { class: 'hint', id: `${id}-current` }, docId ? t('file.current', { name: docId }) : '');
      const picker = filePicker(ctx, {
        stepId: step.step_id,
        documentType: field.field_id,
        label: field.name,
        capture: null,
        onUploaded: (newDocId, file) => {
          docId = newDocId;
          status.textContent = t('file.current', { name: file.name });
        },
      });
      element = h('fieldset', { class: `field field-file${requested ? ' requested' : ''}`, id }, h('legend', {}, labelText), picker, status, error);
      value = () => docId;
      focusable = picker.querySelector('input');
      break;
    }
    default:
      input = h('input', { ...common, type: 'text', maxlength: field.max_length, placeholder: field.placeholder, value: current ?? '', autocomplete: field.field_id === 'full_name' ? 'name' : null });
      value = () => (input.value.trim() === '' ? undefined : input.value);
  }
  if (!element) {
    element = h('div', { class: `field${requested ? ' requested' : ''}` }, h('label', { for: id }, labelText), hint, input, error);
  }
  focusable = focusable || input;
  return {
    element,
    focusable,
    value,
    setError(text) {
      error.textContent = text || '';
      error.hidden = !text;
      element.classList.toggle('invalid', Boolean(text));
      if (input) input.setAttribute('aria-invalid', text ? 'true' : 'false');
    },
  };
}

// ------------------------------------------------------------------------------------------------
// liveness

function livenessStep(step, data, ctx) {
  const area = h('div', { class: 'liveness-area' });
  const box = messageBox();
  const start = h('button', {
    type: 'button',
    class: 'primary',
    onclick: async () => {
      busy(start, true);
      show(box, '');
      try {
        const started = await ctx.api.startLiveness(step.step_id);
        start.hidden = true;
        if (started.liveness_session_id.startsWith('liv_sandbox_')) sandbox(started.liveness_session_id);
        else await live(started.liveness_session_id);
      } catch (error) {
        show(box, errorText(error));
        busy(start, false);
      }
    },
  }, t('liveness.start'));

  const finish = async (id) => {
    const result = await ctx.api.completeLiveness(id);
    if (result.passed) {
      ctx.announce(t('liveness.passed'));
      await ctx.refresh();
    } else {
      area.replaceChildren();
      show(box, t('liveness.failed', { message: result.message }));
      start.hidden = false;
      busy(start, false);
    }
  };

  // Test mode: the sandbox decides; nothing is filmed.
  const sandbox = (id) => {
    const complete = h('button', {
      type: 'button',
      class: 'primary',
      onclick: async () => {
        busy(complete, true);
        try {
          await finish(id);
        } catch (error) {
          show(box, errorText(error));
          busy(complete, false);
        }
      },
    }, t('liveness.testComplete'));
    area.replaceChildren(
      h('div', { class: 'notice test-mode', role: 'note' }, h('strong', {}, `${t('testMode')}: `), t('liveness.testBanner')),
      h('div', { class: 'actions' }, complete),
    );
    complete.focus();
  };

  // Live mode: AWS's FaceLivenessDetectorCore, from the bundle `make package` builds
  // (web/liveness); never loaded in test mode.
  const live = async (id) => {
    let mount;
    try {
      document.head.append(h('link', { rel: 'stylesheet', href: new URL('./liveness/bundle.css', import.meta.url).href }));
      ({ mount } = await import('./liveness/bundle.js'));
    } catch {
      show(box, t('liveness.unavailable'));
      return;
    }
    area.replaceChildren(h('p', {}, t('liveness.camera')));
    const container = h('div', { class: 'liveness-camera' });
    area.append(container);
    mount(container, {
      sessionId: id,
      region: (config.liveness || {}).region,
      identityPoolId: (config.liveness || {}).identityPoolId,
      language: document.documentElement.lang,
      onComplete: () => finish(id).catch((error) => show(box, errorText(error))),
      onError: (message) => show(box, t('liveness.failed', { message })),
    });
  };

  return h('div', {}, h('p', {}, t('liveness.intro')), area, box, h('div', { class: 'actions' }, start));
}

// ------------------------------------------------------------------------------------------------
// subsession_collection

function partiesStep(step, data, ctx) {
  const root = h('div', { class: 'parties' });
  const box = messageBox();
  const status = messageBox('status');
  const nameId = uid('party-name');
  const emailId = uid('party-email');
  const roleId = uid('party-role');
  const nameError = h('p', { id: `${nameId}-error`, class: 'field-error', hidden: true });
  const name = h('input', { id: nameId, type: 'text', required: true, 'aria-required': 'true', autocomplete: 'off', maxlength: '150', 'aria-describedby': `${nameId}-error` });
  const email = h('input', { id: emailId, type: 'email', autocomplete: 'off' });
  const role = h('input', { id: roleId, type: 'text', autocomplete: 'off', maxlength: '40', placeholder: (step.subsession_config || {}).category || '' });
  const add = h('button', { type: 'submit', class: 'secondary' }, t('parties.add'));
  const form = h(
    'form',
    { class: 'form party-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: nameId }, `${t('parties.name')} *`), name, nameError),
    h('div', { class: 'field' }, h('label', { for: emailId }, `${t('parties.email')} (${t('optional')})`), email),
    h('div', { class: 'field' }, h('label', { for: roleId }, `${t('parties.role')} (${t('optional')})`), role),
    h('div', { class: 'actions' }, add),
  );
  const listArea = h('div', { class: 'party-list', 'aria-live': 'polite' });
  // Enabled once the listing says the step may complete.
  const next = h('button', { type: 'button', class: 'primary', disabled: true }, ctx.correction ? t('correction.done') : t('continue'));
  let listing = null;

  const reload = async () => {
    try {
      listing = await ctx.api.subsessions(step.step_id);
      renderList();
    } catch (error) {
      show(box, errorText(error));
    }
  };

  const renderList = () => {
    const items = listing.subsessions;
    listArea.replaceChildren(
      h('h2', {}, t('parties.list')),
      h('p', { class: 'counts' }, t('parties.counts', { completed: listing.completed, total: listing.total, min: listing.min_required, max: listing.max_allowed })),
      items.length ? h('ul', { class: 'parties-list' }, items.map(partyRow)) : h('p', {}, t('parties.none')),
    );
    add.disabled = listing.total >= listing.max_allowed;
    next.disabled = !listing.can_proceed;
    next.title = listing.can_proceed ? '' : t('parties.needMore', { min: listing.min_required });
  };

  const partyRow = (party) => {
    const linkId = uid('link');
    const finished = ['completed', 'manual_review', 'approved', 'processing', 'rejected'].includes(party.status);
    const link = party.access_link
      ? h('input', { id: linkId, type: 'text', readonly: true, value: party.access_link, class: 'link' })
      : null;
    const copy = async () => {
      try {
        await navigator.clipboard.writeText(party.access_link);
      } catch {
        link.select();
        document.execCommand('copy');
      }
      show(status, t('parties.copied'), 'info');
    };
    const actions = [];
    if (link) actions.push(h('button', { type: 'button', class: 'secondary', onclick: copy }, t('parties.copy')));
    if (link && navigator.share) {
      actions.push(h('button', {
        type: 'button', class: 'secondary',
        onclick: () => navigator.share({ title: t('parties.shareText'), url: party.access_link }).catch(() => {}),
      }, t('parties.share')));
    }
    if (!finished) {
      actions.push(h('button', {
        type: 'button', class: 'secondary',
        onclick: async () => {
          try {
            await ctx.api.regenerateSubsession(party.subsession_id);
            await reload();
            show(status, t('parties.regenerated'), 'info');
          } catch (error) {
            show(box, errorText(error));
          }
        },
      }, t('parties.regenerate')));
      actions.push(h('button', {
        type: 'button', class: 'danger',
        onclick: async () => {
          if (!window.confirm(t('parties.confirmDelete', { name: party.label }))) return;
          try {
            await ctx.api.deleteSubsession(party.subsession_id);
            await reload();
            show(status, t('parties.deleted', { name: party.label }), 'info');
          } catch (error) {
            show(box, errorText(error));
          }
        },
      }, t('parties.delete')));
    }
    return h(
      'li',
      { class: 'party', 'data-subsession': party.subsession_id },
      h('div', { class: 'party-head' }, h('strong', {}, party.label), h('span', { class: `badge party-${party.status}` }, t(`party.${party.status}`))),
      link ? h('div', { class: 'field' }, h('label', { for: linkId }, t('parties.link', { name: party.label })), link) : h('p', { class: 'hint' }, t('parties.noLink')),
      h('div', { class: 'actions' }, actions),
    );
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    show(box, '');
    nameError.hidden = true;
    name.setAttribute('aria-invalid', 'false');
    const label = name.value.trim();
    if (!label) {
      nameError.textContent = t('error.required');
      nameError.hidden = false;
      name.setAttribute('aria-invalid', 'true');
      name.focus();
      return;
    }
    const metadata = {};
    if (email.value.trim()) metadata.email = email.value.trim();
    if (role.value.trim()) metadata.role = role.value.trim();
    busy(add, true);
    try {
      await ctx.api.createSubsession({
        step_id: step.step_id,
        label: metadata.role ? `${label} - ${metadata.role}` : label,
        metadata: Object.keys(metadata).length ? metadata : undefined,
      });
      form.reset();
      await reload();
      show(status, t('parties.added', { name: label }), 'info');
    } catch (error) {
      show(box, errorText(error));
    } finally {
      busy(add, false);
      if (listing) add.disabled = listing.total >= listing.max_allowed;
    }
  });

  next.addEventListener('click', async () => {
    busy(next, true);
    try {
      await ctx.api.completeStep(step.step_id);
      await ctx.refresh();
    } catch (error) {
      show(box, errorText(error));
      busy(next, false);
    }
  });

  root.append(form, status, listArea, box, h('div', { class: 'actions' }, next));
  reload();
  return root;
}
