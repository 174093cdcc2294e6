package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/crmphone/crmphone/ari"
	"github.com/crmphone/crmphone/ari/doctor"
	"github.com/crmphone/crmphone/controller/config"
	"github.com/crmphone/crmphone/controller/logging"
)

// errChecksFailed makes doctor exit non-zero after printing its report.
var errChecksFailed = errors.New("some checks failed")

func cmdDoctor(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	tone := fs.String("tone-endpoint", "Local/tone@crmphone-selftest", "endpoint bridged with externalMedia to see RTP flow")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath, environ)
	if err != nil {
		return err
	}
	client, err := ari.New(ari.Config{
		BaseURL: cfg.ARI.URL, Username: cfg.ARI.Username, Password: cfg.ARI.Password,
		Application: cfg.ARI.Application, RequestTimeout: cfg.ARI.RequestTimeout, Logger: logging.Discard(),
	})
	if err != nil {
		return &config.Error{Key: "ari", Reason: err.Error()}
	}
	defer client.Close()
	fmt.Fprintf(stdout, "crmphone doctor: Asterisk at %s, user %s, application %s\n", cfg.ARI.URL, cfg.ARI.Username, cfg.ARI.Application)
	results := doctor.Run(ctx, client, doctor.Options{ToneEndpoint: *tone, RTPBindIP: cfg.Media.RTPBindIP})
	for _, r := range results {
		status := "ok  "
		if !r.OK {
			status = "FAIL"
		}
		fmt.Fprintf(stdout, "%s  %-40s %s\n", status, r.Name, r.Detail)
		if !r.OK && r.Fix != "" {
			fmt.Fprintf(stdout, "      fix: %s\n", r.Fix)
		}
	}
	if doctor.Failed(results) {
		return errChecksFailed
	}
	fmt.Fprintln(stdout, "all checks passed")
	return nil
}
