// The operator softphone page, built on the crmphone SDK. Everything shown that came from outside
// (operator names, numbers, server messages) goes through textContent, never parsed as HTML.
import { connect, isValidNumber, isValidDtmf } from '../sdk/crmphone.js';

const $ = (id) => document.getElementById(id);
const el = {
  operator: $('operator'), conn: $('conn-state'), error: $('error'),
  loginForm: $('login-form'), token: $('token'), login: $('login'),
  number: $('number'), call: $('call'), hangup: $('hangup'),
  callState: $('call-state'), timer: $('timer'),
  mute: $('mute'), hold: $('hold'), keypad: $('keypad'), pad: $('pad'),
  input: $('input-device'), output: $('output-device'),
};

// Human text for the protocol's error codes (PROTOCOL.md) and the SDK's own.
const ERRORS = {
  malformed: 'This login token cannot be read. Open the phone again from the CRM.',
  unknown_key: 'This login token was made for another server. Ask your administrator.',
  bad_token: 'This login token is not valid. Open the phone again from the CRM.',
  expired: 'This login token has expired. Open the phone again from the CRM to get a new one.',
  replayed: 'This login token was already used. Open the phone again from the CRM to get a new one.',
  login_failed: 'The login was refused. Open the phone again from the CRM.',
  token_needed: 'The connection was lost. Log in again with a new token from the CRM.',
  connect_failed: 'The phone server cannot be reached. Check the network and try again.',
  connection_lost: 'The connection to the phone server was lost.',
  not_connected: 'Not connected to the phone server.',
  timeout: 'The phone server did not answer in time. Try again.',
  internal: 'The phone server had a problem. Try again.',
  invalid_number: 'That is not a valid phone number. Use digits, optionally a leading +, and * or # (at most 32).',
  not_allowed: 'You are not allowed to call this number.',
  no_media: 'The audio connection is not ready yet. Wait a moment and try again.',
  busy_here: 'You are already in a call.',
  unknown_call: 'That call is no longer active.',
  invalid_state: 'That is not possible in the current state of the call.',
  bad_request: 'The request was not valid.',
  media_failed: 'The audio connection could not be set up. Reload the page to try again.',
  microphone_denied: 'Microphone access was denied. Allow the microphone for this page and reload.',
  microphone_unavailable: 'No usable microphone was found. Connect one and choose it under Audio devices.',
  unsupported: 'This browser cannot do that.',
  rate_limited: 'Too many actions too fast; the connection was reset.',
  message_too_big: 'A message was too big for the server.',
  login_timeout: 'The login took too long. Try again.',
  already_logged_in: 'This page is already logged in.',
  unsupported_version: 'This page is too old or too new for the phone server. Reload it.',
};

const CALL_STATES = {
  dialing: 'Dialing…', ringing: 'Ringing…', early_media: 'Ringing…', answered: 'In call',
};
const CAUSES = {
  local_hangup: 'you hung up', remote_hangup: 'the other side hung up', busy: 'busy',
  no_answer: 'no answer', unreachable: 'number unreachable', cancelled: 'cancelled', failed: 'call failed',
};
const CONN_TEXT = { connecting: 'connecting…', online: 'online', reconnecting: 'reconnecting…', offline: 'offline' };

/** @type {import('../sdk/crmphone.js').Phone|null} */
let phone = null;
/** @type {import('../sdk/crmphone.js').Call|null} */
let current = null;
let timerHandle = null;

// A diagnostic handle (same-origin scripts only), used by the browser tests.
window.crmphone = { get phone() { return phone; }, get call() { return current; } };

function showError(code, message) {
  const text = ERRORS[code] || (message ? message + ' (' + code + ')' : 'Something went wrong (' + code + ').');
  el.error.textContent = text;
  el.error.dataset.code = code;
  el.error.hidden = false;
}

function clearError() {
  el.error.textContent = '';
  delete el.error.dataset.code;
  el.error.hidden = true;
}

