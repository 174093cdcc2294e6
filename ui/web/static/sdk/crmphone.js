// crmphone JS SDK: lets any CRM page log an operator into crmphone with a CRM-minted token and make calls
// through the browser (WebRTC audio, websocket signalling; protocol: ui/signaling/PROTOCOL.md).
// Dependency-free ES module: import { connect } from "https://crmphone.example.com/sdk/crmphone.js".

/**
 * @typedef {{urls: string|string[], username?: string, credential?: string}} IceServer
 *
 * @typedef {object} Operator
 * @property {string} id
 * @property {string} display_name
 * @property {string} [extension]
 * @property {string} [sip_identity]
 * @property {string[]} [dial_patterns]
 *
 * @typedef {'connecting'|'online'|'reconnecting'|'offline'} ConnectionState
 * @typedef {'dialing'|'ringing'|'early_media'|'answered'|'ended'} CallStateName
 *
 * @typedef {object} CallStateData the data of a call.state event
 * @property {string} call_id
 * @property {string} [direction] 'outbound' | 'inbound'
 * @property {string} [number]
 * @property {string} [crm_ref]
 * @property {CallStateName} state
 * @property {string} [cause] set when state is 'ended'
 * @property {boolean} [muted]
 * @property {boolean} [held]
 * @property {number} [at] server time, unix ms
 *
 * @typedef {function(string, string, object=): void} LogFunc called as log(level, message, details)
 *
 * @typedef {object} ConnectOptions
 * @property {string} [url] ws(s) URL of crmphone's /ws; default: the origin this module was loaded from + /ws
 * @property {string} [token] a CRM-minted login token (single use)
 * @property {function(): Promise<string>} [getToken] returns a fresh token; needed to reconnect
 * @property {IceServer[]} [iceServers] overrides the login result's ice_servers
 * @property {string} [audioInput] deviceId of the microphone to use
 * @property {LogFunc|Console} [log] a log function, or a console-like object
 *
 * @typedef {object} DeviceList
 * @property {{deviceId: string, label: string}[]} inputs
 * @property {{deviceId: string, label: string}[]} outputs
 *
 * @typedef {object} Card the CRM's client card for a caller (from the CRM lookup; may arrive after the offer)
 * @property {string} [url] the client's page in the CRM; only link it when it is http(s) (see safeCardUrl)
 * @property {string} [title]
 * @property {string} [name] the client's name as the CRM knows it (the page shows it when there is no title)
 * @property {Object<string, string>} [fields] a few label → value pairs to show
 *
 * @typedef {object} OfferData the data of a call.offer event
 * @property {string} call_id
 * @property {string} [number] the caller's number: untrusted, show with textContent
 * @property {string} [name] the caller's name: untrusted, show with textContent
 * @property {string} [target] the routing target (queue) the call came in for
 * @property {number} [offered_at] server time, unix ms
 * @property {Card} [card] absent until the CRM lookup has answered (then a 'card' event follows)
 *
 * @typedef {'answered_elsewhere'|'caller_hung_up'|'timeout'|'rejected'|'answered'|'gone'|'disconnected'} WithdrawReason
 *   The first four come from the server; the SDK adds 'answered' (this Phone answered it), 'gone' (answer got
 *   unknown_call: someone else was faster) and 'disconnected' (the socket closed; offers belong to it).
 *
 * @typedef {'available'|'away'|'ringing'|'on_call'|'wrap_up'|'offline'} PresenceState
 *   'offline' is the SDK's own: not connected.
 *
 * @typedef {object} Presence
 * @property {PresenceState} state
 * @property {number|null} until server time (unix ms) the state ends by itself (wrap_up), else null
 *
 * @typedef {object} Task a callback task: an inbound call nobody answered
 * @property {string} id
 * @property {string} number untrusted, show with textContent
 * @property {string} [name] untrusted, show with textContent
 * @property {string} [reason] e.g. 'timeout', 'caller_hung_up'
 * @property {string} [target]
 * @property {string} [call_id] the unanswered call
 * @property {number|string} [created_at] when the call was missed (unix ms, or an RFC 3339 string from servers
 *   that send times that way)
 */

