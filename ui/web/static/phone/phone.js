// The operator softphone page, built on the crmphone SDK. Everything shown that came from outside
// (operator names, numbers, server messages) goes through textContent, never parsed as HTML.
import { connect, isValidNumber, isValidDtmf, safeCardUrl } from '../sdk/crmphone.js';

const $ = (id) => document.getElementById(id);
const el = {
  operator: $('operator'), conn: $('conn-state'), error: $('error'),
  loginForm: $('login-form'), token: $('token'), login: $('login'),
  number: $('number'), call: $('call'), hangup: $('hangup'),
  callState: $('call-state'), timer: $('timer'),
  mute: $('mute'), hold: $('hold'), keypad: $('keypad'), pad: $('pad'),
  input: $('input-device'), output: $('output-device'),
  presenceBar: $('presence-bar'), presence: $('presence'), presenceUntil: $('presence-until'),
  incoming: $('incoming'), incomingTarget: $('incoming-target'),
  callerNumber: $('caller-number'), callerName: $('caller-name'),
  cardLink: $('card-link'), cardTitle: $('card-title'), cardFields: $('card-fields'),
  answer: $('answer'), reject: $('reject'), offers: $('offers'),
  tasksPanel: $('tasks-panel'), tasks: $('tasks'), tasksEmpty: $('tasks-empty'),
};

// How many card fields the panel shows (the CRM is asked for "a few"; more would push the buttons away).
const MAX_CARD_FIELDS = 8;

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
  unknown_task: 'That callback was already closed.',
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
const TASK_REASONS = {
  timeout: 'not answered in time', caller_hung_up: 'caller hung up before an answer',
  rejected: 'rejected by everyone', no_operator: 'nobody was available',
};
const CONN_TEXT = { connecting: 'connecting…', online: 'online', reconnecting: 'reconnecting…', offline: 'offline' };

/** @type {import('../sdk/crmphone.js').Phone|null} */
let phone = null;
/** @type {import('../sdk/crmphone.js').Call|null} */
let current = null;
let timerHandle = null;

// A diagnostic handle (same-origin scripts only), used by the browser tests.
window.crmphone = { get phone() { return phone; }, get call() { return current; } };
let presenceTimer = null;
let tasksSeq = 0;

function showError(code, message, text) {
  text ||= ERRORS[code] || (message ? message + ' (' + code + ')' : 'Something went wrong (' + code + ').');
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
  el.presenceBar.hidden = state !== 'online';
  el.tasksPanel.hidden = state !== 'online';
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
  // One call at a time: while one runs, offers can only be rejected, and callbacks wait.
  const canAnswer = online && !c;
  el.answer.disabled = !canAnswer;
  el.reject.disabled = !online;
  for (const b of el.offers.querySelectorAll('button[data-offer-answer]')) b.disabled = !canAnswer;
  for (const b of el.tasks.querySelectorAll('button[data-task-call]')) b.disabled = !canAnswer;
  el.presence.disabled = !online;
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
  renderOffers();
  renderPresence();
  el.tasks.replaceChildren();
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
  p.addEventListener('offer', onOfferEvent);
  p.addEventListener('card', renderOffers);
  p.addEventListener('offer_withdrawn', renderOffers);
  p.addEventListener('presence', renderPresence);
  p.addEventListener('tasks_changed', refreshTasks);
  p.addEventListener('call_request', onCallRequest);
  p.addEventListener('state', (ev) => { if (ev.detail.state === 'online') refreshTasks(); }); // after a reconnect
  setConn(p.state);
  renderPresence();
  renderOffers();
  refreshTasks();
  el.number.focus();
  refreshDevices();
}

