package identity

import (
	"testing"

	"github.com/tokendesk/tokendesk/internal/testenv"
)

// TestMain stops the shared OpenID provider after the package's tests.
func TestMain(m *testing.M) { testenv.Main(m) }
