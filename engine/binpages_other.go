//go:build !linux

package engine

// ReleaseBinaryPages does nothing outside Linux, where the resident set is
// not read from /proc/self/smaps; see the Linux version.
func ReleaseBinaryPages() (int64, error) { return 0, nil }
