package explore

// Var is a shared variable of one execution: every Load and Store is a
// scheduling point with the variable as its footprint.
type Var[T any] struct {
	obj Obj
	val T
	// Label names the variable in step labels, e.g. "load x".
	loadLabel, storeLabel string
}

// NewVar allocates a shared variable with an initial value.
func NewVar[T any](s *System, name string, init T) *Var[T] {
	return &Var[T]{obj: s.Object(name), val: init, loadLabel: "load " + name, storeLabel: "store " + name}
}

// Obj is the variable's object, for footprints of compound operations.
func (v *Var[T]) Obj() Obj { return v.obj }

// Load reads the variable.
func (v *Var[T]) Load(t *Thread) T {
	t.Op(v.loadLabel, R(v.obj))
	return v.val
}

// Store writes the variable.
func (v *Var[T]) Store(t *Thread, x T) {
	t.Op(v.storeLabel, W(v.obj))
	v.val = x
}

// Update is an atomic read-modify-write (a locked instruction) returning
// the new value.
func (v *Var[T]) Update(t *Thread, label string, f func(T) T) T {
	t.Op(label, W(v.obj))
	v.val = f(v.val)
	return v.val
}

// Await blocks until cond holds of the variable, then returns its value
// (one blocking operation, however long it spins).
func (v *Var[T]) Await(t *Thread, label string, cond func(T) bool) T {
	t.Await(label, R(v.obj), func() bool { return cond(v.val) })
	return v.val
}

// Peek reads the variable without a scheduling point: for checks and
// invariants, never for thread code.
func (v *Var[T]) Peek() T { return v.val }

// Poke sets the variable without a scheduling point: for setup only.
func (v *Var[T]) Poke(x T) { v.val = x }

// Mutex is a non-reentrant lock; Lock blocks while it is held.
type Mutex struct {
	obj    Obj
	holder int // thread id + 1, 0 when free
	name   string
}

// NewMutex allocates a lock.
func NewMutex(s *System, name string) *Mutex {
	return &Mutex{obj: s.Object(name), name: name}
}

// Lock acquires the lock, blocking while another thread holds it. Locking
// a lock the thread already holds fails the "deadlock" property.
func (m *Mutex) Lock(t *Thread) {
	if m.holder == t.id+1 {
		t.Failf("deadlock", "%s locks %s, which it already holds", t.name, m.name)
	}
	t.Await("lock "+m.name, W(m.obj), func() bool { return m.holder == 0 })
	m.holder = t.id + 1
}

// Unlock releases the lock; releasing a lock the thread does not hold
// fails the "lock" property.
func (m *Mutex) Unlock(t *Thread) {
	t.Op("unlock "+m.name, W(m.obj))
	if m.holder != t.id+1 {
		t.Failf("lock", "%s unlocks %s, which it does not hold", t.name, m.name)
	}
	m.holder = 0
}

// Held reports whether some thread holds the lock (for checks).
func (m *Mutex) Held() bool { return m.holder != 0 }

// HeldBy reports whether t holds the lock (for checks and state digests).
func (m *Mutex) HeldBy(t *Thread) bool { return m.holder == t.id+1 }
