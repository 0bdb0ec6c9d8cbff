package model

import (
	"errors"
	"testing"
)

// TestNewLayoutFieldErrors: NewLayout's errors name the site as the
// caller gave it (not its sorted position) and the field.
func TestNewLayoutFieldErrors(t *testing.T) {
	nop5 := []byte{0x0f, 0x1f, 0x44, 0x00, 0x00}
	ret := []byte{0xc3}
	base := uint64(0xffffffff81000000)
	for _, c := range []struct {
		name  string
		specs []SiteSpec
		site  int
		field string
	}{
		{"ret site", []SiteSpec{{Addr: base + 0x40, Old: nop5, New: nop5}, {Addr: base + 0x20, Old: []byte{0x90}, New: ret}}, 1, "new"},
		{"lengths", []SiteSpec{{Addr: base + 0x20, Old: nop5, New: ret}}, 0, "new"},
		{"overlap", []SiteSpec{{Addr: base + 0x20, Old: nop5, New: nop5}, {Addr: base + 0x22, Old: nop5, New: nop5}}, -1, ""},
		// The site given first jumps into the middle of the one given
		// second (sorted, it is the second): the error names the site
		// it lands in, by its index as given.
		{"inside", []SiteSpec{{Addr: base + 0x30, Old: []byte{0x66, 0x90}, New: []byte{0xeb, 0xf0}}, {Addr: base + 0x20, Old: nop5, New: nop5}}, 1, ""},
	} {
		_, err := NewLayout(FetchModel{Kind: Bytewise, N: 1}, c.specs, false)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Site != c.site || fe.Field != c.field {
			t.Errorf("%s: %v (%+v), want site %d field %q", c.name, err, fe, c.site, c.field)
		}
	}
}
