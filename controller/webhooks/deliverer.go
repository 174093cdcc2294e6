package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/crmphone/crmphone/controller/store"
)

// Config configures a Deliverer. Zero durations take the defaults.
type Config struct {
	URL          string        // where events are POSTed (http or https)
	Secret       []byte        // HMAC key shared with the CRM; at least 16 bytes
	Timeout      time.Duration // per attempt; default 10s
	MinBackoff   time.Duration // first retry delay; default 1s
	MaxBackoff   time.Duration // retry delay cap; default 10min
	Concurrency  int           // requests in flight, each for a different call; default 4
	PollInterval time.Duration // longest idle sleep between outbox checks; default 30s
	Retention    time.Duration // how long delivered events stay in the outbox; default 72h
	Client       *http.Client  // default: one with no redirects followed
	Log          *slog.Logger
	Metrics      *Metrics // optional
}

// ErrConfig wraps configuration errors of NewDeliverer.
var ErrConfig = errors.New("webhooks: configuration")

// Deliverer sends the outbox's events.
type Deliverer struct {
	cfg    Config
	outbox *Outbox
	now    func() time.Time
	target string // scheme://host, for logs: the URL's path or query may carry credentials
}

// NewDeliverer returns a deliverer of o's events.
func NewDeliverer(o *Outbox, cfg Config) (*Deliverer, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: url must be an absolute http(s) URL", ErrConfig)
	}
	if len(cfg.Secret) < 16 {
		return nil, fmt.Errorf("%w: secret must be at least 16 bytes", ErrConfig)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Timeout, 10*time.Second)
	def(&cfg.MinBackoff, time.Second)
	def(&cfg.MaxBackoff, 10*time.Minute)
	def(&cfg.PollInterval, 30*time.Second)
	def(&cfg.Retention, 72*time.Hour)
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = cfg.MinBackoff
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Deliverer{cfg: cfg, outbox: o, now: time.Now, target: u.Scheme + "://" + u.Host}, nil
}

// Run delivers until ctx ends. Stopping it at any point loses nothing: an
// event whose attempt was cut short is sent again by the next Run.
func (d *Deliverer) Run(ctx context.Context) {
	st := d.outbox.store
	lastPrune := time.Time{}
	for ctx.Err() == nil {
		if d.now().Sub(lastPrune) > time.Hour {
			lastPrune = d.now()
			if n, err := st.PruneDeliveredWebhooks(ctx, d.now().Add(-d.cfg.Retention)); err != nil && ctx.Err() == nil {
				d.cfg.Log.Warn("webhook outbox prune failed", "err", err)
			} else if n > 0 {
				d.cfg.Log.Debug("webhook outbox pruned", "rows", n)
			}
		}
		due, err := st.DueWebhooks(ctx, d.now(), 4*d.cfg.Concurrency)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d.cfg.Log.Warn("webhook outbox read failed", "err", err)
			d.sleep(ctx, d.cfg.MinBackoff)
			continue
		}
		if len(due) > 0 {
			d.deliverBatch(ctx, due)
			d.updatePending(ctx)
			continue
		}
		wait := d.cfg.PollInterval
		if next, ok, err := st.NextWebhookAttempt(ctx); err == nil && ok {
			wait = min(wait, next.Sub(d.now()))
		}
		if wait > 0 {
			d.sleep(ctx, wait)
		}
	}
}

// sleep waits for d, a new event or the end of ctx.
func (d *Deliverer) sleep(ctx context.Context, wait time.Duration) {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-d.outbox.wake:
	case <-t.C:
	}
}

// deliverBatch sends events of distinct keys concurrently; the batch is
// finished before the next query, so a key's next event is read only after
// this one's outcome is stored.
func (d *Deliverer) deliverBatch(ctx context.Context, due []store.WebhookEvent) {
	sem := make(chan struct{}, d.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, ev := range due {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Go(func() {
			defer func() { <-sem }()
			d.deliverOne(ctx, ev)
		})
	}
	wg.Wait()
}

func (d *Deliverer) deliverOne(ctx context.Context, ev store.WebhookEvent) {
	attemptErr := d.post(ctx, ev)
	if ctx.Err() != nil && attemptErr != nil {
		return // cut short by shutdown, not the receiver's fault: the next Run sends it again
	}
	// The outcome is recorded even when ctx ends right now: a delivered event
	// marked delivered is not sent twice.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	st := d.outbox.store
	if attemptErr == nil {
		d.count("delivered")
		if err := st.MarkWebhookDelivered(wctx, ev.Seq, d.now()); err != nil {
			d.cfg.Log.Error("webhook delivered but not recorded; it will be sent again", "delivery", ev.DeliveryID, "err", err)
		}
		return
	}
	d.count("failed")
	delay := d.backoff(ev.Attempts)
	level := slog.LevelInfo
	if ev.Attempts >= 5 {
		level = slog.LevelWarn
	}
	d.cfg.Log.Log(ctx, level, "webhook delivery failed", "target", d.target, "event", ev.EventType,
		"delivery", ev.DeliveryID, "attempt", ev.Attempts+1, "retry_in", delay, "err", attemptErr)
	if err := st.MarkWebhookFailed(wctx, ev.Seq, d.now().Add(delay), attemptErr.Error()); err != nil {
		d.cfg.Log.Error("webhook failure not recorded", "delivery", ev.DeliveryID, "err", err)
	}
}

// backoff is the delay after the attempt numbered previous+1: MinBackoff
// doubled per previous attempt, capped at MaxBackoff, with equal jitter
// (between half and all of it) so that a receiver coming back is not hit by
// every retry at once.
func (d *Deliverer) backoff(previous int) time.Duration {
	delay := d.cfg.MaxBackoff
	if previous < 40 {
		if e := d.cfg.MinBackoff << previous; e > 0 && e < delay {
			delay = e
		}
	}
	half := delay / 2
	return half + rand.N(delay-half+1)
}

// post sends one attempt. Errors never contain the URL or the secret.
func (d *Deliverer) post(ctx context.Context, ev store.WebhookEvent) error {
	actx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, d.cfg.URL, bytes.NewReader(ev.Body))
	if err != nil {
		return errors.New("cannot build request")
	}
	ts := strconv.FormatInt(d.now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "crmphone-webhooks/1")
	req.Header.Set(HeaderEvent, ev.EventType)
	req.Header.Set(HeaderDelivery, ev.DeliveryID)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(d.cfg.Secret, ts, ev.Body))
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL
		}
		return fmt.Errorf("request failed: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func (d *Deliverer) count(result string) {
	if d.cfg.Metrics != nil {
		d.cfg.Metrics.Attempts.WithLabelValues(result).Inc()
	}
}

func (d *Deliverer) updatePending(ctx context.Context) {
	if d.cfg.Metrics == nil {
		return
	}
	if n, err := d.outbox.store.PendingWebhooks(ctx); err == nil {
		d.cfg.Metrics.Pending.Set(float64(n))
	}
}
