package ui

import (
	"context"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/tokendesk/tokendesk/identity"
	"github.com/tokendesk/tokendesk/profile"
	"github.com/tokendesk/tokendesk/usecase"
)

// Desk is the part of the use-case layer the window and tray drive; *usecase.Desk
// implements it.
type Desk interface {
	Profiles(ctx context.Context) ([]profile.Profile, error)
	AddProfile(ctx context.Context, p profile.Profile) error
	Accounts(ctx context.Context) ([]usecase.AccountView, error)
	ScopesOf(ctx context.Context, accounts []usecase.AccountView) (map[string][]usecase.Scope, error)
	AddScope(ctx context.Context, accountKey, scope string) error
	RemoveScope(ctx context.Context, accountKey, scope string) error
	Token(ctx context.Context, accountKey string, scopes []string, forceRefresh bool) (identity.Result, error)
	SignIn(ctx context.Context, profile string, opts usecase.SignInOptions) (usecase.AccountView, error)
	SignInWithDeviceCode(ctx context.Context, profile string, opts usecase.DeviceCodeOptions) (usecase.AccountView, error)
	SignInForScopes(ctx context.Context, accountKey string, scopes []string, claims string, opts usecase.SignInOptions) (identity.Result, error)
	SignOut(ctx context.Context, accountKey string) error
	Subscribe(f func()) (cancel func())
}

var _ Desk = (*usecase.Desk)(nil)

// Options tune the UI. The zero value is usable.
type Options struct {
	// ClipboardClear is how long a copied token stays on the clipboard (if it is still
	// there then); 0 means 60 s, a negative value never clears.
	ClipboardClear time.Duration
	// Opener overrides the browser opener of sign-ins started from the window (tests
	// inject a scripted browser); nil uses the Desk's.
	Opener usecase.Opener
	// Warning, when set, is shown as a banner above the account list (for example
	// "tokens are stored in plain text").
	Warning string
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// Now is the clock of the expiry countdown; nil means time.Now.
	Now func() time.Time
	// OnQuit, when set, is called as "Quit" (in the tray) ends the app, before Fyne's
	// own quit: main bounds how long that may take.
	OnQuit func()
	// Watch, when set, is called once by Start to report changes other processes make
	// to the stored accounts and settings (storage.Watch over the profile directory):
	// each call of onChange reloads. Without it (or when it fails) the UI reloads
	// whenever its window comes to the foreground instead.
	Watch func(ctx context.Context, onChange func()) error
	// Trace, when set, is called on the UI goroutine with "first-frame" when the window
	// is first painted and "accounts-frame" when the first loaded account list is
	// (scripts/bench-window.sh measures start-up with it).
	Trace func(event string)
}

// UI is Tokendesk's main window plus its tray menu.
type UI struct {
	app  fyne.App
	desk Desk
	opts Options
	log  *slog.Logger
	win  fyne.Window

	list   *accountList
	detail *detailPane
	probe  *frameProbe // tells when the first frame is painted
	loaded bool        // the first account list arrived (under mu: the foreground callback reads it)

	// do runs a function on the UI goroutine: fyne.Do. Tests replace it with a queue
	// their own goroutine drains, because the test driver's fyne.Do runs the function
	// on the caller's goroutine.
	do    func(func())
	queue chan func() // the queue behind a test's do; nil in the app

	// ctx is cancelled by Close; every worker derives from it.
	ctx    context.Context
	cancel context.CancelFunc
	jobs   sync.WaitGroup
	active atomic.Int64 // jobs running now; tests poll it (a WaitGroup must not be re-armed during Wait)

	mu        sync.Mutex
	accounts  []usecase.AccountView
	scopes    map[string][]usecase.Scope
	clipToken string // the token we last put on the clipboard
	clipGen   int
	unsub     func()
	trayOn    bool
	// The tray: a problem shown instead of the accounts, what each item id does, the
	// pairs copied lately, the reload at the soonest expiry, the tooltip and model sent.
	trayProblem string
	trayActs    map[uint32]trayAction
	trayGone    map[uint32]trayAction // copy items just removed, for panels holding an old menu
	recent      []recentCopy
	expiryTimer *time.Timer
	trayTip     string
	trayLast    []trayNode
	// reloading: a Reload job runs; reloadAgain: another was asked for meanwhile.
	reloading, reloadAgain bool
	trayHost               chan bool // receives trayHostPresent(), asked while the window is built; nil without a desktop driver
	quitting               bool

	// lastDialog and lastConfirm are the dialogs shown last, for tests to drive.
	lastDialog  *dialog.CustomDialog
	lastConfirm *dialog.ConfirmDialog
	signInDlg   *signInDialog
	addProfile  *addProfileForm
}

