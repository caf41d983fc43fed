//go:build tools

// Package tools pins the project's chosen dependencies, so go mod tidy keeps them
// before the code that uses them has landed.
package tools

import (
	_ "fyne.io/fyne/v2"
	_ "fyne.io/fyne/v2/app"
	_ "fyne.io/fyne/v2/test"
	_ "github.com/chromedp/chromedp"
	_ "github.com/go-jose/go-jose/v4"
	_ "github.com/gofrs/flock"
	_ "github.com/skratchdot/open-golang/open"
	_ "github.com/zalando/go-keyring"
)
