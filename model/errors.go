package model

import "fmt"

// FieldError is an input error about one field of a patch site, so that a
// caller can point at the field in its own input (a scenario file's
// params.sites[1].new, say) without reading the message.
type FieldError struct {
	// Site is the index of the site in the specs given, or -1 when the
	// error is about the sites together (two that overlap).
	Site int
	// Field is the site's field: "old", "new", "emulate" or "addr"; ""
	// means the site as a whole.
	Field string
	Err   error
}

// Error says which site and field, as "sites[1].new: …".
func (e *FieldError) Error() string {
	switch {
	case e.Site < 0:
		return e.Err.Error()
	case e.Field == "":
		return fmt.Sprintf("sites[%d]: %v", e.Site, e.Err)
	}
	return fmt.Sprintf("sites[%d].%s: %v", e.Site, e.Field, e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

// fieldErr is a FieldError with a formatted message.
func fieldErr(site int, field, format string, args ...any) error {
	return &FieldError{Site: site, Field: field, Err: fmt.Errorf(format, args...)}
}
