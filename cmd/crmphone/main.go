// Command crmphone is the controller that lets CRM operators call and take
// calls in the browser through an existing Asterisk.
//
//	crmphone serve [-config crmphone.yaml]
//	crmphone token mint|inspect ...
//	crmphone doctor [-config crmphone.yaml]
//	crmphone version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ()))
}

const usage = `usage: crmphone <command> [flags]

commands:
  serve           run the controller (HTTP, softphone websocket, Asterisk link)
  token mint      mint an operator login token (administrators, tests)
  token inspect   verify a token and print its claims (secrets redacted)
  apikey          create|list|revoke REST API keys (for the CRM's server)
  doctor          check the Asterisk side of the configuration
  version         print the version
Run 'crmphone <command> -h' for a command's flags.
`

// errUsage makes run exit with status 2 after printing usage.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(ctx, args[1:], stderr, environ)
	case "token":
		err = cmdToken(ctx, args[1:], stdin, stdout, stderr, environ)
	case "apikey":
		err = cmdAPIKey(ctx, args[1:], stdout, stderr, environ)
	case "doctor":
		err = cmdDoctor(ctx, args[1:], stdout, stderr, environ)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "crmphone", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "crmphone: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		return 2
	default:
		fmt.Fprintln(stderr, "crmphone:", err)
		return 1
	}
}

// configFlag adds the -config flag every command that reads configuration has.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "", "YAML configuration file (default: built-in defaults; see crmphone.example.yaml)")
}