async function dial(fromTask) {
  if (!phone || active()) return;
  const number = typeof fromTask === 'string' ? fromTask : el.number.value.replace(/[\s().-]/g, '');
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

// ---- click-to-call from the CRM ----
// The CRM asked this operator to call a number: dial it unless a call is already running. Every tab of the
// operator gets the request; the server lets only the first one dial, so the others stay quiet.
async function onCallRequest(ev) {
  const req = ev.detail;
  if (!phone || [...phone.calls.values()].some((c) => !c.ended)) return;
  el.number.value = req.number;
  try {
    await phone.call(req.number, { crmRef: req.crmRef, requestId: req.requestId });
  } catch (err) {
    if (err.code !== 'request_taken') showError(err.code || 'internal', err.message);
  }
}

// ---- incoming calls ----------------------------------------------------------------------------

/** The offer the panel shows in full and Alt+A / Alt+R act on: the oldest one. */
function shownOffer() {
  if (!phone) return null;
  for (const offer of phone.offers.values()) return offer;
  return null;
}

function onOfferEvent() {
  const wasHidden = el.incoming.hidden;
  renderOffers();
  // Bring the panel to the keyboard, unless the operator is typing somewhere (a number, the token).
  const a = document.activeElement;
  const typing = a && (a.tagName === 'INPUT' || a.tagName === 'SELECT' || a.tagName === 'TEXTAREA');
  if (wasHidden && !el.incoming.hidden && !typing) el.incoming.focus();
}

function callerText(offer) {
  return offer.number || 'Unknown number';
}

function renderOffers() {
  const offer = shownOffer();
  const hadFocus = el.incoming.contains(document.activeElement);
  el.incoming.hidden = !offer;
  if (!offer) {
    el.incoming.removeAttribute('data-call-id');
    el.offers.replaceChildren();
    el.offers.hidden = true;
    if (hadFocus) el.number.focus();
    return;
  }
  el.incoming.dataset.callId = offer.id;
  el.callerNumber.textContent = callerText(offer);
  el.callerName.textContent = offer.name;
  el.incomingTarget.textContent = offer.target ? '(' + offer.target + ')' : '';
  renderCard(offer.card);

  // With several offers, all are listed, each with its own buttons.
  el.offers.replaceChildren();
  el.offers.hidden = phone.offers.size < 2;
  if (phone.offers.size >= 2) {
    for (const o of phone.offers.values()) {
      const li = document.createElement('li');
      li.dataset.callId = o.id;
      if (o === offer) li.setAttribute('aria-current', 'true');
      const who = document.createElement('span');
      who.className = 'who';
      who.textContent = callerText(o) + (o.name ? ' ' + o.name : '');
      const answer = document.createElement('button');
      answer.type = 'button';
      answer.className = 'call';
      answer.dataset.offerAnswer = o.id;
      answer.textContent = 'Answer';
      answer.setAttribute('aria-label', 'Answer ' + callerText(o));
      const reject = document.createElement('button');
      reject.type = 'button';
      reject.className = 'hangup';
      reject.dataset.offerReject = o.id;
      reject.textContent = 'Reject';
      reject.setAttribute('aria-label', 'Reject ' + callerText(o));
      li.append(who, answer, reject);
      el.offers.append(li);
    }
  }
  updateButtons();
}

/** @param {import('../sdk/crmphone.js').Card|null} card */
function renderCard(card) {
  const pick = (v) => (typeof v === 'string' ? v : '');
  const title = card ? pick(card.title) || pick(card.name) : '';
  const url = card ? safeCardUrl(card.url) : null;
  // Only http(s) URLs become links; any other (javascript:, data:, relative...) shows the title as plain text.
  if (url) {
    el.cardLink.href = url;
    el.cardLink.textContent = title || 'Open the client card';
    el.cardLink.hidden = false;
    el.cardTitle.hidden = true;
    el.cardTitle.textContent = '';
  } else {
    el.cardLink.removeAttribute('href');
    el.cardLink.textContent = '';
    el.cardLink.hidden = true;
    el.cardTitle.textContent = title;
    el.cardTitle.hidden = !title;
  }
  el.cardFields.replaceChildren();
  const fields = card && card.fields && typeof card.fields === 'object' ? Object.entries(card.fields) : [];
  for (const [k, v] of fields.slice(0, MAX_CARD_FIELDS)) {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v === null || v === undefined ? '' : String(v);
    el.cardFields.append(dt, dd);
  }
}

async function answerOffer(callId) {
  if (!phone || !callId || active()) return;
  clearError();
  try {
    const call = await phone.answer(callId);
    if (!current || current.id !== call.id) startShowing(call);
  } catch (err) {
    showError(err.code || 'internal', err.message,
      err.code === 'unknown_call' ? 'That call was answered elsewhere or the caller hung up.' : '');
  }
  renderCall();
  renderOffers();
}

async function rejectOffer(callId) {
  if (!phone || !callId) return;
  try {
    await phone.reject(callId);
  } catch (err) {
    showError(err.code || 'internal', err.message);
  }
  renderOffers();
}

// ---- presence ----------------------------------------------------------------------------------

function renderPresence() {
  const p = phone ? phone.presence : { state: 'offline', until: null };
  el.presence.dataset.state = p.state;
  if ([...el.presence.options].some((o) => o.value === p.state)) el.presence.value = p.state;
  clearInterval(presenceTimer);
  presenceTimer = null;
  el.presenceUntil.textContent = '';
  if (p.until) {
    const tick = () => {
      // until is server time; the difference to this clock is small next to a wrap-up of seconds.
      const s = Math.max(0, Math.ceil((p.until - Date.now()) / 1000));
      el.presenceUntil.textContent = pad2(Math.floor(s / 60)) + ':' + pad2(s % 60);
    };
    tick();
    presenceTimer = setInterval(tick, 1000);
  }
}

async function changePresence() {
  if (!phone) return;
  const want = el.presence.value;
  try {
    await phone.setPresence(want);
  } catch (err) {
    showError(err.code || 'internal', err.message,
      err.code === 'invalid_state' ? 'Your status cannot change while a call rings or runs.' : '');
  }
  renderPresence(); // on failure, back to what the server says
}

// ---- callback tasks ----------------------------------------------------------------------------

async function refreshTasks() {
  if (!phone || phone.state !== 'online') return;
  const seq = ++tasksSeq;
  let tasks;
  try {
    tasks = await phone.listTasks();
  } catch (err) {
    if (seq === tasksSeq) showError(err.code || 'internal', err.message);
    return;
  }
  if (seq !== tasksSeq) return; // a newer listing is on its way
  renderTasks(tasks);
}

/** @param {import('../sdk/crmphone.js').Task[]} tasks */
function renderTasks(tasks) {
  el.tasks.replaceChildren();
  for (const t of tasks) {
    const li = document.createElement('li');
    li.dataset.taskId = t.id;
    const who = document.createElement('span');
    who.className = 'who';
    const number = document.createElement('span');
    number.className = 'number';
    number.textContent = t.number || '';
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = t.name ? ' ' + t.name : '';
    who.append(number, name);
    const call = document.createElement('button');
    call.type = 'button';
    call.className = 'call';
    call.dataset.taskCall = t.id;
    call.textContent = 'Call';
    call.setAttribute('aria-label', 'Call back ' + (t.number || ''));
    const close = document.createElement('button');
    close.type = 'button';
    close.dataset.taskClose = t.id;
    close.textContent = 'Close';
    close.setAttribute('aria-label', 'Close the callback to ' + (t.number || ''));
    const reason = document.createElement('span');
    reason.className = 'reason';
    reason.textContent = TASK_REASONS[t.reason] || t.reason || '';
    li.append(who, call, close, reason);
    el.tasks.append(li);
    li._task = t;
  }
  el.tasksEmpty.hidden = tasks.length > 0;
  updateButtons();
}

async function closeTask(taskId) {
  if (!phone) return;
  try {
    await phone.closeTask(taskId);
  } catch (err) {
    showError(err.code || 'internal', err.message);
  }
  refreshTasks(); // the server also sends tasks.changed; listing here keeps the page right if that is lost
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

el.call.addEventListener('click', () => dial());
el.answer.addEventListener('click', () => { const o = shownOffer(); if (o) answerOffer(o.id); });
el.reject.addEventListener('click', () => { const o = shownOffer(); if (o) rejectOffer(o.id); });
el.offers.addEventListener('click', (ev) => {
  const a = ev.target.closest('button[data-offer-answer]');
  if (a) answerOffer(a.dataset.offerAnswer);
  const r = ev.target.closest('button[data-offer-reject]');
  if (r) rejectOffer(r.dataset.offerReject);
});
el.presence.addEventListener('change', changePresence);
el.tasks.addEventListener('click', (ev) => {
  const c = ev.target.closest('button[data-task-call]');
  if (c) {
    const li = c.closest('li');
    const task = li && li._task;
    if (task) dial(task.number);
  }
  const x = ev.target.closest('button[data-task-close]');
  if (x) closeTask(x.dataset.taskClose);
});
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
  if (ev.isComposing) return;
  const t = ev.target;
  // Incoming calls: Alt+A / Alt+R anywhere; Enter / Escape when the panel itself has the focus (its
  // buttons handle Enter natively). ev.code, because Alt+letter types other characters on some layouts.
  const offer = shownOffer();
  if (offer && ev.altKey && !ev.ctrlKey && !ev.metaKey && (ev.code === 'KeyA' || ev.code === 'KeyR')) {
    ev.preventDefault();
    if (ev.code === 'KeyA') answerOffer(offer.id);
    else rejectOffer(offer.id);
    return;
  }
  if (offer && t === el.incoming && !ev.altKey && !ev.ctrlKey && !ev.metaKey) {
    if (ev.key === 'Enter') {
      ev.preventDefault();
      answerOffer(offer.id);
      return;
    }
    if (ev.key === 'Escape') {
      ev.preventDefault();
      rejectOffer(offer.id);
      return;
    }
  }
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
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
