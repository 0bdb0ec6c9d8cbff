package poke

import (
	"strings"
	"testing"
)

const pc = 0xffffffff81000020

func TestNewEntryMapsWhatTheHandlerEmulates(t *testing.T) {
	for _, c := range []struct {
		b      []byte
		opcode byte
		disp   int32
	}{
		{NOP5, JMP32Opcode, 0},
		{NOP2, JMP8Opcode, 0},
		{[]byte{0xe8, 0xe7, 0x57, 0x07, 0x00}, CALLOpcode, 0x757e7},
		{[]byte{0xe9, 0x00, 0x10, 0x00, 0x00}, JMP32Opcode, 0x1000},
		{[]byte{0xeb, 0x10}, JMP8Opcode, 0x10},
		{[]byte{0xc3, 0xcc, 0xcc, 0xcc, 0xcc}, RETOpcode, 0},
		{[]byte{0xcc}, INT3Opcode, 0},
	} {
		e, err := NewEntry(pc, c.b)
		if err != nil || e.Opcode != c.opcode || e.Disp != c.disp || e.Len != len(c.b) {
			t.Errorf("NewEntry(% x) = %+v, %v", c.b, e, err)
		}
	}
}

func TestNewEntryRejectsWhatTheKernelBUGsOn(t *testing.T) {
	for _, c := range []struct {
		b    []byte
		want string
	}{
		{[]byte{0x0f, 0x1f, 0x44, 0x07, 0x00}, "must be the kernel's NOP5"},
		{[]byte{0x90, 0x90}, "not 2"},
		{[]byte{0x48, 0x89, 0xe5}, "cannot emulate"},
		{[]byte{0x0f, 0x04}, "does not decode"},
		{[]byte{0xc3, 0x90}, "padded only with int3"},
		{[]byte{0xe8, 0, 0, 0, 0, 0}, "1..5 bytes"},
	} {
		_, err := NewEntry(pc, c.b)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewEntry(% x) = %v, want an error containing %q", c.b, err, c.want)
		}
	}
}

func TestCheckTextPoke(t *testing.T) {
	if err := CheckTextPoke(0xffffffff81000020, 5); err != nil {
		t.Errorf("aligned quadword: %v", err)
	}
	if err := CheckTextPoke(0xffffffff81000ffe, 5); err == nil || !strings.Contains(err.Error(), "page") {
		t.Errorf("page crossing: %v", err)
	}
	if err := CheckTextPoke(0xffffffff8100001e, 5); err == nil || !strings.Contains(err.Error(), "8-byte") {
		t.Errorf("quadword crossing: %v", err)
	}
}
