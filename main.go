// Command tokendesk is a desktop account manager for OAuth 2.0 / OpenID Connect
// identities. internal/app's OpenDir builds the Desk over the profile directory
// (config, storage, keyring, token cache); main starts the window and tray with it, or
// the CLI when started with arguments; a start-up error goes to the window (ui puts it
// into words, by the kind internal/app gave it) or to the CLI.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/tokendesk/tokendesk/assets"
	"github.com/tokendesk/tokendesk/cli"
	"github.com/tokendesk/tokendesk/internal/app"
	"github.com/tokendesk/tokendesk/internal/fynelocale"
	"github.com/tokendesk/tokendesk/ui"
	"github.com/tokendesk/tokendesk/usecase"
)

// started is as close to process start as Go code gets, for TOKENDESK_TRACE_STARTUP.
var started = time.Now()

// appID is the Fyne app id (FyneApp.toml says the same).
const appID = "dev.tokendesk.app"

func main() {
	// Fyne parsed the locale in its package init, with C.UTF-8 and the like rewritten
	// so it logs nothing (then the window is in English); give the rest of the program
	// and its children the user's own locale back.
	fynelocale.Restore()
	log := newLogger()
	if cli.IsAzName(os.Args[0]) {
		// Started through a link named az: Azure SDKs' Azure CLI credential runs
		// "az account get-access-token", and gets Tokendesk's token.
		os.Exit(runCLI(log, append([]string{"az"}, os.Args[1:]...)))
	}
	if len(os.Args) > 1 {
		os.Exit(runCLI(log, os.Args[1:]))
	}
	runWindow(log)
}

// runCLI runs one command line over the same storage as the window. What a script's
// user must know goes to stderr, never stdout (which carries tokens): why storage could
// not be opened, that tokens are stored unencrypted, and what storage had to do on its
// own (a damaged cache moved aside).
func runCLI(log *slog.Logger, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// One command per process: read only the accounts the command is about.
	// Every command's token requests are bounded (git's credential helper, the az link);
	// `token --timeout` sets its own deadline, which wins.
	st, err := app.Open(log, app.ShortLived(), app.WithTokenTimeout(cli.DefaultTokenTimeout))
	if err != nil {
		return cli.RunUnavailable(ctx, args, os.Stdin, os.Stdout, os.Stderr, err)
	}
	if st.Config.AllowPlaintextCache {
		fmt.Fprintln(os.Stderr, "tokendesk: warning: tokens are stored unencrypted (allow_plaintext_cache is on in config.json)")
	}
	code := cli.Run(ctx, args, os.Stdin, os.Stdout, os.Stderr, st.Desk)
	for _, n := range st.Notices() {
		fmt.Fprintln(os.Stderr, "tokendesk:", n.Message)
	}
	return code
}

