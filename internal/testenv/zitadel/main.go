// Command zitadel-op runs zitadel/oidc's example OpenID provider (example/server of
// github.com/zitadel/oidc/v3) on 127.0.0.1, for Tokendesk's tests: a second real
// provider beside oidc-provider, written by other people.
//
// It binds a free port on 127.0.0.1 only, prints "ISSUER <url>" on stdout once it
// serves, and exits when stdin closes (the test binary ended). It registers one native
// client, "native", with the loopback redirect URIs http://localhost/auth/callback and
// http://127.0.0.1/auth/callback (zitadel matches loopback URIs ignoring the port but
// not the path), and the example's users: id1 "test-user@127.0.0.1" and id2
// "test-user2", both with password "verysecure". Access tokens live 5 minutes, and
// refresh tokens are bound to the scopes granted at sign-in, as in zitadel itself.
package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "zitadel-op:", err)
		os.Exit(1)
	}
}

func run() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	issuer := fmt.Sprintf("http://127.0.0.1:%d/", ln.Addr().(*net.TCPAddr).Port)
	storage.RegisterClients(
		storage.NativeClient("native", "http://localhost/auth/callback", "http://127.0.0.1/auth/callback"),
	)
	level := slog.LevelWarn
	if os.Getenv("ZITADEL_OP_DEBUG") == "1" {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	router := exampleop.SetupServer(issuer, storage.NewStorage(storage.NewUserStore(issuer)), logger, false)
	srv := &http.Server{Handler: router}
	go func() {
		// The test binary holds the other end of stdin; when it ends, so does this.
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	fmt.Printf("ISSUER %s\n", issuer)
	return srv.Serve(ln)
}
