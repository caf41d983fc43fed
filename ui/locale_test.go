package ui

// Fyne parses the locale in its package init and, in C.UTF-8 (the locale of CI and
// container images), logs "Error parsing user locale" on stderr before any test runs.
// fynelocale keeps that out of the test output, as it does for the real binary.
import _ "github.com/tokendesk/tokendesk/internal/fynelocale"
