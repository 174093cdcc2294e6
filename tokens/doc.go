// Package tokens verifies (and, for administrators and tests, mints) the login
// tokens a CRM hands to its operators' softphones.
//
// Two formats are accepted, each only for the prefixes configured for it (see
// README.md for the byte-by-byte layout and minting snippets):
//
//   - v2, the default: "<prefix>.<kid>:" + base64url(nonce ‖ AES-256-GCM(JSON claims) ‖ tag),
//     with the header "<prefix>.<kid>:" as additional authenticated data.
//     Several key ids per prefix allow key rotation.
//   - legacy, compatible with Flashphoner Web Call Server's loginByToken:
//     "<prefix>:" + hex(iv ‖ AES-CTR(XML record)). AES-CTR is malleable and
//     unauthenticated: whoever holds a legacy token can flip chosen plaintext
//     bits undetected. Enable it only for a CRM that cannot mint v2 yet.
//
// Typical use:
//
//	kr, err := tokens.NewKeyring([]tokens.Key{{Prefix: "CRM", ID: "k1", Format: tokens.FormatV2, Secret: secret}})
//	v, err := tokens.NewVerifier(kr, tokens.NewMemoryReplayStore(0, nil)) // or redisreplay.New(...)
//	claims, err := v.Verify(ctx, token)
//	if err != nil {
//		log.Warn("login rejected", "code", tokens.Code(err), "reason", err) // err text holds no secrets
//		reply(tokens.Code(err))
//	}
//
// A token is accepted once: its id (v2 "jti"; legacy: a hash of the token) goes
// to a ReplayStore until the token's expiry plus the clock skew.
package tokens
