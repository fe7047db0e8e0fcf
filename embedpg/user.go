package embedpg

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// runAs is the unprivileged identity the cluster runs under. initdb and
// postgres refuse to run as root, so when pgfast itself is root it hands the
// data directory to the "postgres" system user (or "nobody") and starts the
// server with that uid. A nil *runAs means "run as ourselves".
type RunAs struct {
	uid, gid uint32
	name     string
}

func UnprivilegedUser() (*RunAs, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return &RunAs{uid: uint32(uid), gid: uint32(gid), name: name}, nil
	}
	return nil, fmt.Errorf("embedpg: running as root and no unprivileged user (postgres, nobody) exists to run PostgreSQL; create one or run pgfast as a normal user")
}

// Credential is the process credential to start a child as r (nil: as
// ourselves).
func (r *RunAs) Credential() *syscall.Credential {
	if r == nil {
		return nil
	}
	return &syscall.Credential{Uid: r.uid, Gid: r.gid, NoSetGroups: true}
}

// ChownTree gives dir and everything below it to r (nothing when r is nil).
func (r *RunAs) ChownTree(dir string) error {
	if r == nil {
		return nil
	}
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, int(r.uid), int(r.gid)); err != nil {
			return fmt.Errorf("cannot hand %s to user %s: %w", p, r.name, err)
		}
		return nil
	})
}

// checkReachable makes sure the cluster's user can walk down to dir: a data
// directory below a 0700 home or temp directory would fail later with a bare
// "permission denied" from initdb.
func (r *RunAs) checkReachable(dir string) error {
	if r == nil {
		return nil
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("cannot inspect %s: %w", d, err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			st, ok := fi.Sys().(*syscall.Stat_t)
			if !ok || st.Uid != r.uid {
				return fmt.Errorf("embedpg: PostgreSQL runs as user %s, which cannot enter %s (mode %v); choose a data directory below a world-searchable path or `chmod o+x %s`", r.name, d, fi.Mode().Perm(), d)
			}
		}
		if d == "/" || d == "." {
			return nil
		}
	}
}
