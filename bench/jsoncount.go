package bench

import (
	"errors"
	"fmt"
)

// countArray returns the number of elements of the JSON array in b, the
// body of a `many` route. It checks the nesting and string structure it
// walks, not the values, which is all the rows scenario needs to count rows.
func countArray(b []byte) (int, error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return 0, errors.New("bench: response is not a JSON array")
	}
	depth, n, empty := 0, 0, true
	for ; i < len(b); i++ {
		switch c := b[i]; c {
		case '"':
			j, err := skipString(b, i)
			if err != nil {
				return 0, err
			}
			i = j
			empty = false
		case '[', '{':
			if depth == 1 {
				empty = false
			}
			depth++
		case ']', '}':
			depth--
			if depth < 0 {
				return 0, fmt.Errorf("bench: unbalanced %q at byte %d", c, i)
			}
			if depth == 0 {
				if rest := skipSpace(b, i+1); rest != len(b) {
					return 0, fmt.Errorf("bench: data after the array at byte %d", rest)
				}
				if !empty {
					n++
				}
				return n, nil
			}
		case ',':
			if depth == 1 {
				n++
			}
		case ' ', '\t', '\n', '\r':
		default:
			if depth == 1 {
				empty = false
			}
		}
	}
	return 0, errors.New("bench: truncated JSON array")
}

// skipString returns the index of the quote closing the string that starts
// at b[i].
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j, nil
		}
	}
	return 0, errors.New("bench: truncated JSON string")
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
