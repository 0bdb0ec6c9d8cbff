package model

import (
	"testing"
)

const pc = 0xffffffff81000000

func TestDecodeTruncatedWindowsNeedMore(t *testing.T) {
	for _, insn := range [][]byte{{0x0f, 0x1f, 0x44, 0x00, 0x00}, {0xe8, 0xe7, 0x57, 0x07, 0x00}, {0xe9, 0x00, 0x10, 0x00, 0x00}, {0xeb, 0x10}, {0x66, 0x90}} {
		for n := 0; n < len(insn); n++ {
			if d := Decode(insn[:n], pc); d.Status != NeedMore {
				t.Errorf("Decode(% x) = %v %q, want need-more", insn[:n], d.Status, d.Text)
			}
		}
		if d := Decode(insn, pc); d.Status != Complete || d.Len != len(insn) {
			t.Errorf("Decode(% x) = %v len %d, want complete len %d", insn, d.Status, d.Len, len(insn))
		}
	}
}

func TestDecodeTornMixes(t *testing.T) {
	for _, c := range []struct {
		b    []byte
		st   DecodeStatus
		len  int
		text string
	}{
		{[]byte{0xe8, 0x1f, 0x44, 0x00, 0x00}, Complete, 5, "callq 0xffffffff81004424"},
		{[]byte{0x0f, 0xe7, 0x57, 0x07, 0x00}, Complete, 4, "movntq %mm2,0x7(%rdi)"},
		{[]byte{0x0f, 0x1f, 0x44, 0x07, 0x00}, Complete, 5, "nopl (%rdi,%rax)"},
		{[]byte{0x0f, 0x1f, 0x57, 0x07, 0x00}, Invalid, 4, ""},
		{[]byte{0xcc, 0x1f, 0x44, 0x00, 0x00}, Complete, 1, "int3"},
		{[]byte{0xf0, 0x90}, Invalid, 2, ""},
	} {
		d := Decode(c.b, pc)
		if d.Status != c.st || d.Len != c.len || (c.text != "" && d.Text != c.text) {
			t.Errorf("Decode(% x) = %v len %d %q, want %v len %d %q", c.b, d.Status, d.Len, d.Text, c.st, c.len, c.text)
		}
	}
	if got := DecodeImage([]byte{0xe8, 0x00}, pc); got.Status != Invalid {
		t.Errorf("DecodeImage of a truncated image = %v, want invalid", got.Status)
	}
}

func TestDecodeCacheAgrees(t *testing.T) {
	var c DecodeCache
	b := []byte{0x0f, 0xe7, 0x57, 0x07, 0x00}
	for i := 0; i < 2; i++ {
		if got, want := c.Decode(b, pc), Decode(b, pc); got.Text != want.Text || got.Len != want.Len {
			t.Fatalf("cached %q, direct %q", got.Text, want.Text)
		}
	}
}

func TestParseFetchModel(t *testing.T) {
	for _, s := range []string{"bytewise", "block:8", "block:16", "block:64", "stale:16", "stale:64"} {
		f, err := ParseFetchModel(s)
		if err != nil || f.String() != s {
			t.Errorf("ParseFetchModel(%q) = %v, %v", s, f, err)
		}
	}
	for _, s := range []string{"", "block", "block:12", "stale:0", "prefetch:16"} {
		if _, err := ParseFetchModel(s); err == nil {
			t.Errorf("ParseFetchModel(%q) accepted", s)
		}
	}
}

func TestLayout(t *testing.T) {
	nop5 := []byte{0x0f, 0x1f, 0x44, 0x00, 0x00}
	call := []byte{0xe8, 0xe7, 0x57, 0x07, 0x00}
	l, err := NewLayout(FetchModel{Block, 16}, []SiteSpec{{Addr: pc + 0x3e, Old: nop5, New: call}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if l.WinLo != pc+0x30 || l.WinHi != pc+0x50 {
		t.Errorf("window [%#x,%#x), want the two 16-byte blocks the site spans", l.WinLo, l.WinHi)
	}
	if l.Image[pc+0x43-l.Base] != RET {
		t.Errorf("no ret after the site")
	}
	if l.Image[l.Kprobe-l.Base] != INT3 {
		t.Errorf("no kprobe int3")
	}
	if len(l.Entries) != 1 || l.Entries[0] != pc+0x3e {
		t.Errorf("entries %x", l.Entries)
	}
	// Adjacent sites: the first falls through into the second.
	l, err = NewLayout(FetchModel{Bytewise, 1}, []SiteSpec{{Addr: pc, Old: nop5, New: call}, {Addr: pc + 5, Old: nop5, New: call}}, false)
	if err != nil || len(l.Entries) != 1 {
		t.Errorf("adjacent: %v entries %x", err, l.Entries)
	}
	for _, bad := range [][]SiteSpec{
		{{Addr: pc, Old: nop5, New: call[:4]}},
		{{Addr: pc, Old: nop5, New: nop5}, {Addr: pc + 2, Old: nop5, New: nop5}},
		{{Addr: pc, Old: []byte{0x90, 0x90}, New: []byte{0x66, 0x90}}},
		{{Addr: pc, Old: []byte{0xc3}, New: []byte{0xcc}}},
	} {
		if _, err := NewLayout(FetchModel{Bytewise, 1}, bad, false); err == nil {
			t.Errorf("NewLayout(%v) accepted", bad)
		}
	}
}

func TestEffectOf(t *testing.T) {
	for _, c := range []struct {
		b    []byte
		want Effect
	}{
		{[]byte{0x0f, 0x1f, 0x44, 0x00, 0x00}, Effect{Kind: FallThrough, Next: pc + 5}},
		{[]byte{0xe8, 0x00, 0x10, 0x00, 0x00}, Effect{Kind: Call, Next: pc + 0x1005, Pushed: pc + 5}},
		{[]byte{0xe9, 0xfb, 0xff, 0xff, 0xff}, Effect{Kind: Jump, Next: pc}},
		{[]byte{0xeb, 0x10}, Effect{Kind: Jump, Next: pc + 0x12}},
		{[]byte{0xc3}, Effect{Kind: Return}},
		{[]byte{0xcc}, Effect{Kind: Trap}},
	} {
		got, err := EffectOf(Decode(c.b, pc), pc)
		if err != nil || got != c.want {
			t.Errorf("EffectOf(% x) = %v, %v; want %v", c.b, got, err, c.want)
		}
	}
	if !(Effect{Kind: FallThrough, Next: 5}).Same(Effect{Kind: Jump, Next: 5}) {
		t.Error("a NOP and a JMP to the next instruction must have the same effect")
	}
}
