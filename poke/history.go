package poke

import "github.com/klpcheck/klpcheck/explore"

// The historical generations of the int3 protocol (issue 6) are each a
// file of their own: flag2013.go (v3.12), batch53.go (v5.3, v5.5),
// desc.go (v5.6, v6.0), kprobe.go, single.go (2025), stopmachine.go
// (2008), permanent.go (hpa 2010), ftrace.go (2012–v5.2), stopped.go
// (crash and reboot paths). They share the three steps (int3Steps),
// which did not change; what changed is how the handler finds the patch
// and how the writer tears it down.

// globals are the two objects of a generation's globals: the head, which
// its int3 handler reads first (a flag, nr_entries, the bp_desc
// pointer), and the body, which it reads next (vec, or a descriptor with
// its refs).
type globals struct {
	head, body explore.Obj
}

func newGlobals(k *Poker) globals {
	v := string(k.patch.Variant)
	return globals{head: k.m.S.Object("history: " + v + " head"), body: k.m.S.Object("history: " + v + " body")}
}
