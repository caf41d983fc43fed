package loopback

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
)

// PageData is what the success and error templates are executed with. html/template
// escapes every field for its context, so an authority (or an attacker posing as one)
// cannot inject markup or script through error_description.
type PageData struct {
	// Error, ErrorDescription and ErrorURI are the error response's fields; empty on
	// the success page.
	Error            string
	ErrorDescription string
	ErrorURI         string
}

// DefaultSuccessTemplate is the page shown after a successful redirect.
var DefaultSuccessTemplate = template.Must(template.New("success").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Signed in</title></head>
<body><h1>Sign-in complete</h1>
<p>You can close this window and return to the application.</p></body></html>
`))

// DefaultErrorTemplate is the page shown when the authority redirected with an error.
var DefaultErrorTemplate = template.Must(template.New("error").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign-in failed</title></head>
<body><h1>Sign-in failed</h1>
<p>Error: <code>{{.Error}}</code></p>
{{if .ErrorDescription}}<p>{{.ErrorDescription}}</p>{{end}}
{{if .ErrorURI}}<p>More information: <code>{{.ErrorURI}}</code></p>{{end}}
<p>You can close this window and return to the application.</p></body></html>
`))

// setSecurityHeaders goes on every answer, pages and rejections alike: the pages must not
// be cached (the URL held a code), must not leak the URL as a Referer, and may run nothing.
func setSecurityHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
}

// writePage renders t into a buffer first, so a failing custom template yields a plain
// 500 instead of half a page.
func writePage(w http.ResponseWriter, status int, t *template.Template, data PageData) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		http.Error(w, "loopback: the page template failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// An explicit length lets the caller flush a complete response before closing.
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
