// Package props is klpcheck's property catalog: each property has a stable
// id, a one-line meaning, and a check that reads the state of a model (the
// x86 machine, the livepatch world) and turns what it recorded into a
// violation message a kernel developer reads without reading Go.
//
// props reads model state and never drives it: checks are explore
// invariants and end checks over what the model and the protocol code
// recorded; they start no threads and take no scheduling points.
// x86 properties live in x86*.go, livepatch ones in livepatch*.go.
package props

// Property is an entry of the catalog.
type Property struct {
	ID      string
	Meaning string
}

// Property ids.
const (
	TornDecode          = "torn-decode"
	StrayInt3           = "stray-int3"
	HandlerMemory       = "handler-memory"
	Emulation           = "emulation"
	FinalText           = "final-text"
	AtomicSwitch        = "atomic-switch"
	MixedState          = "mixed-state"
	UndefState          = "undef-state"
	PendingFlag         = "pending-flag"
	FuncStates          = "func-states"
	Callbacks           = "callbacks"
	ModuleText          = "module-text"
	TransitionCompletes = "transition-completes"
	SyncCompletes       = "sync-completes"
	Deadlock            = "deadlock"
)

// Catalog is every property, in DESIGN.md §5 order.
var Catalog = []Property{
	{TornDecode, "no CPU decodes an instruction that is neither old, new nor the int3"},
	{StrayInt3, "every int3 the protocol placed is claimed by its handler (no \"Oops: int3\")"},
	{HandlerMemory, "the handler never reads a cleared, freed or out-of-bounds descriptor/vector"},
	{Emulation, "an int3 hit has the effect of the old or the new instruction (CALL pushes)"},
	{FinalText, "after the writer returns, memory holds the new bytes and every later fetch decodes new"},
	{AtomicSwitch, "site executions are linearizable against an atomic old→new switch (porcupine)"},
	{MixedState, "no task has old and new versions of the transition patch active at once"},
	{VersionWindow, "during a transition a task runs each function's version from before it or after it, as its patch_state says"},
	{UndefState, "the ftrace handler never reads patch_state UNDEF while func->transition is set"},
	{PendingFlag, "TIF_PATCH_PENDING is set iff the task still has to switch; none left at completion"},
	{FuncStates, "every klp_func moves through (patched, transition) only as the seed table says"},
	{Callbacks, "pre/post (un)patch callbacks run in the documented order and symmetry"},
	{SystemState, "system-state data is neither used nor freed after its free, nor leaked; klp_get_prev_state only in a transition"},
	{ModuleText, "no task executes or returns into the text of a removed module"},
	{TransitionCompletes, "under fair scheduling the transition completes; else stuck, naming the blockers"},
	{SyncCompletes, "every text_poke sync IPI round completes; else stuck, naming each CPU that never acknowledges"},
	{Deadlock, "some thread can always proceed"},
}

// Meaning returns a property's one-line meaning, or "" if the id is unknown.
func Meaning(id string) string {
	for _, p := range Catalog {
		if p.ID == id {
			return p.Meaning
		}
	}
	return ""
}

// X86 lists the properties the x86 scenarios check.
var X86 = []string{TornDecode, StrayInt3, HandlerMemory, Emulation, FinalText, AtomicSwitch, SyncCompletes, Deadlock}
