// Package ari is crmphone's typed client for the Asterisk REST Interface (ARI) of Asterisk 22:
// REST calls for channels, bridges, recordings, dynamic PJSIP configuration, endpoints and
// device states, plus the events websocket of one Stasis application.
//
// # REST
//
// Every method takes a context first; each request is bounded by the context's deadline or
// Config.RequestTimeout, whichever comes first. Non-2xx answers are *Error (status, method,
// escaped path, Asterisk's message — never credentials or the query string) and match the
// sentinels with errors.Is: ErrBadRequest, ErrUnauthorized, ErrForbidden, ErrNotFound,
// ErrConflict (409), ErrInvalidState (412, 422), ErrNotInStasis (409/422 saying "not in
// (a) Stasis application"), ErrServer (5xx). Network failures and timeouts wrap ErrUnavailable.
// Path parameters are escaped one segment at a time, so a recording named "crm/x" is requested as
// /recordings/stored/crm%2Fx (Asterisk answers 404 for a raw slash).
//
// # Events and dispatch
//
// Run keeps one websocket per client (one Stasis application) to
// /ari/events?app=<app>&subscribeAll=false, reconnecting with capped exponential backoff and
// jitter. State reports Connected/Since/LastError/Reconnects (and Config.OnStateChange is told of
// every change). Messages are decoded into typed events (*StasisStart, *Dial, ...); unknown types
// arrive as *RawEvent, never dropped.
//
// Routing: every event names the channel and bridge ids it concerns (Event.ChannelIDs/BridgeIDs;
// recordings and playbacks are routed by their target_uri). Subscribe(buffer, keys...) receives
// every event of those ids, in order; an event with two ids (ChannelEnteredBridge: channel and
// bridge) reaches both subscribers, once each. SubscribeCatchAll receives the events that concern
// no subscribed id — typically the StasisStart of a new inbound call — and the synthetic
// Reconnected notification. Each subscription is a bounded buffered channel filled without
// blocking by the single reader goroutine, so one slow call never delays the others; a
// subscription whose queue overflows is closed with ErrSubscriptionOverflow (see Subscription).
// After Reconnected the consumer should reconcile with ListChannels and ListBridges: events that
// happened while disconnected are lost.
//
// # Asterisk 22 behaviour encoded here (see shared/asterisk-reference/README.md)
//
//   - POST /channels/create and /channels/externalMedia return BEFORE the channel is in Stasis in
//     a fraction of runs; addChannel sent right after the response fails with 422 "Channel not in
//     Stasis application" (ErrNotInStasis) and adds none of the listed channels. Pattern: choose
//     the channel id yourself, sub := c.Subscribe(0, id) BEFORE the request, then
//     WaitStasisStart(ctx, sub, id), then AddChannel.
//   - Originate (POST /channels with app) delivers StasisStart only after the far end answers;
//     busy/no-answer give ChannelDestroyed without StasisStart. create+dial enters Stasis at once
//     (state Down) and the channel can be bridged while ringing, so early media and Asterisk's
//     ringback reach the bridge.
//   - Busy (486) and dial timeout produce no final Dial event (no BUSY/NOANSWER): look at the
//     ChannelHangupRequest/ChannelDestroyed cause (17 busy, 19 no answer).
//   - A channel hung up right after creation may get only ChannelHangupRequest + ChannelDestroyed
//     (no StasisStart/StasisEnd); WaitStasisStart reports ErrChannelGone then.
//   - Channels that entered Stasis from the dialplan get StasisEnd but no ChannelDestroyed.
//   - BridgeDestroyed comes only from DELETE /bridges/{id}; bridges outlive their channels.
//   - externalMedia returns channelvars UNICASTRTP_LOCAL_ADDRESS/PORT (Channel.LocalRTPAddr);
//     slin16 (PT 118) sent TO Asterisk is silently dropped — use ulaw, alaw, g722 or slin.
//   - externalMedia for an app with no websocket returns 200 and the channel dies at once.
//   - Dynamic config: the config class is "res_pjsip" for auth, aor, endpoint AND registration;
//     PUT on a live registration does not change it (delete and re-create); no ARI event reports
//     registration state.
package ari
