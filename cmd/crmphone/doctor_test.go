package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/crmphone/crmphone/ari/aritest"
)

func TestDoctorCommand(t *testing.T) {
	sim := aritest.New(t)
	defer sim.Close()
	env := []string{"CRMPHONE_ARI_URL=" + sim.URL(), "CRMPHONE_ARI_USERNAME=" + sim.Username(), "CRMPHONE_ARI_PASSWORD=" + sim.Password()}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"doctor"}, nil, &out, &errb, env); code != 0 || !strings.Contains(out.String(), "all checks passed") {
		t.Fatalf("doctor on a healthy Asterisk: exit %d\n%s%s", code, out.String(), errb.String())
	}
	t.Logf("crmphone doctor (simulator):\n%s", out.String())
	if strings.Contains(out.String(), sim.Password()) {
		t.Fatal("doctor printed the ARI password")
	}
	out.Reset()
	sim.SetFaults(aritest.Faults{DynamicConfigForbidden: true})
	if code := run(context.Background(), []string{"doctor"}, nil, &out, &errb, env); code != 1 ||
		!strings.Contains(out.String(), "FAIL") || !strings.Contains(out.String(), "fix: ") {
		t.Fatalf("doctor with dynamic config forbidden: exit %d\n%s", code, out.String())
	}
	t.Logf("crmphone doctor (simulator, 403 on dynamic config):\n%s", out.String())
}
