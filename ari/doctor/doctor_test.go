package doctor

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/crmphone/crmphone/ari"
	"github.com/crmphone/crmphone/ari/aritest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func client(t *testing.T, url, user, pass string) *ari.Client {
	t.Helper()
	c, err := ari.New(ari.Config{BaseURL: url, Username: user, Password: pass, Application: "crmphone",
		RequestTimeout: 2 * time.Second, BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestDoctorAllGood(t *testing.T) {
	sim := aritest.New(t)
	defer sim.Close()
	results := Run(context.Background(), client(t, sim.URL(), sim.Username(), sim.Password()), Options{Timeout: 2 * time.Second})
	if len(results) != 6 || Failed(results) {
		t.Fatalf("want 6 passing checks, got %+v", results)
	}
	if len(sim.Channels()) != 0 || len(sim.Bridges()) != 0 {
		t.Fatalf("doctor left channels %v bridges %v", sim.Channels(), sim.Bridges())
	}
	var put, del bool
	for _, r := range sim.Requests() {
		if strings.Contains(r.Path, "/asterisk/config/dynamic/res_pjsip/auth/crmphone-doctor-") {
			put = put || (r.Method == "PUT" && r.Status == 200)
			del = del || (r.Method == "DELETE" && r.Status == 204)
		}
	}
	if !put || !del {
		t.Fatalf("doctor must create and delete its test auth object (put %v, delete %v)", put, del)
	}
}

func TestDoctorFailures(t *testing.T) {
	tests := []struct {
		name    string
		inject  func(s *aritest.Server)
		badPass bool
		failing string // the check that must fail
		fix     string // words the fix must contain
	}{
		{"wrong password", nil, true, "ARI reachable,", "ari.password"},
		{"module missing", func(s *aritest.Server) { s.RemoveModule("chan_rtp.so") }, false, "required modules", "chan_rtp.so"},
		{"app not registered", func(s *aritest.Server) { s.SetFaults(aritest.Faults{RefuseApps: []string{"crmphone"}}) }, false, "Stasis application", "read_only"},
		{"dynamic config forbidden", func(s *aritest.Server) { s.SetFaults(aritest.Faults{DynamicConfigForbidden: true}) }, false, "dynamic PJSIP", "sorcery"},
		{"no RTP", func(s *aritest.Server) { s.SetFaults(aritest.Faults{RTPSilent: true}) }, false, "externalMedia RTP", "rtp_bind_ip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := aritest.New(t)
			defer sim.Close()
			if tt.inject != nil {
				tt.inject(sim)
			}
			pass := sim.Password()
			if tt.badPass {
				pass = "wrong"
			}
			results := Run(context.Background(), client(t, sim.URL(), sim.Username(), pass), Options{Timeout: time.Second})
			if !Failed(results) {
				t.Fatalf("no check failed: %+v", results)
			}
			var found bool
			for _, r := range results {
				if strings.HasPrefix(r.Name, tt.failing) {
					found = true
					if r.OK || !strings.Contains(r.Fix, tt.fix) {
						t.Fatalf("check %q: %+v", r.Name, r)
					}
				}
			}
			if !found {
				t.Fatalf("no check named %q in %+v", tt.failing, results)
			}
			for _, r := range results {
				if strings.Contains(r.Detail+r.Fix, pass) && pass != "" {
					t.Fatalf("the password appears in the report: %+v", r)
				}
			}
			if len(sim.Channels()) != 0 || len(sim.Bridges()) != 0 {
				t.Fatalf("doctor left channels %v bridges %v", sim.Channels(), sim.Bridges())
			}
		})
	}
}

func TestDoctorRealAsterisk(t *testing.T) {
	url := os.Getenv("CRMPHONE_TEST_ARI_URL")
	if url == "" {
		t.Skip("set CRMPHONE_TEST_ARI_URL, CRMPHONE_TEST_ARI_USER and CRMPHONE_TEST_ARI_PASSWORD to run against a real Asterisk")
	}
	results := Run(context.Background(), client(t, url, os.Getenv("CRMPHONE_TEST_ARI_USER"), os.Getenv("CRMPHONE_TEST_ARI_PASSWORD")), Options{})
	for _, r := range results {
		t.Logf("%v %s: %s %s", r.OK, r.Name, r.Detail, r.Fix)
	}
	if Failed(results) {
		t.Fatal("doctor failed against the real Asterisk")
	}
}