/** The protocol version this SDK speaks. */
export const PROTOCOL_VERSION = 1;
/** How long a request waits for its response. */
export const REQUEST_TIMEOUT_MS = 10000;
/** How long the SDK waits for ICE gathering before sending the offer with what it has. */
export const ICE_GATHERING_TIMEOUT_MS = 2000;

const NUMBER_RE = /^\+?[0-9*#]{1,32}$/;
const SETTABLE_PRESENCE = new Set(['available', 'away']);
const DTMF_RE = /^[0-9*#A-D]{1,32}$/;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30000;
// Close codes after which reconnecting cannot help: normal close, login rejected, protocol violation.
const NO_RECONNECT_CODES = new Set([1000, 4400, 4401]);

/** The same rule as the server: digits, an optional leading +, * and #, at most 32 characters. */
export function isValidNumber(number) {
  return typeof number === 'string' && NUMBER_RE.test(number);
}

/** DTMF digits accepted by the server: 0-9 * # A-D, at most 32. */
export function isValidDtmf(digits) {
  return typeof digits === 'string' && DTMF_RE.test(digits);
}

/**
 * The card's URL if it is safe to put in a link (absolute http: or https:), normalised; otherwise null.
 * A CRM card URL is data from a lookup, so javascript:, data: and the like must never become a link.
 * @param {unknown} url @returns {string|null}
 */
export function safeCardUrl(url) {
  if (typeof url !== 'string' || url === '') return null;
  let u;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
}

/** An error with a protocol (or SDK) code, e.g. 'expired', 'invalid_number', 'timeout', 'token_needed'. */
export class CrmPhoneError extends Error {
  /** @param {string} code @param {string} message */
  constructor(code, message) {
    super(message || code);
    this.name = 'CrmPhoneError';
    /** @type {string} */
    this.code = code;
  }
}

function randomId() {
  const b = new Uint8Array(6);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function defaultUrl() {
  const u = new URL('/ws', import.meta.url);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}

function makeLogger(log) {
  if (typeof log === 'function') return log;
  if (log && typeof log === 'object') {
    return (level, msg, details) => {
      const f = log[level] || log.log;
      if (typeof f === 'function') f.call(log, '[crmphone] ' + msg, details === undefined ? '' : details);
    };
  }
  return () => {};
}

/** One call; mirrors the server's call.state events. Dispatches 'state' (detail: CallStateData). */
export class Call extends EventTarget {
  /** @param {Phone} phone @param {string} id */
  constructor(phone, id) {
    super();
    this._phone = phone;
    /** @type {string} */ this.id = id;
    /** @type {string} */ this.direction = 'outbound';
    /** @type {string} */ this.number = '';
    /** @type {string} */ this.crmRef = '';
    /** @type {CallStateName|''} */ this.state = '';
    /** @type {string} */ this.cause = '';
    /** @type {boolean} */ this.muted = false;
    /** @type {boolean} */ this.held = false;
    /** @type {number|null} local time (performance.now()) the call was answered, for timers */
    this.answeredAt = null;
    /** @type {CallStateData|null} */ this.data = null;
  }

  /** @param {CallStateData} data */
  _apply(data) {
    this.data = data;
    if (data.direction) this.direction = data.direction;
    if (data.number !== undefined) this.number = data.number;
    if (data.crm_ref !== undefined) this.crmRef = data.crm_ref;
    if (data.state) this.state = data.state;
    if (data.cause !== undefined) this.cause = data.cause;
    if (typeof data.muted === 'boolean') this.muted = data.muted;
    if (typeof data.held === 'boolean') this.held = data.held;
    if (this.state === 'answered' && this.answeredAt === null) this.answeredAt = performance.now();
    this.dispatchEvent(new CustomEvent('state', { detail: data }));
  }

  /** True once the call has ended. */
  get ended() { return this.state === 'ended'; }
  hangup() { return this._phone.hangup(this.id); }
  /** @param {boolean} muted */
  mute(muted = true) { return this._phone.mute(this.id, muted); }
  /** @param {boolean} held */
  hold(held = true) { return this._phone.hold(this.id, held); }
  /** @param {string} digits */
  dtmf(digits) { return this._phone.dtmf(this.id, digits); }
}

/** An inbound call offered to this operator, until it is answered, rejected or withdrawn. */
export class Offer {
  /** @param {Phone} phone @param {OfferData} data */
  constructor(phone, data) {
    this._phone = phone;
    /** @type {string} */ this.id = data.call_id;
    /** @type {string} untrusted */ this.number = typeof data.number === 'string' ? data.number : '';
    /** @type {string} untrusted */ this.name = typeof data.name === 'string' ? data.name : '';
    /** @type {string} */ this.target = typeof data.target === 'string' ? data.target : '';
    /** @type {number} server time, unix ms */ this.offeredAt = typeof data.offered_at === 'number' ? data.offered_at : 0;
    /** @type {Card|null} */ this.card = data.card && typeof data.card === 'object' ? data.card : null;
    /** @type {OfferData} */ this.data = data;
  }

  /** Answers the offer; see Phone.answer. @returns {Promise<Call>} */
  answer() { return this._phone.answer(this.id); }
  /** Rejects the offer; see Phone.reject. */
  reject() { return this._phone.reject(this.id); }
}

/**
 * A logged-in softphone. Events:
 * - 'state' (detail {state, previous}), 'call' (detail: CallStateData), 'media' (detail: {state}),
 *   'error' (detail: {code, message});
 * - 'offer' (detail: OfferData plus `offer`, the Offer with answer()/reject());
 * - 'card' (detail: {call_id, card, offer}) when the CRM card of an offer arrives after it;
 * - 'offer_withdrawn' (detail: {call_id, reason: WithdrawReason, offer}), exactly once per offer;
 * - 'presence' (detail: Presence);
 * - 'tasks_changed' (detail: {}): the callback tasks changed, call listTasks() again.
 */
export class Phone extends EventTarget {
  /** @param {ConnectOptions} opts */
  constructor(opts) {
    super();
    this._opts = opts;
    this._url = opts.url || defaultUrl();
    this._log = makeLogger(opts.log);
    this._idPrefix = randomId();
    this._seq = 0;
    /** @type {Map<string, {resolve: Function, reject: Function, timer: any, method: string}>} */
    this._pending = new Map();
    /** @type {WebSocket|null} */ this._ws = null;
    /** @type {RTCPeerConnection|null} */ this._pc = null;
    /** @type {RTCRtpSender|null} */ this._sender = null;
    /** @type {MediaStream|null} */ this._mic = null;
    this._closed = false;
    this._attempt = 0;
    this._reconnectTimer = null;
    this._mediaRestarts = 0;
    this._inputDevice = opts.audioInput || '';
    /** @type {ConnectionState} */ this.state = 'connecting';
    /** @type {Operator|null} */ this.operator = null;
    /** @type {string} */ this.sessionId = '';
    /** @type {number} */ this.expiresAt = 0;
    /** @type {string} the server's media.state ('connected'|'disconnected'|'failed'), '' before any */
    this.mediaState = '';
    /** @type {Map<string, Call>} calls not yet ended, by id */
    this.calls = new Map();
    /** @type {Map<string, Offer>} inbound calls offered and still open, by call id, oldest first */
    this.offers = new Map();
    /** @type {Presence} */
    this.presence = { state: 'offline', until: null };
    /** The element playing the far end's audio; pages and tests may attach it to the DOM or analyse it. */
    this.audioElement = typeof Audio === 'function' ? new Audio() : document.createElement('audio');
    this.audioElement.autoplay = true;
    this.audioElement.setAttribute('playsinline', '');
  }

  /** The current RTCPeerConnection (null before media is set up). */
  get peerConnection() { return this._pc; }

  _setState(state) {
    if (this.state === state) return;
    const previous = this.state;
    this.state = state;
    this._log('info', 'connection ' + state);
    this.dispatchEvent(new CustomEvent('state', { detail: { state, previous } }));
  }

  _emitError(code, message) {
    this._log('warn', 'error ' + code, message);
    this.dispatchEvent(new CustomEvent('error', { detail: { code, message: message || code } }));
  }

  // ---- websocket ----------------------------------------------------------------------------------

  /** Opens the socket and logs in. Resolves with the login result, rejects with CrmPhoneError. */
  _open(token) {
    return new Promise((resolve, reject) => {
      let opened = false;
      let settled = false;
      const ws = new WebSocket(this._url);
      this._ws = ws;
      ws.onopen = () => {
        opened = true;
        this._loginError = null;
        this._request('login', { token }).then((res) => {
          settled = true;
          resolve(res);
        }, (err) => {
          settled = true;
          this._loginError = err;
          reject(err);
        });
      };
      ws.onmessage = (ev) => this._onMessage(ev.data);
      ws.onclose = (ev) => {
        if (this._ws === ws) this._ws = null;
        this._failPending(new CrmPhoneError('connection_lost', 'the connection to the phone server was lost'));
        if (!settled) {
          settled = true;
          reject(opened
            ? new CrmPhoneError('connection_lost', 'the connection closed during login')
            : new CrmPhoneError('connect_failed', 'could not reach the phone server'));
          return;
        }
        this._onClose(ev.code, ev.reason);
      };
      ws.onerror = () => { /* onclose follows and carries the code */ };
    });
  }

  _onMessage(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      this._log('warn', 'unreadable message from server');
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    if (typeof msg.event === 'string') {
      this._onEvent(msg.event, msg.data || {});
      return;
    }
    const p = typeof msg.id === 'string' ? this._pending.get(msg.id) : undefined;
    if (!p) {
      // Errors without a request (rate_limited, message_too_big, login_timeout) come with an empty id.
      if (msg.error) this._emitError(msg.error.code, msg.error.message);
      return;
    }
    this._pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.error) p.reject(new CrmPhoneError(msg.error.code, msg.error.message));
    else p.resolve(msg.result || {});
  }

  _onEvent(name, data) {
    if (name === 'call.state') {
      this._applyCallState(data);
    } else if (name === 'media.state') {
      this.mediaState = data.state || '';
      this.dispatchEvent(new CustomEvent('media', { detail: data }));
    } else if (name === 'call.offer') {
      this._addOffer(data);
    } else if (name === 'call.card') {
      this._applyCard(data);
    } else if (name === 'call.offer_withdrawn') {
      if (typeof data.call_id === 'string') this._withdraw(data.call_id, String(data.reason || ''));
    } else if (name === 'presence') {
      this._setPresence(data.state, data.until);
    } else if (name === 'tasks.changed') {
      this.dispatchEvent(new CustomEvent('tasks_changed', { detail: {} }));
    } else if (name === 'call.request') {
      // Click-to-call: the CRM asks this operator to dial. Every tab hears it;
      // the server places only the first call carrying the request id.
      this.dispatchEvent(new CustomEvent('call_request', { detail: {
        requestId: String(data.request_id || ''), number: String(data.number || ''), crmRef: String(data.crm_ref || '') } }));
    } else {
      this._log('debug', 'unknown event ' + name);
    }
  }

  /** @param {CallStateData} data */
  _applyCallState(data) {
    if (!data || typeof data.call_id !== 'string') return;
    let call = this.calls.get(data.call_id);
    if (!call) {
      if (data.state === 'ended' && this._endedIds && this._endedIds.has(data.call_id)) return;
      call = new Call(this, data.call_id);
      this.calls.set(call.id, call);
    }
    call._apply(data);
    if (call.ended) {
      this.calls.delete(call.id);
      (this._endedIds ||= new Set()).add(call.id);
    }
    this.dispatchEvent(new CustomEvent('call', { detail: data }));
  }

  /** @param {OfferData} data */
  _addOffer(data) {
    if (!data || typeof data.call_id !== 'string' || data.call_id === '') return;
    if (this.offers.has(data.call_id)) return; // a repeated offer changes nothing
    const offer = new Offer(this, data);
    this.offers.set(offer.id, offer);
    this.dispatchEvent(new CustomEvent('offer', { detail: { ...data, offer } }));
  }

  _applyCard(data) {
    const offer = data && typeof data.call_id === 'string' ? this.offers.get(data.call_id) : undefined;
    if (!offer || !data.card || typeof data.card !== 'object') return;
    offer.card = data.card;
    offer.data = { ...offer.data, card: data.card };
    this.dispatchEvent(new CustomEvent('card', { detail: { call_id: offer.id, card: data.card, offer } }));
  }

  /** Forgets an offer and tells listeners, once: later withdrawals of the same call are ignored. */
  _withdraw(callId, reason) {
    const offer = this.offers.get(callId);
    if (!offer) return;
    this.offers.delete(callId);
    this.dispatchEvent(new CustomEvent('offer_withdrawn', { detail: { call_id: callId, reason, offer } }));
  }

  _setPresence(state, until) {
    if (typeof state !== 'string' || state === '') return;
    const u = typeof until === 'number' ? until : null;
    if (this.presence.state === state && this.presence.until === u) return;
    this.presence = { state, until: u };
    this.dispatchEvent(new CustomEvent('presence', { detail: { ...this.presence } }));
  }

  _request(method, params) {
    const ws = this._ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new CrmPhoneError('not_connected', 'not connected to the phone server'));
    }
    const id = this._idPrefix + '-' + (++this._seq);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this._pending.delete(id)) {
          reject(new CrmPhoneError('timeout', 'the phone server did not answer ' + method + ' in time'));
        }
      }, REQUEST_TIMEOUT_MS);
      this._pending.set(id, { resolve, reject, timer, method });
      const req = { v: PROTOCOL_VERSION, id, method };
      if (params !== undefined) req.params = params;
      ws.send(JSON.stringify(req));
      this._log('debug', 'sent ' + method, method === 'login' ? undefined : { id });
    });
  }

  _failPending(err) {
    for (const [id, p] of this._pending) {
      clearTimeout(p.timer);
      this._pending.delete(id);
      p.reject(err);
    }
  }

  // Forgets the current socket without letting its close trigger reconnect logic.
  _dropSocket() {
    const ws = this._ws;
    this._ws = null;
    if (!ws) return;
    ws.onclose = ws.onmessage = ws.onopen = null;
    ws.close(1000);
  }

  _onClose(code, reason) {
    this._log('info', 'websocket closed', { code, reason });
    this._endCallsLocally();
    this._dropSessionState();
    this._teardownMedia();
    if (this._closed) return;
    if (code === 4401) {
      const e = this._loginError;
      this._emitError(e ? e.code : 'login_failed', e ? e.message : 'the phone server rejected the login; a new token is needed');
      this._setState('offline');
      return;
    }
    if (NO_RECONNECT_CODES.has(code)) {
      this._setState('offline');
      return;
    }
    this._scheduleReconnect();
  }

  // Offers and presence belong to the websocket's session too.
  _dropSessionState() {
    for (const id of [...this.offers.keys()]) this._withdraw(id, 'disconnected');
    this._setPresence('offline', null);
  }

  // Calls belong to the websocket's session: when it is gone, so are they.
  _endCallsLocally() {
    for (const call of [...this.calls.values()]) {
      this._applyCallState({ ...(call.data || {}), call_id: call.id, state: 'ended', cause: 'failed' });
    }
  }

  _scheduleReconnect() {
    if (this._closed) return;
    if (typeof this._opts.getToken !== 'function') {
      this._emitError('token_needed', 'the connection was lost and reconnecting needs a new token (no getToken given)');
      this._setState('offline');
      return;
    }
    this._setState('reconnecting');
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this._attempt);
    const delay = base / 2 + Math.random() * base / 2; // jitter: spread reconnecting pages apart
    this._attempt++;
    this._log('info', 'reconnecting in ' + Math.round(delay) + ' ms');
    this._reconnectTimer = setTimeout(() => this._reconnect(), delay);
  }

  async _reconnect() {
    this._reconnectTimer = null;
    if (this._closed) return;
    let token;
    try {
      token = await this._opts.getToken();
    } catch (err) {
      this._log('warn', 'getToken failed', String(err));
    }
    if (this._closed) return;
    if (!token) {
      this._emitError('token_needed', 'could not get a new token to reconnect');
      this._scheduleReconnect();
      return;
    }
    try {
      await this._login(token);
    } catch (err) {
      if (this._closed) return;
      const code = err instanceof CrmPhoneError ? err.code : 'internal';
      if (code === 'connect_failed' || code === 'connection_lost' || code === 'timeout') {
        this._dropSocket();
        this._scheduleReconnect();
      }
      // Otherwise the token was rejected: the server closes with 4401 and _onClose reports the code.
      return;
    }
    this._attempt = 0;
    this._setupMediaReportingErrors();
  }

  async _login(token) {
    const res = await this._open(token);
    this.operator = res.operator || null;
    this.sessionId = res.session_id || '';
    this.expiresAt = res.expires_at || 0;
    this._iceServers = this._opts.iceServers || res.ice_servers || [];
    // A new login starts available (PROTOCOL.md); a presence event corrects it if the server knows better.
    this._setPresence(res.presence && res.presence.state ? res.presence.state : 'available',
      res.presence ? res.presence.until : null);
    this._setState('online');
    return res;
  }

  // ---- media --------------------------------------------------------------------------------------

  async _getMic() {
    if (this._mic && this._mic.getAudioTracks().some((t) => t.readyState === 'live')) return this._mic;
    const audio = this._inputDevice ? { deviceId: { exact: this._inputDevice } } : true;
    try {
      this._mic = await navigator.mediaDevices.getUserMedia({ audio });
    } catch (err) {
      const name = err && err.name;
      if (name === 'NotAllowedError' || name === 'SecurityError') {
        throw new CrmPhoneError('microphone_denied', 'microphone access was denied');
      }
      if (name === 'NotFoundError' || name === 'OverconstrainedError') {
        throw new CrmPhoneError('microphone_unavailable', 'no usable microphone was found');
      }
      throw new CrmPhoneError('microphone_unavailable', 'the microphone could not be opened: ' + (err && err.message));
    }
    return this._mic;
  }

  /** Builds a fresh PeerConnection on the current socket and exchanges offer/answer. */
  async _setupMedia() {
    const mic = await this._getMic();
    this._teardownMedia(false);
    const pc = new RTCPeerConnection({ iceServers: this._iceServers || [] });
    this._pc = pc;
    const track = mic.getAudioTracks()[0];
    const tr = pc.addTransceiver(track, { direction: 'sendrecv', streams: [mic] });
    this._sender = tr.sender;
    pc.ontrack = (ev) => {
      const stream = ev.streams && ev.streams[0] ? ev.streams[0] : new MediaStream([ev.track]);
      this.audioElement.srcObject = stream;
      const played = this.audioElement.play();
      if (played && played.catch) played.catch((err) => this._log('warn', 'audio playback blocked', String(err)));
    };
    pc.onconnectionstatechange = () => {
      if (this._pc !== pc) return;
      this._log('info', 'peer connection ' + pc.connectionState);
      if (pc.connectionState === 'connected') this._mediaRestarts = 0;
      if (pc.connectionState === 'failed' && this.state === 'online' && this._mediaRestarts < 3) {
        // The protocol allows a new offer on the same socket to replace the failed media session.
        this._mediaRestarts++;
        this._setupMediaReportingErrors();
      }
    };
    await pc.setLocalDescription(await pc.createOffer());
    await waitIceGathering(pc, ICE_GATHERING_TIMEOUT_MS);
    if (this._pc !== pc) throw new CrmPhoneError('media_failed', 'the media setup was superseded');
    const res = await this._request('media.offer', { sdp: pc.localDescription.sdp });
    if (this._pc !== pc) throw new CrmPhoneError('media_failed', 'the media setup was superseded');
    await pc.setRemoteDescription({ type: 'answer', sdp: res.sdp });
  }

  _setupMediaReportingErrors() {
    return this._setupMedia().catch((err) => {
      const code = err instanceof CrmPhoneError ? err.code : 'media_failed';
      this._emitError(code, err.message);
    });
  }

  _teardownMedia(stopMic = true) {
    if (this._pc) {
      const pc = this._pc;
      this._pc = null;
      this._sender = null;
      pc.ontrack = pc.onconnectionstatechange = null;
      pc.close();
    }
    if (stopMic && this._closed && this._mic) {
      this._mic.getTracks().forEach((t) => t.stop());
      this._mic = null;
    }
  }

  // ---- public API ---------------------------------------------------------------------------------

  /**
   * Starts a call. Resolves with the Call once the server has accepted it; progress follows as 'call'
   * events and on the Call. Rejects with CrmPhoneError ('invalid_number' before anything is sent).
   * For a click-to-call, pass the call_request event's requestId: the server then dials the number the CRM
   * asked for, and only for the first tab to answer the request ('request_taken' for the others).
   * @param {string} number @param {{crmRef?: string, requestId?: string}} [opts] @returns {Promise<Call>}
   */
  async call(number, opts = {}) {
    number = typeof number === 'string' ? number.trim() : '';
    if (!isValidNumber(number)) {
      throw new CrmPhoneError('invalid_number', 'a number is digits with an optional leading +, * and #, at most 32 characters');
    }
    const params = { number };
    if (opts.crmRef) params.crm_ref = String(opts.crmRef);
    if (opts.requestId) params.request_id = String(opts.requestId);
    const res = await this._request('call', params);
    let call = this.calls.get(res.call_id);
    if (!call) {
      call = new Call(this, res.call_id);
      call.number = number;
      call.crmRef = params.crm_ref || '';
      if (!(this._endedIds && this._endedIds.has(res.call_id))) this.calls.set(call.id, call);
    }
    return call;
  }

  /** @param {string} callId */
  async hangup(callId) {
    await this._request('hangup', { call_id: callId });
  }

  /** @param {string} callId @param {boolean} muted */
  async mute(callId, muted) {
    await this._request('mute', { call_id: callId, muted: !!muted });
    this._updateFlag(callId, 'muted', !!muted);
  }

  /** @param {string} callId @param {boolean} held */
  async hold(callId, held) {
    await this._request('hold', { call_id: callId, held: !!held });
    this._updateFlag(callId, 'held', !!held);
  }

  // The server answers mute/hold; a later call.state carries the flags too, but the UI needs them now.
  _updateFlag(callId, flag, value) {
    const call = this.calls.get(callId);
    if (!call || call[flag] === value) return;
    this._applyCallState({ ...(call.data || { call_id: callId, state: call.state }), [flag]: value });
  }

  /** @param {string} callId @param {string} digits 0-9 * # A-D, at most 32 */
  async dtmf(callId, digits) {
    if (!isValidDtmf(digits)) throw new CrmPhoneError('bad_request', 'DTMF digits are 0-9, *, #, A-D (at most 32)');
    await this._request('dtmf', { call_id: callId, digits });
  }

  /**
   * Answers an offered inbound call on this tab's media path. Resolves with the Call, which then gets
   * 'state' events like an outbound one (direction 'inbound'); the offer is withdrawn with reason 'answered'.
   * Rejects with CrmPhoneError: 'unknown_call' (already answered elsewhere or gone; the offer is withdrawn
   * with reason 'gone'), 'no_media', 'busy_here'.
   * @param {string} callId @returns {Promise<Call>}
   */
  async answer(callId) {
    const offer = this.offers.get(callId);
    let res;
    try {
      res = await this._request('answer', { call_id: callId });
    } catch (err) {
      if (err instanceof CrmPhoneError && err.code === 'unknown_call') this._withdraw(callId, 'gone');
      throw err;
    }
    const id = typeof res.call_id === 'string' && res.call_id ? res.call_id : callId;
    let call = this.calls.get(id); // call.state may have come before the response
    if (!call) {
      call = new Call(this, id);
      call.direction = 'inbound';
      if (offer) call.number = offer.number;
      if (!(this._endedIds && this._endedIds.has(id))) this.calls.set(id, call);
    }
    this._withdraw(callId, 'answered');
    return call;
  }

  /**
   * Rejects an offered call: this operator is not offered it again (others may be). The offer is withdrawn
   * with reason 'rejected'.
   * @param {string} callId
   */
  async reject(callId) {
    try {
      await this._request('reject', { call_id: callId });
    } catch (err) {
      if (err instanceof CrmPhoneError && err.code === 'unknown_call') this._withdraw(callId, 'gone');
      throw err;
    }
    this._withdraw(callId, 'rejected');
  }

  /**
   * Sets the operator's presence on every tab: 'available' (offered calls) or 'away'. The server's
   * own states (ringing, on_call, wrap_up) arrive as 'presence' events.
   * @param {'available'|'away'} state
   */
  async setPresence(state) {
    if (!SETTABLE_PRESENCE.has(state)) throw new CrmPhoneError('bad_request', "presence is 'available' or 'away'");
    const res = await this._request('presence.set', { state });
    // The result carries the state the server settled on; a 'presence' event follows on every tab anyway.
    this._setPresence(res && typeof res.state === 'string' && res.state ? res.state : state, null);
  }

  /** The open callback tasks of this operator's targets, oldest first. @returns {Promise<Task[]>} */
  async listTasks() {
    const res = await this._request('tasks.list', {});
    return Array.isArray(res.tasks) ? res.tasks.filter((t) => t && typeof t.id === 'string') : [];
  }

  /** Closes a callback task by hand. @param {string} taskId */
  async closeTask(taskId) {
    if (typeof taskId !== 'string' || taskId === '') throw new CrmPhoneError('bad_request', 'a task id is needed');
    await this._request('tasks.close', { task_id: taskId });
  }

  /** Switches the microphone without renegotiation (replaceTrack). @param {string} deviceId */
  async setInputDevice(deviceId) {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: deviceId ? { deviceId: { exact: deviceId } } : true });
    } catch (err) {
      throw new CrmPhoneError('microphone_unavailable', 'the selected microphone could not be opened: ' + (err && err.message));
    }
    const track = stream.getAudioTracks()[0];
    if (this._sender) await this._sender.replaceTrack(track);
    const old = this._mic;
    this._mic = stream;
    this._inputDevice = deviceId || '';
    if (old) old.getTracks().forEach((t) => t.stop());
  }

  /** Plays the far end on another output where the browser supports setSinkId. @param {string} deviceId */
  async setOutputDevice(deviceId) {
    if (typeof this.audioElement.setSinkId !== 'function') {
      throw new CrmPhoneError('unsupported', 'this browser cannot choose the audio output');
    }
    await this.audioElement.setSinkId(deviceId || '');
  }

  /** @returns {Promise<DeviceList>} */
  async listDevices() {
    const all = await navigator.mediaDevices.enumerateDevices();
    const pick = (kind) => all.filter((d) => d.kind === kind).map((d, i) => ({
      deviceId: d.deviceId,
      label: d.label || (kind === 'audioinput' ? 'Microphone ' : 'Speaker ') + (i + 1),
    }));
    return { inputs: pick('audioinput'), outputs: pick('audiooutput') };
  }

  /** Logs out and releases the microphone and the connection. */
  close() {
    if (this._closed) return;
    this._closed = true;
    clearTimeout(this._reconnectTimer);
    this._endCallsLocally();
    this._dropSessionState();
    this._teardownMedia();
    if (this._mic) {
      this._mic.getTracks().forEach((t) => t.stop());
      this._mic = null;
    }
    this._dropSocket();
    this._failPending(new CrmPhoneError('closed', 'the phone was closed'));
    this.audioElement.srcObject = null;
    this._setState('offline');
  }
}

