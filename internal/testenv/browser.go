package testenv

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// maxSteps bounds a scripted sign-in; the real flow takes about six requests.
const maxSteps = 25

// Login plays a user in a browser: it opens authURL (an authorization request to this
// provider), signs in as username on the provider's login form (any password is
// accepted), answers a consent page if WithStockConsentPolicy shows one, and returns
// the final redirect to the client's redirect URI, with code, state and iss, WITHOUT
// requesting it. When the client asked for response_mode=form_post, the returned URL
// is the form's action with the posted fields as its query.
func (p *OIDCProvider) Login(ctx context.Context, authURL, username string) (*url.URL, error) {
	res, err := p.newBrowser().run(ctx, authURL, username, false)
	if err != nil {
		return nil, err
	}
	return res.url(), nil
}

// LoginAndDeliver is Login followed by requesting the redirect, as the browser would:
// it delivers the response to the client's loopback listener. A non-2xx answer from the
// listener is an error.
func (p *OIDCProvider) LoginAndDeliver(ctx context.Context, authURL, username string) error {
	res, err := p.newBrowser().run(ctx, authURL, username, false)
	if err != nil {
		return err
	}
	return res.deliver(ctx)
}

// Opener returns a browser opener (the func shape of usecase.Opener) that signs
// username in at p without a browser, and a channel with that sign-in's result. It
// returns at once, as a launched browser would; the scripted user then signs in on its
// own time, within 30 s.
func (p *OIDCProvider) Opener(username string) (func(ctx context.Context, authURL string) error, <-chan error) {
	errc := make(chan error, 1)
	return func(_ context.Context, authURL string) error {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			errc <- p.LoginAndDeliver(ctx, authURL, username)
		}()
		return nil
	}, errc
}

// Abort opens authURL and cancels at the login page, as a user closing the dialog
// would; it returns the redirect to the client carrying error=access_denied, without
// requesting it.
func (p *OIDCProvider) Abort(ctx context.Context, authURL string) (*url.URL, error) {
	res, err := p.newBrowser().run(ctx, authURL, "", true)
	if err != nil {
		return nil, err
	}
	return res.url(), nil
}

