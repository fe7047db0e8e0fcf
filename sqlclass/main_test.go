package sqlclass

import (
	"testing"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// The differential tests run statements in a throwaway PostgreSQL; the
// cluster is started on first use and stopped here.
func TestMain(m *testing.M) { pgtest.RunMain(m) }
