// Command kubeexec is the part of kubectl that runs a client-go exec credential plugin,
// for tests on machines without kubectl (Debian's kubernetes-client predates
// ExecCredential v1). Like `kubectl --kubeconfig FILE get --raw PATH`, it loads the
// kubeconfig with client-go's clientcmd, sends one GET through client-go's transport
// (which runs the users[].exec plugin, k8s.io/client-go/plugin/pkg/client/auth/exec),
// and prints the response body. It is its own module so the main module does not take
// client-go's dependencies.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "the kubeconfig file (required)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: kubeexec --kubeconfig FILE PATH")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *kubeconfig == "" || flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := get(*kubeconfig, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "kubeexec:", err)
		os.Exit(1)
	}
}

func get(kubeconfig, path string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("loading %s: %w", kubeconfig, err)
	}
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return fmt.Errorf("client for %s: %w", cfg.Host, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(cfg.Host, "/")+path, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	_, err = os.Stdout.Write(body)
	return err
}
