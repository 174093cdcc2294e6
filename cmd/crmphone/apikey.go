package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/crmphone/crmphone/controller/apikeys"
	"github.com/crmphone/crmphone/controller/config"
	"github.com/crmphone/crmphone/controller/store"
)

const apikeyUsage = `usage:
  crmphone apikey create [-config f.yaml] -name NAME   create a key; prints it once on stdout
  crmphone apikey list   [-config f.yaml]              list keys (never their secrets)
  crmphone apikey revoke [-config f.yaml] ID           revoke a key by id (or full key)
`

// cmdAPIKey manages the REST API keys in the controller's database.
func cmdAPIKey(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, apikeyUsage)
		return errUsage
	}
	sub := args[0]
	fs := flag.NewFlagSet("apikey "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, apikeyUsage); fs.PrintDefaults() }
	cfgPath := configFlag(fs)
	name := fs.String("name", "", "what the key is for, e.g. the CRM's name (create)")
	id := fs.String("id", "", "key id to revoke (revoke; or give it as the argument)")
	switch sub {
	case "create", "list", "revoke":
	case "-h", "--help", "help":
		fmt.Fprint(stdout, apikeyUsage)
		return nil
	default:
		fmt.Fprintf(stderr, "crmphone apikey: unknown subcommand %q\n%s", sub, apikeyUsage)
		return errUsage
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if sub == "revoke" && *id == "" && fs.NArg() == 1 {
		*id = fs.Arg(0)
	} else if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "crmphone apikey %s: unexpected argument %q\n%s", sub, fs.Arg(0), apikeyUsage)
		return errUsage
	}
	switch {
	case sub == "create" && *name == "":
		fmt.Fprintf(stderr, "crmphone apikey create: -name is required\n")
		return errUsage
	case sub == "revoke" && *id == "":
		fmt.Fprintf(stderr, "crmphone apikey revoke: give the key id\n")
		return errUsage
	}

	cfg, err := config.Load(*cfgPath, environ)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.Storage.SQLitePath, cfg.Storage.BusyTimeout)
	if err != nil {
		return err
	}
	defer st.Close()
	keys := apikeys.NewManager(st)

	switch sub {
	case "create":
		k, secret, err := keys.Create(ctx, *name)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, secret.Reveal())
		fmt.Fprintf(stderr, "created API key %s (%q). It is shown only this once: store it in the CRM now.\n"+
			"Use it as: Authorization: Bearer <key>\n", k.ID, k.Name)
	case "list":
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tCREATED\tLAST USED\tSTATUS")
		list, err := keys.List(ctx)
		if err != nil {
			return err
		}
		for _, k := range list {
			status := "active"
			if k.Revoked() {
				status = "revoked " + k.RevokedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.CreatedAt.UTC().Format(time.RFC3339), when(k.LastUsedAt), status)
		}
		return tw.Flush()
	case "revoke":
		if err := keys.Revoke(ctx, *id); err != nil {
			if errors.Is(err, apikeys.ErrUnknown) {
				return fmt.Errorf("apikey revoke: no key with id %q", redactKey(*id))
			}
			return err
		}
		fmt.Fprintf(stderr, "revoked API key %s\n", redactKey(*id))
	}
	return nil
}

func when(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// redactKey keeps a full key given by mistake out of the output: only its id is shown.
func redactKey(s string) string {
	if id, _, err := apikeys.Parse(s); err == nil {
		return id
	}
	return s
}