function setConn(state) {
  el.conn.dataset.state = state;
  el.conn.textContent = CONN_TEXT[state] || state;
  el.loginForm.hidden = state === 'online' || state === 'connecting' || state === 'reconnecting';
  updateButtons();
}

function active() {
  return current && current.state !== 'ended' ? current : null;
}

function updateButtons() {
  const online = phone && phone.state === 'online';
  const c = active();
  el.call.disabled = !online || !!c;
  el.hangup.disabled = !c;
  el.mute.disabled = !c;
  el.hold.disabled = !c;
  el.mute.setAttribute('aria-pressed', String(!!(c && c.muted)));
  el.hold.setAttribute('aria-pressed', String(!!(c && c.held)));
  el.mute.textContent = c && c.muted ? 'Unmute' : 'Mute';
  el.hold.textContent = c && c.held ? 'Resume' : 'Hold';
}

function pad2(n) { return String(n).padStart(2, '0'); }

function renderTimer() {
  const c = current;
  if (!c || c.answeredAt === null) return;
  const end = c.endedAt || performance.now();
  const s = Math.max(0, Math.floor((end - c.answeredAt) / 1000));
  el.timer.textContent = pad2(Math.floor(s / 60)) + ':' + pad2(s % 60);
}

function stopTimer() {
  clearInterval(timerHandle);
  timerHandle = null;
}

function renderCall() {
  const c = current;
  if (!c) {
    el.callState.textContent = 'Idle';
    el.callState.dataset.state = '';
  } else {
    el.callState.dataset.state = c.state;
    if (c.state === 'ended') {
      el.callState.textContent = 'Call ended' + (CAUSES[c.cause] ? ': ' + CAUSES[c.cause] : '');
    } else {
      let text = CALL_STATES[c.state] || c.state;
      if (c.held) text += ' (on hold)';
      if (c.muted) text += ' (muted)';
      el.callState.textContent = text + (c.number ? ' ' + c.number : '');
    }
    if (c.state === 'answered' && !timerHandle) {
      renderTimer();
      timerHandle = setInterval(renderTimer, 250);
    }
    if (c.state === 'ended') {
      if (!c.endedAt) c.endedAt = performance.now();
      renderTimer();
      stopTimer();
    }
  }
  updateButtons();
}

function onCallEvent(ev) {
  const data = ev.detail;
  if (!phone) return;
  if (!current || current.id !== data.call_id) {
    if (active()) return; // another call's event while one is in progress (e.g. another tab's)
    const c = phone.calls.get(data.call_id);
    if (!c) return; // it ended before we saw it
    startShowing(c);
  }
  renderCall();
}

function startShowing(call) {
  stopTimer();
  current = call;
  el.timer.textContent = '00:00';
}

async function login(token) {
  clearError();
  if (phone) {
    phone.close();
    phone = null;
  }
  current = null;
  renderCall();
  setConn('connecting');
  let p;
  try {
    p = await connect({ token });
  } catch (err) {
    setConn('offline');
    showError(err.code || 'internal', err.message);
    return;
  }
  phone = p;
  el.operator.textContent = (p.operator && (p.operator.display_name || p.operator.id)) || 'Operator';
  p.addEventListener('state', (ev) => setConn(ev.detail.state));
  p.addEventListener('call', onCallEvent);
  p.addEventListener('error', (ev) => showError(ev.detail.code, ev.detail.message));
  setConn(p.state);
  el.number.focus();
  refreshDevices();
}

async function dial() {
  if (!phone || active()) return;
  const number = el.number.value.replace(/[\s().-]/g, '');
  if (!isValidNumber(number)) {
    showError('invalid_number');
    el.number.focus();
    return;
  }
  clearError();
  el.call.disabled = true;
  try {
    const call = await phone.call(number);
    if (!current || current.id !== call.id) startShowing(call);
    renderCall();
  } catch (err) {
    showError(err.code || 'internal', err.message);
    updateButtons();
  }
}

