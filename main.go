// Command tokendesk is a desktop account manager for OAuth 2.0 / OpenID Connect
// identities. main only wires packages together: config → storage → identity → use
// cases → window and tray, or the CLI when started with arguments.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/tokendesk/tokendesk/assets"
	"github.com/tokendesk/tokendesk/cli"
	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/storage"
	"github.com/tokendesk/tokendesk/ui"
	"github.com/tokendesk/tokendesk/usecase"
)

// started is as close to process start as Go code gets, for TOKENDESK_TRACE_STARTUP.
var started = time.Now()

// appID is the Fyne app id (FyneApp.toml says the same).
const appID = "dev.tokendesk.app"

func main() {
	// No LANG default here: Fyne reads LANG in its package init, before main runs, so
	// setting it now changes nothing. With LANG unset or "C" Fyne logs one locale
	// error and uses English; the Makefile, scripts and .desktop sessions set LANG.
	log := newLogger()
	if len(os.Args) > 1 {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		w, _ := open(log)
		var desk *usecase.Desk
		if w != nil {
			desk = w.desk
		}
		code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, desk)
		stop()
		os.Exit(code)
	}
	runWindow(log)
}

// wiring is what open builds: the Desk and what the window needs to know about storage.
type wiring struct {
	desk    *usecase.Desk
	cfg     *storage.Config
	store   *storage.CacheStore
	cache   *identity.TokenCache
	dir     string
	notices []string
}

// open builds storage, the identity cache and the use cases. The error carries what
// the user must do when storage cannot work (no keyring, bad config file).
func open(log *slog.Logger) (*wiring, error) {
	dir, err := storage.DefaultDir()
	if err != nil {
		return nil, err
	}
	cfg, err := storage.LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	var (
		kr   storage.Keyring
		opts []storage.StoreOption
	)
	if cfg.AllowPlaintextCache {
		opts = append(opts, storage.WithPlaintext())
	} else {
		kr = storage.SystemKeyring(3 * time.Second)
	}
	store, err := storage.OpenCacheStore(dir, kr, opts...)
	if err != nil {
		return nil, err
	}
	cache := identity.NewTokenCache(identity.WithCacheHook(store))
	desk, err := usecase.New(usecase.Deps{
		Config:    usecase.StorageConfig(dir),
		Cache:     cache,
		CacheHook: store,
		Logger:    log,
	})
	if err != nil {
		return nil, err
	}
	return &wiring{desk: desk, cfg: cfg, store: store, cache: cache, dir: dir}, nil
}

// probe reads the cache once, so a missing keyring or a locked cache is reported at
// start, in a window, rather than as a failed list later.
func (w *wiring) probe(ctx context.Context) error {
	if err := w.store.BeforeAccess(ctx, w.cache, false); err != nil {
		return err
	}
	if err := w.store.AfterAccess(ctx, w.cache, false, false); err != nil {
		return err
	}
	for _, n := range w.store.Notices() {
		w.notices = append(w.notices, n.Message)
	}
	return nil
}

// trace prints a start-up milestone when TOKENDESK_TRACE_STARTUP=1
// (scripts/bench-window.sh reads these lines).
func trace(event string) {
	if os.Getenv("TOKENDESK_TRACE_STARTUP") != "1" {
		return
	}
	now := time.Now()
	fmt.Fprintf(os.Stderr, "tokendesk-trace %s unix_ns=%d since_start_ms=%.1f\n",
		event, now.UnixNano(), float64(now.Sub(started).Microseconds())/1000)
}

func runWindow(log *slog.Logger) {
	trace("main")
	a := app.NewWithID(appID)
	trace("app")
	a.SetIcon(assets.Icon)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// SIGTERM (the session ending, the smoke test) and Ctrl+C quit cleanly: exit code 0.
	go func() {
		<-ctx.Done()
		fyne.Do(a.Quit)
	}()

	w, err := open(log)
	if err != nil {
		startupError(a, log, err)
		return
	}
	// The first cache read (keyring, decrypt, parse) runs while the window is built.
	probed := make(chan error, 1)
	go func() {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		probed <- w.probe(pctx)
	}()

	opts := ui.Options{Logger: log, Opener: nil}
	switch s := w.cfg.ClipboardClearSeconds; {
	case s > 0:
		opts.ClipboardClear = time.Duration(s) * time.Second
	default:
		opts.ClipboardClear = -1 // 0 in config.json: never clear
	}
	if w.cfg.AllowPlaintextCache {
		opts.Warning = "Tokens are stored unencrypted (allow_plaintext_cache is on in " +
			filepath.Join(w.dir, storage.ConfigFileName) + "). Turn it off once an OS keyring is available."
	}
	if os.Getenv("TOKENDESK_TRACE_STARTUP") == "1" {
		opts.Trace = trace
	}
	u := ui.New(a, w.desk, opts)
	trace("storage-wait")
	if err := <-probed; err != nil {
		trace("storage")
		u.Close()
		u.Window().Close() // never shown; closing it lets the app end with the error window
		startupError(a, log, err)
		return
	}
	trace("storage")
	u.Start()
	for _, n := range w.notices {
		u.ShowNotice("Token cache", n)
	}
	trace("window-built")
	u.Window().ShowAndRun()
	u.Close()
}

// startupError shows why Tokendesk cannot start, and how to fix it, until closed.
func startupError(a fyne.App, log *slog.Logger, err error) {
	log.Error("storage unavailable", "err", err)
	ui.StartupError(a, err.Error(), fixFor(err)).ShowAndRun()
}

// fixFor tells the user how to get past a start-up failure.
func fixFor(err error) string {
	var cerr *storage.ConfigError
	switch {
	case errors.Is(err, storage.ErrKeyringUnavailable), errors.Is(err, storage.ErrKeyringTimeout):
		return "Tokendesk keeps the key of its encrypted token cache in the OS keyring (Secret Service).\n" +
			"Start and unlock one in your desktop session (GNOME Keyring or KWallet); on a server, run\n" +
			"  dbus-run-session -- sh -c 'echo -n PASSWORD | gnome-keyring-daemon --unlock --components=secrets; tokendesk'\n" +
			"Or, knowing that tokens are then readable on disk, set \"allow_plaintext_cache\": true in config.json."
	case errors.Is(err, storage.ErrLockTimeout):
		return "Another Tokendesk process holds the token cache: close other Tokendesk windows or stuck CLI commands, then start again."
	case errors.As(err, &cerr):
		return "Fix the fields named above in the configuration file, or move it away to start with the defaults."
	default:
		return "Check that the Tokendesk directory (TOKENDESK_HOME, or your user config directory) is writable, then start again."
	}
}

// newLogger logs warnings to stderr; TOKENDESK_DEBUG=1 adds debug messages. Tokens are
// never logged at any level.
func newLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("TOKENDESK_DEBUG") == "1" {
		level = slog.LevelDebug
	}
	var out io.Writer = os.Stderr
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level}))
}
