package rowcodec

import (
	"errors"
	"fmt"
)

// ErrMalformed is wrapped by every error about a value whose bytes do not
// follow its type's binary wire format. The caller discards the partial row.
var ErrMalformed = errors.New("rowcodec: malformed value")

// ErrUnsupported is wrapped by errors about a binary value of a type the
// codec cannot decode, for instance a field of an anonymous record whose
// type was never loaded into Types.
var ErrUnsupported = errors.New("rowcodec: unsupported type")

// Pre-built errors of the decoders: the error path allocates nothing either.
var (
	errLength    = fmt.Errorf("%w: wrong length", ErrMalformed)
	errShort     = fmt.Errorf("%w: truncated", ErrMalformed)
	errTrailing  = fmt.Errorf("%w: trailing bytes", ErrMalformed)
	errRange     = fmt.Errorf("%w: out of range", ErrMalformed)
	errNumeric   = fmt.Errorf("%w: bad numeric", ErrMalformed)
	errJSON      = fmt.Errorf("%w: invalid JSON", ErrMalformed)
	errJSONB     = fmt.Errorf("%w: unknown jsonb version", ErrMalformed)
	errInet      = fmt.Errorf("%w: bad inet", ErrMalformed)
	errArray     = fmt.Errorf("%w: bad array header", ErrMalformed)
	errRecord    = fmt.Errorf("%w: bad record", ErrMalformed)
	errDepth     = fmt.Errorf("%w: nested too deeply", ErrMalformed)
	errUnknownID = fmt.Errorf("%w: no decoder for the type OID inside a binary value (load it with Types.Load)", ErrUnsupported)
)