// New builds the main window (not yet shown; the list says it is loading) on a. Call
// InstallTray before the app runs, and Start once the token cache can be read.
func New(a fyne.App, desk Desk, opts Options) *UI {
	if opts.ClipboardClear == 0 {
		opts.ClipboardClear = 60 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	u := &UI{app: a, desk: desk, opts: opts, log: opts.Logger, do: fyne.Do}
	if u.log == nil {
		u.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	u.ctx, u.cancel = context.WithCancel(context.Background())
	if _, ok := a.(desktop.App); ok {
		// The D-Bus round trips of the tray-host question overlap building the window.
		u.trayHost = make(chan bool, 1)
		go func() { u.trayHost <- trayHostPresent() }()
	}
	u.win = a.NewWindow("Tokendesk")
	u.trace("window-created")
	u.build()
	u.trace("window-laid-out")
	return u
}

// Window returns the main window.
func (u *UI) Window() fyne.Window { return u.win }

// Start loads the accounts in the background and keeps the list and the tray in step
// with the Desk. It may be called from any goroutine, before or after the window is
// shown: the list says it is loading until the accounts arrive.
func (u *UI) Start() {
	unsub := u.desk.Subscribe(func() { u.Reload() })
	u.mu.Lock()
	u.unsub = unsub
	u.mu.Unlock()
	// The CLI or another window may sign in or out while Tokendesk runs: the watch
	// reports it within a fraction of a second, and a window event then costs nothing.
	if u.opts.Watch != nil {
		err := u.opts.Watch(u.ctx, u.Reload)
		if err == nil {
			u.Reload()
			u.trace("reload-started")
			return
		}
		u.log.Warn("cannot watch the profile directory; reloading when the window comes to the front", "err", err)
	}
	// Without a watch, look again whenever the user comes back to Tokendesk (off the
	// UI thread, like every reload). Not before the first load ends: on a desktop the
	// new window's first focus would otherwise read the whole cache a second time
	// during start-up.
	u.app.Lifecycle().SetOnEnteredForeground(func() {
		u.mu.Lock()
		loaded := u.loaded
		u.mu.Unlock()
		if loaded {
			u.Reload()
		}
	})
	u.Reload()
	u.trace("reload-started")
}

// AfterFirstFrame runs f once on its own goroutine when the window's first frame has
// been painted (at once if it has been), or after firstFrameTimeout if it never is (a
// window started minimised): start-up work that would compete with the first paint
// for the CPU (reading the token cache) waits for it.
func (u *UI) AfterFirstFrame(f func()) {
	var once sync.Once
	run := func() { once.Do(f) }
	u.probe.afterFirstFrame(run)
	time.AfterFunc(firstFrameTimeout, run)
}

// firstFrameTimeout bounds how long AfterFirstFrame waits for a paint; a variable so
// tests need not wait.
var firstFrameTimeout = 2 * time.Second

// Close stops background work and waits for it, at most 2 s (a job stuck in the
// network or on the cache lock must not keep the process alive); the window is left
// to the app.
func (u *UI) Close() {
	u.cancel()
	u.mu.Lock()
	unsub := u.unsub
	u.mu.Unlock()
	if unsub != nil {
		unsub()
	}
	done := make(chan struct{})
	go func() {
		u.jobs.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		u.log.Warn("background work still running at close", "jobs", u.active.Load())
	}
}

// trace reports a start-up milestone when tracing.
func (u *UI) trace(event string) {
	if u.opts.Trace != nil {
		u.opts.Trace(event)
	}
}

// run runs work on a worker goroutine with the UI's context.
func (u *UI) run(work func(ctx context.Context)) {
	if u.ctx.Err() != nil {
		return // closing: no new work
	}
	u.jobs.Add(1)
	u.active.Add(1)
	go func() {
		defer u.jobs.Done()
		defer u.active.Add(-1)
		work(u.ctx)
	}()
}

// Reload re-reads accounts and scopes from the Desk in the background and refreshes
// the list, the detail pane and the tray. Reloads do not pile up: each is a full cache
// read, and the Desk's notifications and the window coming to the foreground can ask
// for several at once; those asked for while one runs fold into a single rerun (the
// running one may have read the cache before the change that prompted them).
func (u *UI) Reload() {
	u.mu.Lock()
	if u.reloading {
		u.reloadAgain = true
		u.mu.Unlock()
		return
	}
	u.reloading = true
	u.mu.Unlock()
	u.run(func(ctx context.Context) {
		for u.reloadOnce(ctx) {
		}
	})
}

// reloadOnce does one Reload and reports whether another was asked for meanwhile.
func (u *UI) reloadOnce(ctx context.Context) (again bool) {
	defer func() {
		u.mu.Lock()
		again = u.reloadAgain && ctx.Err() == nil
		u.reloadAgain = false
		u.reloading = again
		u.mu.Unlock()
	}()
	accs, err := u.desk.Accounts(ctx)
	scopes, serr := u.desk.ScopesOf(ctx, accs)
	if serr != nil && err == nil {
		err = serr
	}
	if ctx.Err() != nil {
		return
	}
	u.do(func() {
		u.mu.Lock()
		u.accounts, u.scopes = accs, scopes
		first := !u.loaded
		u.loaded = true
		u.mu.Unlock()
		u.list.setAccounts(accs, err)
		u.detail.accountsChanged(accs, scopes)
		u.refreshTray()
		if first {
			u.probe.expect("accounts-frame")
			// Loading decrypts and parses the whole cache once, and painting the
			// list for the first time leaves more garbage (text shaping, render
			// caches): hand both back to the OS once the list has been painted
			// (a frame takes ~0.1 s here; 1 s leaves margin) rather than carry
			// them as idle RSS. Collecting right at load, before painting,
			// measured 8 MiB more idle RSS.
			time.AfterFunc(time.Second, debug.FreeOSMemory)
		}
	})
	return false // the deferred func decides
}

// account returns the current view of the account with key.
func (u *UI) account(key string) (usecase.AccountView, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, a := range u.accounts {
		if a.Key == key {
			return a, true
		}
	}
	return usecase.AccountView{}, false
}

// ShowNotice shows something the user should know (a cache moved aside, ...).
func (u *UI) ShowNotice(title, message string) {
	dialog.ShowInformation(title, message, u.win)
}
