// Package webrtc terminates the operators' browser WebRTC audio with pion and relays it, as plain RTP,
// to and from Asterisk externalMedia (UnicastRTP) channels.
//
// # Media design
//
// Warm path. Each operator login gets one Session: one PeerConnection with one sendrecv audio
// transceiver, negotiated once (Engine.NewSession, then Session.Answer with the browser's offer). ICE,
// DTLS and SRTP are set up at login and kept for every call of that login, so a call starts without any
// negotiation: Session.AttachCall only opens a local UDP socket for the new externalMedia channel. When
// the browser reconnects (page reload, network change, ICE failure) the caller closes the session and
// creates a new one with the browser's new offer; Answer is accepted once per session and there is no
// in-place renegotiation.
//
// Single UDP port. All sessions share one UDP port (pion ICE UDP mux): one firewall rule, and
// candidate gathering is instant, so Answer returns a complete answer and no trickle ICE is needed.
// Behind a 1:1 NAT, Config.NAT1To1IPs replaces the announced address; Config.ICELite suits a server with
// a public address. The engine itself uses no STUN/TURN; Config.ICEServers are only handed to the browser
// (Engine.ICEServersForBrowser).
//
// Codec without transcoding. The answer carries exactly one codec, chosen from the offer in this order:
// G722 (wideband), PCMU, PCMA. Asterisk's externalMedia channel is created with the matching format
// (Codec.ExternalMediaFormat: "g722", "ulaw", "alaw") and the payload bytes are relayed untouched in
// both directions; only RTP headers are rewritten. Towards Asterisk the static payload types 0/8/9 are
// used: a UnicastRTP channel has no SDP and ignores dynamic payload types.
//
// Why headers are rewritten. Towards Asterisk every leg is a stream of its own (random SSRC, continuous
// sequence numbers and timestamps from the browser's numbering, marker on the first packet) sent from
// the socket whose address Asterisk was given: Asterisk's strict RTP locks on the first source address,
// so nothing else may send there. Towards the browser the session keeps ONE stream for its whole life
// (one SSRC, pion's sender SSRC): Asterisk sends nothing while the other party is silent and every call
// is a new UnicastRTP channel with a new SSRC, sequence and timestamp base. The relay therefore renumbers
// the packets so that sequence numbers stay continuous across calls and silences, advances timestamps by
// the wall-clock time of a silence (> 60 ms without packets) and sets the marker bit at each talk spurt,
// which is what the browser's jitter buffer expects. Packets reaching the leg's socket from any address
// other than Asterisk's are dropped and counted (LegStats.ToBrowser.DroppedWrongSource).
//
// Mute. Leg.SetMuted(true) replaces the operator's payload with the codec's silence (0xFF for PCMU, 0xD5
// for PCMA, a G.722 frame of 0xFC) but keeps one packet per 20 ms, so strict RTP, NAT bindings and RTP
// timeouts on the Asterisk side keep seeing a live stream while nothing of the operator's voice leaves.
//
// The per-packet path allocates nothing in our code (in-place header rewrite, reused buffers,
// netip.AddrPort socket calls); see the package benchmarks.
//
// # What the controller does for a call
//
//  1. At login: s, _ := engine.NewSession(ctx, loginID); answer, _ := s.Answer(ctx, offerSDP); send the
//     answer to the browser. Watch s.OnStateChange for StateFailed/StateClosed to end the login's media.
//  2. Per call: leg, _ := s.AttachCall(ctx) (one leg at a time; ErrLegActive otherwise).
//  3. POST /channels/externalMedia with external_host=leg.LocalAddr().String() and
//     format=s.Codec().ExternalMediaFormat (encapsulation rtp, transport udp).
//  4. From the response's channelvars: leg.SetRemote(&net.UDPAddr{IP: UNICASTRTP_LOCAL_ADDRESS,
//     Port: UNICASTRTP_LOCAL_PORT}) before bridging the channel (Asterisk starts sending 5-15 ms after
//     addChannel; packets arriving before SetRemote are dropped).
//  5. leg.SetMuted for the operator's mute button; leg.Stats() for quality figures.
//  6. At hangup: leg.Close() (after or before deleting the externalMedia channel); the session stays
//     warm for the next call. At logout: s.Close().
//
// RTPBindIP (default 127.0.0.1) must be an address Asterisk can reach: loopback when Asterisk runs on
// the same host, a LAN address otherwise.
package webrtc
