package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmphone/crmphone/controller"
	"github.com/crmphone/crmphone/controller/config"
	"github.com/crmphone/crmphone/tokens"
)

// keyring builds the token keyring from configuration.
func keyring(cfg config.Config) (*tokens.Keyring, error) {
	keys := make([]tokens.Key, 0, len(cfg.Tokens.Keys))
	for i, k := range cfg.Tokens.Keys {
		secret, err := k.Secret()
		if err != nil {
			return nil, &config.Error{Key: fmt.Sprintf("tokens.keys[%d]", i), Reason: err.Error()}
		}
		keys = append(keys, tokens.Key{Prefix: k.Prefix, ID: k.ID, Format: k.Format, Secret: secret})
	}
	kr, err := tokens.NewKeyring(keys)
	if err != nil {
		return nil, &config.Error{Key: "tokens.keys", Reason: err.Error()}
	}
	return kr, nil
}

// tokenVerifier adapts tokens.Verifier to the controller's TokenVerifier.
type tokenVerifier struct{ v *tokens.Verifier }

func newTokenVerifier(cfg config.Config, rdb *redis.Client) (controller.TokenVerifier, error) {
	kr, err := keyring(cfg)
	if err != nil {
		return nil, err
	}
	var replay tokens.ReplayStore = tokens.NewMemoryReplayStore(0, time.Now)
	if rdb != nil {
		if replay, err = newRedisReplay(rdb); err != nil {
			return nil, err
		}
	}
	v, err := tokens.NewVerifier(kr, replay, tokens.WithClockSkew(cfg.Tokens.ClockSkew))
	if err != nil {
		return nil, err
	}
	return tokenVerifier{v}, nil
}

func (t tokenVerifier) VerifyToken(ctx context.Context, token string) (controller.Identity, error) {
	c, err := t.v.Verify(ctx, token)
	if err != nil {
		return controller.Identity{}, err
	}
	return identityOf(c), nil
}

func (tokenVerifier) Code(err error) string { return tokens.Code(err) }

func identityOf(c *tokens.Claims) controller.Identity {
	id := controller.Identity{
		OperatorID: c.OperatorID, DisplayName: c.DisplayName, KeyName: c.KeyName,
		Extension: c.Extension, DialPatterns: c.DialPatterns, ExpiresAt: c.ExpiresAt,
		AllowsDial: c.AllowsDial,
	}
	if c.SIP != nil {
		id.SIPIdentity = c.SIP.URI()
	}
	if id.DisplayName == "" {
		id.DisplayName = id.OperatorID
	}
	return id
}

func cmdToken(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: crmphone token mint|inspect [flags]")
		return errUsage
	}
	switch args[0] {
	case "mint":
		return cmdTokenMint(args[1:], stdout, stderr, environ)
	case "inspect":
		return cmdTokenInspect(ctx, args[1:], stdin, stdout, stderr, environ)
	default:
		fmt.Fprintf(stderr, "crmphone token: unknown subcommand %q (want mint or inspect)\n", args[0])
		return errUsage
	}
}

func cmdTokenMint(args []string, stdout, stderr io.Writer, environ []string) error {
	fs := flag.NewFlagSet("token mint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	key := fs.String("key", "", "key to mint with: PREFIX.ID for v2, PREFIX for legacy (default: the first configured key)")
	operator := fs.String("operator", "", "operator id (required)")
	name := fs.String("name", "", "display name")
	ext := fs.String("extension", "", "local extension")
	sipLogin := fs.String("sip-login", "", "SIP login (legacy tokens: required)")
	sipDomain := fs.String("sip-domain", "", "SIP domain")
	dial := fs.String("dial", "", "comma-separated allowed dial patterns, e.g. _8XXXXXXXXXX,_+7. (empty: any)")
	ttl := fs.Duration("ttl", 10*time.Minute, "validity")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *operator == "" && *sipLogin == "" {
		fmt.Fprintln(stderr, "crmphone token mint: -operator is required")
		return errUsage
	}
	cfg, err := config.Load(*cfgPath, environ)
	if err != nil {
		return err
	}
	kr, err := keyring(cfg)
	if err != nil {
		return err
	}
	var chosen *config.TokenKey
	for i, k := range cfg.Tokens.Keys {
		n := k.Prefix
		if k.Format == "v2" {
			n += "." + k.ID
		}
		if *key == "" || *key == n {
			chosen = &cfg.Tokens.Keys[i]
			break
		}
	}
	if chosen == nil {
		return fmt.Errorf("no configured key named %q (configured: %s)", *key, strings.Join(kr.Names(), ", "))
	}
	now := time.Now()
	if chosen.Format == "legacy" {
		if *sipDomain == "" {
			fmt.Fprintln(stderr, "crmphone token mint: legacy tokens need -sip-domain (and -sip-login, default: -operator)")
			return errUsage
		}
		secret, _ := chosen.Secret()
		login := *sipLogin
		if login == "" {
			login = *operator
		}
		tok, err := tokens.MintLegacy(chosen.Prefix, secret, tokens.LegacyRecord{
			SIPLogin: login, SIPAuthName: login, SIPDomain: *sipDomain,
			OperatorID: *operator, DisplayName: *name, Expires: now.Add(*ttl),
		})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, tok)
		return nil
	}
	var patterns []string
	for _, p := range strings.Split(*dial, ",") {
		if p = strings.TrimSpace(p); p != "" {
			patterns = append(patterns, p)
		}
	}
	claims := tokens.Claims{
		TokenID: randomID(), OperatorID: *operator, DisplayName: *name, Extension: *ext,
		DialPatterns: patterns, IssuedAt: now, ExpiresAt: now.Add(*ttl), KeyName: chosen.Prefix + "." + chosen.ID,
	}
	if *sipLogin != "" {
		claims.SIP = &tokens.SIPIdentity{Login: *sipLogin, AuthName: *sipLogin, Domain: *sipDomain}
	}
	secret, _ := chosen.Secret()
	// MintV2 mints with the keyring's newest v2 key: give it only the chosen one.
	one, err := tokens.NewKeyring([]tokens.Key{{Prefix: chosen.Prefix, ID: chosen.ID, Format: tokens.FormatV2, Secret: secret}})
	if err != nil {
		return err
	}
	tok, err := tokens.MintV2(one, claims)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

func cmdTokenInspect(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) error {
	fs := flag.NewFlagSet("token inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var tok string
	switch fs.NArg() {
	case 0: // read from stdin so the token stays out of shell history and ps
		b, err := io.ReadAll(io.LimitReader(stdin, tokens.MaxTokenLength+1))
		if err != nil {
			return err
		}
		tok = strings.TrimSpace(string(b))
	case 1:
		tok = fs.Arg(0)
	default:
		fmt.Fprintln(stderr, "usage: crmphone token inspect [-config f.yaml] [TOKEN]  (TOKEN from stdin if omitted)")
		return errUsage
	}
	cfg, err := config.Load(*cfgPath, environ)
	if err != nil {
		return err
	}
	kr, err := keyring(cfg)
	if err != nil {
		return err
	}
	// Inspection must not burn the token: a replay store of its own.
	v, err := tokens.NewVerifier(kr, tokens.NewMemoryReplayStore(1, time.Now), tokens.WithClockSkew(cfg.Tokens.ClockSkew))
	if err != nil {
		return err
	}
	c, err := v.Verify(ctx, tok)
	if err != nil {
		return fmt.Errorf("token rejected: %s (%w)", tokens.Code(err), err)
	}
	fmt.Fprintln(stdout, "valid:", c.String())
	return nil
}

func randomID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}