// windowTokenTimeout bounds each token the window or tray asks for (the CLI has its
// --timeout): a copied token nobody gets within 30 s is better reported than awaited.
const windowTokenTimeout = 30 * time.Second

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
	a := fyneapp.NewWithID(appID)
	trace("app")
	// The tray item's title is the app's name: without `fyne package` metadata Fyne
	// would show the app id.
	if md := a.Metadata(); md.Name == "" {
		md.Name = "Tokendesk"
		if md.ID == "" {
			md.ID = appID
		}
		fyneapp.SetMetadata(md)
	}
	a.SetIcon(assets.Icon)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// SIGTERM (the session ending, the smoke test) and Ctrl+C quit cleanly: exit code 0.
	// So does "Quit" in the tray (quitAsked), with the same bound.
	quitAsked := make(chan struct{})
	var askQuit sync.Once
	go func() {
		select {
		case <-ctx.Done():
			fyne.Do(a.Quit)
		case <-quitAsked:
		}
		// Seen under heavy load, after SIGTERM (1 run in ~30) and after the tray's Quit
		// (1 in ~40 tray smoke runs): Quit never returned. The user asked to quit; don't
		// outlive that. Cache writes are atomic, so exiting here leaves the old or the
		// new cache, never a torn one.
		time.Sleep(5 * time.Second)
		log.Warn("quit did not finish within 5 s; exiting")
		os.Exit(0)
	}()

	st, err := app.Open(log, app.WithTokenTimeout(windowTokenTimeout))
	if err != nil {
		startupError(a, log, err)
		return
	}
	opts := ui.Options{Logger: log, Opener: nil}
	opts.OnQuit = func() { askQuit.Do(func() { close(quitAsked) }) }
	switch s := st.Config.ClipboardClearSeconds; {
	case s > 0:
		opts.ClipboardClear = time.Duration(s) * time.Second
	default:
		opts.ClipboardClear = -1 // 0 in config.json: never clear
	}
	if st.Config.AllowPlaintextCache {
		opts.Warning = "Tokens are stored unencrypted (allow_plaintext_cache is on in config.json). " +
			"Turn it off once an OS keyring is available."
	}
	if os.Getenv("TOKENDESK_TRACE_STARTUP") == "1" {
		opts.Trace = trace
	}
	// Other processes (the CLI, a second window) change the same files: the window
	// and tray follow them.
	opts.Watch = st.Watch
	u := ui.New(a, st.Desk, opts)
	u.InstallTray()
	trace("window-built")
	// The window shows first (the list says it is loading). Reading the cache (keyring,
	// decrypt, parse) and then the accounts waits for the first frame: on two cores,
	// running it during the window's build and first paint slowed the first frame.
	u.AfterFirstFrame(func() {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		notices, err := st.Probe(pctx)
		cancel()
		trace("storage")
		if err == nil {
			u.Start()
		}
		fyne.Do(func() {
			if err != nil {
				log.Error("storage unavailable", "err", err)
				u.ShowStartupError(err)
				return
			}
			for _, n := range notices {
				u.ShowNotice("Token cache", n.Message)
			}
			offerAzureCLI(u, st.Desk, st.Dir, log)
		})
	})
	u.Window().ShowAndRun()
	u.Close()
}

// offerAzureCLI offers, once per Tokendesk directory, to import the accounts Azure CLI
// keeps on this machine: the default profile signs in as Azure CLI, so its refresh
// tokens give tokens at once, without a browser.
func offerAzureCLI(u *ui.UI, desk *usecase.Desk, dir string, log *slog.Logger) {
	path, ok := usecase.PendingAzureCLIImport(dir, os.Getenv)
	if !ok {
		return
	}
	u.OfferImport("Azure CLI sign-ins",
		"Azure CLI has accounts signed in on this machine ("+path+").\n"+
			"Import them, so Tokendesk gets their tokens without signing in again?\n"+
			"Azure CLI's file is only read. You can do this later with \"tokendesk import --azure-cli\".",
		func(ctx context.Context) (string, error) {
			data, err := usecase.ReadCacheFile(path)
			if err != nil {
				return "", err
			}
			res, err := desk.ImportMSALCache(ctx, data)
			if err != nil {
				return "", err
			}
			return importSummary(res), nil
		},
		func() {
			if err := usecase.RememberAzureCLIOffer(dir); err != nil {
				log.Warn("could not remember the Azure CLI offer", "err", err)
			}
		})
}

// importSummary says in a sentence or two what an import brought in.
func importSummary(res usecase.ImportResult) string {
	if len(res.Accounts) == 0 {
		return "Azure CLI's cache holds no account a Tokendesk profile can use."
	}
	names := make([]string, len(res.Accounts))
	for i, a := range res.Accounts {
		names[i] = a.DisplayName
		if a.Username != "" {
			names[i] = a.Username
		}
	}
	return fmt.Sprintf("Imported %d account(s): %s.", len(names), strings.Join(names, ", "))
}

// startupError shows why Tokendesk cannot start, and how to fix it, until closed.
func startupError(a fyne.App, log *slog.Logger, err error) {
	log.Error("storage unavailable", "err", err)
	ui.StartupError(a, err).ShowAndRun()
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
