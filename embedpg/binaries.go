package embedpg

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ErrNoBinaries is returned when initdb, pg_ctl or postgres cannot be found.
var ErrNoBinaries = errors.New("embedpg: PostgreSQL server binaries not found (initdb, postgres); run `make deps` to install them")

// searchGlob is where Debian's postgresql packages put the server binaries;
// they are not on PATH there (only psql and friends are, through wrappers).
const searchGlob = "/usr/lib/postgresql/*/bin"

// FindBinaries returns the directory holding initdb and postgres. dir, when
// not empty, is the only place looked at; otherwise PATH is tried first, then
// the newest /usr/lib/postgresql/N/bin.
func FindBinaries(dir string) (string, error) {
	if dir != "" {
		if hasServer(dir) {
			return dir, nil
		}
		return "", fmt.Errorf("%w: not in %s", ErrNoBinaries, dir)
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		if d := filepath.Dir(p); hasServer(d) {
			return d, nil
		}
	}
	dirs, _ := filepath.Glob(searchGlob)
	// Newest major version first: "9.6" < "15" numerically, not lexically.
	sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
	for _, d := range dirs {
		if hasServer(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w: looked on PATH and in %s", ErrNoBinaries, searchGlob)
}

func hasServer(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

func majorOf(binDir string) float64 {
	v := filepath.Base(filepath.Dir(binDir))
	f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
	return f
}
