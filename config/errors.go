package config

import (
	"errors"
	"strconv"
	"strings"
)

// FieldError is one problem in a configuration: the field path (routes[1].cache), what is wrong
// with it, and where the value came from. Load, Parse and Validate return every problem they find,
// joined with errors.Join; use errors.As or the Unwrap() []error of the result to walk them.
type FieldError struct {
	// Path is the field's path in the config, as written in the file: server.addr,
	// databases.main.max_conns, routes[1].params[0]. For an environment variable it reads
	// "env NAME".
	Path string
	// Msg says what is wrong, with the bad value unless the field holds a secret.
	Msg string
	// Line is the line of the value in the file, or 0 when unknown.
	Line int
	// Where names the origin: "pgfast.yaml:12", "line 12", "env PGFAST_ADDR" or "flag --addr";
	// empty when unknown.
	Where string
}

// Error reads "config: PATH: MSG (WHERE)".
func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Where != "" {
		b.WriteString(" (")
		b.WriteString(e.Where)
		b.WriteByte(')')
	}
	return b.String()
}

// origin records where each value of a decoded config came from, keyed by field path, so that
// problems found later (by Validate, or when resolving secrets) can still point at a line.
type origin map[string]string

// where returns the origin of path or of its nearest recorded ancestor.
func (o origin) where(path string) string {
	for p := path; ; {
		if w, ok := o[p]; ok {
			return w
		}
		i := strings.LastIndexAny(p, ".[")
		if i <= 0 {
			return ""
		}
		p = p[:i]
	}
}

// locate formats a file and line for FieldError.Where.
func locate(file string, line int) string {
	switch {
	case line <= 0:
		return file
	case file == "":
		return "line " + strconv.Itoa(line)
	}
	return file + ":" + strconv.Itoa(line)
}

// lineOf extracts the line back from a locate result, or 0.
func lineOf(where string) int {
	i := strings.LastIndexAny(where, ": ")
	if i < 0 || strings.HasPrefix(where, "env ") || strings.HasPrefix(where, "flag ") {
		return 0
	}
	n, err := strconv.Atoi(where[i+1:])
	if err != nil {
		return 0
	}
	return n
}

// joinErrors joins problems into one error, nil when there are none.
func joinErrors(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}