// ApproveDeviceCode enters userCode at the provider's device verification page, signs
// in as username and approves, like a user on a second device (RFC 8628).
func (p *OIDCProvider) ApproveDeviceCode(ctx context.Context, userCode, username string) error {
	b := p.newBrowser()
	page, err := b.get(ctx, p.Issuer+"/device")
	if err != nil {
		return err
	}
	f, ok := findForm(page.body, "xsrf")
	if !ok {
		return fmt.Errorf("testenv: device page has no code form: %s", page.summary())
	}
	vals := url.Values{"xsrf": {f.fields.Get("xsrf")}, "user_code": {userCode}, "confirm": {"yes"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, page.resolve(f.action).String(), strings.NewReader(vals.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := b.drive(ctx, req, username, false)
	if err != nil {
		return err
	}
	if res.final == nil || !strings.Contains(res.final.body, "Sign-in Success") {
		if res.final != nil {
			return fmt.Errorf("testenv: device approval did not succeed: %s", res.final.summary())
		}
		return errors.New("testenv: device approval ended in a redirect instead of the success page")
	}
	return nil
}

// browser is one user agent session: a cookie jar, no automatic redirects (each hop is
// inspected), loopback only.
type browser struct {
	p      *OIDCProvider
	client *http.Client
	issuer *url.URL
}

func (p *OIDCProvider) newBrowser() *browser {
	jar, _ := cookiejar.New(nil) // never fails without options
	iss, _ := url.Parse(p.Issuer)
	return &browser{
		p:      p,
		issuer: iss,
		client: &http.Client{
			Jar:           jar,
			Timeout:       30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// page is an HTML answer from the provider.
type page struct {
	u      *url.URL
	status int
	body   string
}

func (pg *page) resolve(ref string) *url.URL {
	r, err := url.Parse(html.UnescapeString(ref))
	if err != nil {
		return pg.u
	}
	return pg.u.ResolveReference(r)
}

var (
	tagRe   = regexp.MustCompile(`(?s)<[^>]*>`)
	spaceRe = regexp.MustCompile(`\s+`)
)

// summary is the page's visible text, shortened, for error messages. Provider pages
// carry no tokens or codes, only the error and its description.
func (pg *page) summary() string {
	body := pg.body
	if i := strings.Index(body, "<body"); i >= 0 {
		body = body[i:]
	}
	text := strings.TrimSpace(spaceRe.ReplaceAllString(html.UnescapeString(tagRe.ReplaceAllString(body, " ")), " "))
	if len(text) > 300 {
		text = text[:300] + "…"
	}
	return fmt.Sprintf("%s %d: %s", pg.u.Path, pg.status, text)
}

// result is where a scripted flow ended: a redirect leaving the provider (redirect), a
// form_post page whose form leaves the provider (post), or a provider page (final).
type result struct {
	b        *browser
	redirect *url.URL
	post     *form
	postURL  *url.URL
	final    *page
}

func (r *result) url() *url.URL {
	if r.post != nil {
		u := *r.postURL
		q := u.Query()
		for k, v := range r.post.fields {
			q[k] = v
		}
		u.RawQuery = q.Encode()
		return &u
	}
	return r.redirect
}

func (r *result) deliver(ctx context.Context) error {
	var req *http.Request
	var err error
	if r.post != nil {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, r.postURL.String(), strings.NewReader(r.post.fields.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, r.redirect.String(), nil)
	}
	if err != nil {
		return err
	}
	// A fresh client: the listener is not the provider and gets none of its cookies.
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("testenv: deliver redirect: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("testenv: redirect listener answered %s", resp.Status)
	}
	return nil
}

// get fetches one provider page, which must answer 200.
func (b *browser) get(ctx context.Context, rawURL string) (*page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("testenv: GET %s: %w", req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	pg := &page{u: req.URL, status: resp.StatusCode, body: string(body)}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("testenv: provider error at %s", pg.summary())
	}
	return pg, nil
}

// run starts at authURL; abort cancels at the first interaction instead of signing in.
func (b *browser) run(ctx context.Context, authURL, username string, abort bool) (*result, error) {
	u, err := url.Parse(authURL)
	if err != nil {
		return nil, fmt.Errorf("testenv: auth URL: %w", err)
	}
	if !b.owns(u) {
		return nil, fmt.Errorf("testenv: auth URL is not at issuer %s", b.p.Issuer)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, err
	}
	res, err := b.drive(ctx, req, username, abort)
	if err != nil {
		return nil, err
	}
	if res.final != nil {
		return nil, fmt.Errorf("testenv: sign-in did not redirect to the client: %s", res.final.summary())
	}
	return res, nil
}

// owns reports whether u is served by the provider (same scheme, host and port), as
// opposed to the client's redirect URI, which may also be on 127.0.0.1.
func (b *browser) owns(u *url.URL) bool {
	return u.Scheme == b.issuer.Scheme && u.Host == b.issuer.Host
}

var interactionRe = regexp.MustCompile(`^/interaction/([^/]+)$`)

// drive sends req and follows the flow hop by hop until it leaves the provider or
// reaches a page it does not know how to answer.
func (b *browser) drive(ctx context.Context, req *http.Request, username string, abort bool) (*result, error) {
	for step := 0; step < maxSteps; step++ {
		resp, err := b.client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("testenv: %s %s: %w", req.Method, req.URL.Path, err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		pg := &page{u: req.URL, status: resp.StatusCode, body: string(body)}

		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			loc := resp.Header.Get("Location")
			if loc == "" {
				return nil, fmt.Errorf("testenv: %d without Location at %s", resp.StatusCode, req.URL.Path)
			}
			next := pg.resolve(loc)
			if !b.owns(next) {
				return &result{b: b, redirect: next}, nil
			}
			if abort && interactionRe.MatchString(next.Path) {
				next = next.JoinPath("abort")
			}
			req, err = http.NewRequestWithContext(ctx, http.MethodGet, next.String(), nil)
			if err != nil {
				return nil, err
			}
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("testenv: provider error at %s", pg.summary())
		}

		var f *form
		var ok bool
		switch {
		case hasForm(pg.body, "login"):
			if username == "" {
				return nil, errors.New("testenv: login form reached without a username")
			}
			f, _ = findForm(pg.body, "prompt")
			f.fields.Set("login", username)
			f.fields.Set("password", "any-password")
		case hasForm(pg.body, "consent"):
			f, _ = findForm(pg.body, "prompt")
		default:
			// response_mode=form_post: an auto-submitting form aimed at the client.
			if f, ok = findForm(pg.body, ""); ok {
				if target := pg.resolve(f.action); !b.owns(target) {
					return &result{b: b, post: f, postURL: target}, nil
				}
			}
			return &result{b: b, final: pg}, nil
		}
		target := pg.resolve(f.action)
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, target.String(), strings.NewReader(f.fields.Encode()))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return nil, fmt.Errorf("testenv: sign-in did not finish within %d requests", maxSteps)
}

// form is an HTML form's action and its inputs' names and values.
type form struct {
	action string
	fields url.Values
}

var (
	formRe  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputRe = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	attrRe  = regexp.MustCompile(`(?is)([a-z_:-]+)\s*=\s*("([^"]*)"|'([^']*)')`)
)

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRe.FindAllStringSubmatch(s, -1) {
		v := a[3]
		if strings.HasPrefix(a[2], "'") {
			v = a[4]
		}
		m[strings.ToLower(a[1])] = html.UnescapeString(v)
	}
	return m
}

// findForm returns the first form with an input named field ("" for any form). The
// provider's pages are machine-generated and stable, so a regular expression suffices
// where an HTML parser would add a dependency.
func findForm(body, field string) (*form, bool) {
	for _, m := range formRe.FindAllStringSubmatch(body, -1) {
		f := &form{action: attrs(m[1])["action"], fields: url.Values{}}
		found := field == ""
		for _, in := range inputRe.FindAllStringSubmatch(m[2], -1) {
			a := attrs(in[1])
			name, ok := a["name"]
			if !ok {
				continue
			}
			if name == field {
				found = true
			}
			f.fields.Add(name, a["value"])
		}
		if found {
			return f, true
		}
	}
	return nil, false
}

// hasForm reports whether body has a form whose hidden prompt input is prompt.
func hasForm(body, prompt string) bool {
	f, ok := findForm(body, "prompt")
	return ok && f.fields.Get("prompt") == prompt
}
