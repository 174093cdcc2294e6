// Package aritest is an in-process simulator of the Asterisk 22 REST Interface (ARI) for tests.
//
// It answers like Asterisk 22.10.1 did in the reference transcripts
// (/work/shared/asterisk-reference): same JSON shapes, status codes, error messages and event
// order, with a real UDP/RTP externalMedia (UnicastRTP) side (ulaw, alaw, g722, slin; slin16 is
// accepted but its input dropped, as Asterisk does). Mixing bridges move audio between members
// every 20 ms; far ends of dialled channels and injected inbound calls follow a FarEnd script
// (ringing, early media, answer, busy, no answer, tones, echo, DTMF, hang up) and record what they
// hear.
//
// Typical use:
//
//	srv := aritest.New(t)                       // closed by t.Cleanup
//	srv.SetFarEnd("5551234", aritest.FarEnd{Ring: true, AnswerAfter: 200 * time.Millisecond,
//		Media: aritest.Tone{Frequency: 1000}})
//	client := ari.New(srv.URL(), srv.Username(), srv.Password()) // the code under test
//	...
//	peer := srv.Peer(channelID)                  // far end of a dialled channel
//	f, _ := aritest.DominantFrequency(peer.Received(), 8000)
//	if len(srv.Channels()) != 0 || len(srv.Bridges()) != 0 { t.Fatal("leak") }
//
// Endpoints named like the crmphone-selftest extensions (echo/9901, tone/9902,
// ring-answer/9903, busy/9904, e.g. "Local/9901@crmphone-selftest") behave like them by default;
// other endpoints answer after 100 ms and stay silent unless SetFarEnd programs them.
//
// Not simulated: the dialplan (originate to context/extension, MixMonitor), the websocket media
// transport (chan_websocket), ChannelConnectedLine and most ChannelVarset events, SIP itself.
package aritest
