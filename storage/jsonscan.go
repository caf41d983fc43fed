package storage

import (
	"bytes"
	"encoding/json"
)

// A minimal JSON scanner for splitting a serialized cache into records. It finds where
// strings, members and values begin and end and never interprets more: the values'
// own syntax is checked by whoever parses them (identity's Deserialize).

// stringValue decodes a JSON string token ("" for anything else, such as null).
func stringValue(tok []byte) string {
	if len(tok) < 2 || tok[0] != '"' {
		return ""
	}
	if bytes.IndexByte(tok, '\\') < 0 {
		return string(tok[1 : len(tok)-1])
	}
	var s string
	if json.Unmarshal(tok, &s) != nil {
		return ""
	}
	return s
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

func trailing(b []byte, i int) error {
	if skipSpace(b, i) != len(b) {
		return errSyntax
	}
	return nil
}

func colon(b []byte, i int) (int, error) {
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return 0, errSyntax
	}
	return skipSpace(b, i+1), nil
}

// scanString returns the JSON string token at b[i:] (quotes included) and the index
// after it.
func scanString(b []byte, i int) ([]byte, int, error) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, errSyntax
	}
	end, err := stringEnd(b, i)
	if err != nil {
		return nil, 0, err
	}
	return b[i:end], end, nil
}

// stringEnd returns the index after the string starting with the quote at b[i].
func stringEnd(b []byte, i int) (int, error) {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, errSyntax
		}
		q := j + k
		// The quote is escaped when an odd number of backslashes precede it.
		n := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return q + 1, nil
		}
		j = q + 1
	}
}

// flatObjectEnd returns the index after the object starting with the '{' at b[i] when
// that object is flat: no nested object or array and no escape before its first '}'.
// Every MSAL entry Tokendesk or MSAL Python writes is. In such an object every quote
// delimits a string, so the first '}' preceded by an even number of quotes closes it.
// It is found with a few vectorized scans instead of a byte loop, which at 25 MB of
// cache is most of what a split costs. ok is false when the object is not flat (or
// unterminated): skipValue then finds its end.
func flatObjectEnd(b []byte, i int) (end int, ok bool) {
	p := bytes.IndexByte(b[i+1:], '}')
	if p < 0 {
		return 0, false
	}
	body := b[i+1 : i+1+p]
	if bytes.IndexByte(body, '{') >= 0 || bytes.IndexByte(body, '[') >= 0 ||
		bytes.IndexByte(body, '\\') >= 0 || bytes.Count(body, quote)%2 != 0 {
		return 0, false
	}
	return i + p + 2, true
}

var quote = []byte{'"'}

// skipValue returns the index after the JSON value starting at b[i]. Objects and
// arrays are matched by depth; scalars run to the next delimiter.
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errSyntax
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := stringEnd(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errSyntax
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\r' && b[j] != '\t' {
			j++
		}
		if j == i {
			return 0, errSyntax
		}
		return j, nil
	}
}
