package ui

import (
	"context"
	"errors"
	"testing"
)

func TestOfferImport(t *testing.T) {
	for _, tc := range []struct {
		name    string
		yes     bool
		failErr error
	}{
		{"import", true, nil},
		{"not now", false, nil},
		{"import fails", true, errors.New("not an MSAL cache")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newFakeUI(t, &fakeDesk{accounts: demoAccounts()}, Options{})
			ran, answered := 0, 0
			u.OfferImport("Azure CLI", "Import?", func(ctx context.Context) (string, error) {
				ran++
				return "Imported 1 account.", tc.failErr
			}, func() { answered++ })
			if u.lastConfirm == nil {
				t.Fatal("no question shown")
			}
			if tc.yes {
				u.lastConfirm.Confirm()
			} else {
				u.lastConfirm.Dismiss()
			}
			u.settle()
			if answered != 1 || (ran == 1) != tc.yes {
				t.Errorf("answered %d times, import ran %d times", answered, ran)
			}
			if tc.failErr != nil && u.lastDialog == nil {
				t.Error("a failed import showed no error")
			}
		})
	}
}