async function run(action) {
  try {
    await action();
  } catch (err) {
    showError(err.code || 'internal', err.message);
  }
  renderCall();
}

function hangup() {
  const c = active();
  if (c) run(() => c.hangup());
}

function sendDtmf(digit) {
  const c = active();
  if (!c || !isValidDtmf(digit)) return;
  run(() => c.dtmf(digit));
}

function pressKey(key) {
  if (active()) {
    sendDtmf(key);
  } else if (el.number.value.length < 32) {
    el.number.value += key;
  }
}

async function refreshDevices() {
  if (!phone) return;
  let list;
  try {
    list = await phone.listDevices();
  } catch {
    return;
  }
  fillSelect(el.input, list.inputs);
  fillSelect(el.output, list.outputs);
  el.output.disabled = typeof phone.audioElement.setSinkId !== 'function' || list.outputs.length === 0;
}

function fillSelect(select, devices) {
  const keep = select.value;
  select.replaceChildren();
  for (const d of devices) {
    const o = document.createElement('option');
    o.value = d.deviceId;
    o.textContent = d.label;
    select.append(o);
  }
  if (devices.some((d) => d.deviceId === keep)) select.value = keep;
}

// ---- wiring ------------------------------------------------------------------------------------

el.loginForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const token = el.token.value.trim();
  el.token.value = '';
  if (!token) {
    showError('token_needed');
    return;
  }
  login(token);
});

el.call.addEventListener('click', dial);
el.hangup.addEventListener('click', hangup);
el.mute.addEventListener('click', () => {
  const c = active();
  if (c) run(() => c.mute(!c.muted));
});
el.hold.addEventListener('click', () => {
  const c = active();
  if (c) run(() => c.hold(!c.held));
});
el.keypad.addEventListener('click', () => {
  el.pad.hidden = !el.pad.hidden;
  el.keypad.setAttribute('aria-expanded', String(!el.pad.hidden));
});
el.pad.addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-key]');
  if (b) pressKey(b.dataset.key);
});
el.input.addEventListener('change', () => {
  if (phone) run(() => phone.setInputDevice(el.input.value));
});
el.output.addEventListener('change', () => {
  if (phone) run(() => phone.setOutputDevice(el.output.value));
});
if (navigator.mediaDevices) navigator.mediaDevices.addEventListener('devicechange', refreshDevices);

document.addEventListener('keydown', (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) return;
  const t = ev.target;
  if (ev.key === 'Escape') {
    if (active()) {
      ev.preventDefault();
      hangup();
    }
    return;
  }
  if (t === el.token) return; // Enter there submits the login form
  const tag = t && t.tagName;
  if (ev.key === 'Enter') {
    if (tag === 'BUTTON' || tag === 'SELECT' || tag === 'SUMMARY') return; // their own activation
    if (!active()) {
      ev.preventDefault();
      dial();
    }
    return;
  }
  if (/^[0-9*#]$/.test(ev.key)) {
    if (active()) {
      ev.preventDefault();
      sendDtmf(ev.key);
      return;
    }
    if (t === el.number || tag === 'SELECT') return; // typed natively
    // Move the focus before the character is produced: it then lands in the number field natively.
    el.number.focus();
    const end = el.number.value.length;
    el.number.setSelectionRange(end, end);
  }
});

// During a call digits are DTMF, never text (keydown's preventDefault does not stop every input path).
document.addEventListener('keypress', (ev) => {
  if (active() && /^[0-9*#]$/.test(ev.key)) ev.preventDefault();
});

window.addEventListener('pagehide', () => { if (phone) phone.close(); });

// A token in the fragment (#token=...) logs in at once; it is removed from the address bar and history.
const fragment = new URLSearchParams(location.hash.slice(1));
const fragmentToken = fragment.get('token');
renderCall();
if (fragmentToken) {
  history.replaceState(null, '', location.pathname + location.search);
  login(fragmentToken);
} else {
  setConn('offline');
  el.token.focus();
}
