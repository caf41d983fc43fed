package loopback

import (
	"html/template"
	"io"
	"log/slog"
	"time"
)

// Option configures Listen.
type Option func(*config)

type config struct {
	fallbackPorts []int
	success       *template.Template
	failure       *template.Template
	readTimeout   time.Duration
	logger        *slog.Logger
}

// DefaultReadTimeout bounds how long a connection may take to send its request (and how
// long an idle keep-alive connection is kept): a slowloris client cannot hold the
// listener's sockets for longer.
const DefaultReadTimeout = 10 * time.Second

// WithFallbackPorts lists ports to try, in order, when the redirect URI's fixed port is
// busy. They are ignored when the redirect URI has no port (a free port is chosen
// anyway). Every port tried must be registered at the authority, unless it matches
// loopback redirects on any port as RFC 8252 §7.3 asks.
func WithFallbackPorts(ports ...int) Option {
	return func(c *config) { c.fallbackPorts = append([]int(nil), ports...) }
}

// WithSuccessTemplate replaces the page shown after a successful redirect (MSAL Python:
// success_template). It is executed with a PageData.
func WithSuccessTemplate(t *template.Template) Option {
	return func(c *config) {
		if t != nil {
			c.success = t
		}
	}
}

// WithErrorTemplate replaces the page shown when the authority redirected with an error
// (MSAL Python: error_template). It is executed with a PageData, every field escaped.
func WithErrorTemplate(t *template.Template) Option {
	return func(c *config) {
		if t != nil {
			c.failure = t
		}
	}
}

// WithReadTimeout overrides DefaultReadTimeout.
func WithReadTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.readTimeout = d
		}
	}
}

// WithLogger logs each request the listener answers (method, path, status, reason) at
// debug level. Query strings, codes and states are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

func newConfig(opts []Option) config {
	c := config{
		success:     DefaultSuccessTemplate,
		failure:     DefaultErrorTemplate,
		readTimeout: DefaultReadTimeout,
		logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}
