// The public sessions API (the only API this app uses), with retries of network failures.
//
// Every answer is an envelope: {"status":"success","data":…} or
// {"status":"error","error":{"code","message"}}. Failures throw an ApiError; a request that could
// not reach the server (or got 502/503/504/429) is retried with backoff, and `onRetry` lets the
// page say so while it happens.

const config = window.KYC_CONFIG || {};
export const API_BASE = (config.apiBaseUrl || '').replace(/\/$/, '');
const RETRIES = 3;
const RETRYABLE = new Set([429, 502, 503, 504]);

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export class NetworkError extends Error {}

let retryListener = () => {};
/// Requests waiting to retry, by request number: the notice stays while any of them waits.
const retrying = new Map();
let requests = 0;

/// `listener(attempt, max)` while some request waits to retry; `listener(null)` once none does.
export function onRetry(listener) {
  retryListener = listener;
}

function retryState(request, attempt) {
  if (attempt === null) retrying.delete(request);
  else retrying.set(request, attempt);
  if (retrying.size === 0) retryListener(null);
  else retryListener(Math.max(...retrying.values()), RETRIES);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function request(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' }, referrerPolicy: 'no-referrer' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  requests += 1;
  const id = requests;
  for (let attempt = 0; ; attempt++) {
    let response;
    try {
      response = await fetch(API_BASE + path, init);
    } catch (error) {
      if (attempt < RETRIES) {
        retryState(id, attempt + 1);
        await sleep(500 * 2 ** attempt);
        continue;
      }
      retryState(id, null);
      throw new NetworkError(String(error));
    }
    if (RETRYABLE.has(response.status) && attempt < RETRIES) {
      retryState(id, attempt + 1);
      await sleep(500 * 2 ** attempt);
      continue;
    }
    retryState(id, null);
    let envelope = null;
    try {
      envelope = await response.json();
    } catch {
      // not JSON: handled below
    }
    if (response.ok && envelope && envelope.status === 'success') return envelope.data;
    const error = envelope && envelope.error ? envelope.error : {};
    throw new ApiError(response.status, error.code || 'UNEXPECTED', error.message || response.statusText);
  }
}

/// The calls of one session, by its access token.
export function sessionApi(token) {
  const base = `/public/sessions/${encodeURIComponent(token)}`;
  return {
    state: () => request('GET', base),
    workflow: () => request('GET', `${base}/workflow`),
    initUpload: (body) => request('POST', `${base}/upload/init`, body),
    confirmUpload: (body) => request('POST', `${base}/upload/confirm`, body),
    extract: (body) => request('POST', `${base}/extract`, body),
    completeStep: (stepId, formData) =>
      request('POST', `${base}/step/${encodeURIComponent(stepId)}/complete`, formData ? { form_data: formData } : {}),
    startLiveness: (stepId) => request('POST', `${base}/liveness/start`, { step_id: stepId }),
    completeLiveness: (id) => request('POST', `${base}/liveness/complete`, { liveness_session_id: id }),
    subsessions: (stepId) => request('GET', `${base}/subsessions?step_id=${encodeURIComponent(stepId)}`),
    createSubsession: (body) => request('POST', `${base}/subsessions`, body),
    regenerateSubsession: (id) => request('POST', `${base}/subsessions/${encodeURIComponent(id)}/regenerate`),
    deleteSubsession: (id) => request('DELETE', `${base}/subsessions/${encodeURIComponent(id)}`),
  };
}

/// PUTs `file` to a presigned upload URL, reporting progress (0–1); fetch cannot report upload
/// progress, XMLHttpRequest can. Network failures are retried like API calls.
export async function putFile(url, file, onProgress) {
  requests += 1;
  const id = requests;
  for (let attempt = 0; ; attempt++) {
    try {
      await putOnce(url, file, onProgress);
      retryState(id, null);
      return;
    } catch (error) {
      if (!(error instanceof NetworkError) || attempt >= RETRIES) {
        retryState(id, null);
        throw error;
      }
      retryState(id, attempt + 1);
      await sleep(500 * 2 ** attempt);
    }
  }
}

function putOnce(url, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    xhr.setRequestHeader('Content-Type', file.type);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve();
      } else {
        reject(new ApiError(xhr.status, 'UPLOAD_FAILED', `Upload refused (${xhr.status})`));
      }
    };
    xhr.onerror = () => reject(new NetworkError('upload failed'));
    xhr.send(file);
  });
}
