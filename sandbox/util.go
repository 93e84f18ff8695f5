package sandbox

import (
	"fmt"
	"strconv"
)

func ptr[T any](v T) *T { return &v }

// strOrNil is s as a nullable JSON string: null when empty.
func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// withMessage replaces e's message.
func (e *apiError) withMessage(format string, args ...any) *apiError {
	e.Message = fmt.Sprintf(format, args...)
	return e
}

func itoa(i int) string { return strconv.Itoa(i) }