function waitIceGathering(pc, timeoutMs) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === 'complete') done(); };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

/**
 * Logs in with a CRM token and sets up the audio path. Resolves with the Phone once logged in
 * (media problems afterwards are reported as 'error' events); rejects with a CrmPhoneError whose
 * code is the login rejection ('expired', 'replayed', ...) or 'connect_failed' / 'token_needed'.
 * @param {ConnectOptions} opts
 * @returns {Promise<Phone>}
 */
export async function connect(opts = {}) {
  const phone = new Phone(opts);
  let token = opts.token;
  if (!token && typeof opts.getToken === 'function') token = await opts.getToken();
  if (!token) {
    phone._setState('offline');
    throw new CrmPhoneError('token_needed', 'a login token is needed');
  }
  try {
    await phone._login(token);
  } catch (err) {
    phone._closed = true;
    phone._dropSocket();
    phone._setState('offline');
    throw err instanceof CrmPhoneError ? err : new CrmPhoneError('internal', String(err));
  }
  try {
    await phone._setupMedia();
  } catch (err) {
    const code = err instanceof CrmPhoneError ? err.code : 'media_failed';
    // Deliver after the caller has had the chance to add listeners.
    setTimeout(() => phone._emitError(code, err.message), 0);
  }
  return phone;
}
