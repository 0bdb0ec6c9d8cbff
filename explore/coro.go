package explore

import "iter"

// coro is a coroutine that runs one thread body after another. Creating a
// coroutine per thread per execution cost more than the bodies did: each
// new goroutine starts with a small stack and grows it again, copying it,
// in every execution. A worker's execution keeps its coroutines in a pool
// instead, so each one's stack has grown once.
//
// Protocol: the scheduler sets body and resumes the coroutine (next); the
// body parks at each scheduling point (yield) and, when it returns, the
// coroutine yields once more and waits for its next body. To tear down a
// parked thread the scheduler sets abort and resumes it: the park panics
// with abortSignal, which the thread's finish recovers.
type coro struct {
	next  func() (struct{}, bool)
	stop  func()
	yield func(struct{}) bool
	body  func()
	abort bool
}

func newCoro() *coro {
	c := &coro{}
	c.next, c.stop = iter.Pull(func(yield func(struct{}) bool) {
		c.yield = yield
		for {
			c.body()
			c.body = nil
			if !yield(struct{}{}) {
				return
			}
		}
	})
	return c
}

// getCoro takes a coroutine from the execution's pool.
func (ex *execution) getCoro() *coro {
	if n := len(ex.pool); n > 0 {
		c := ex.pool[n-1]
		ex.pool = ex.pool[:n-1]
		return c
	}
	return newCoro()
}

// close ends the pool's coroutines; the execution is not run again.
func (ex *execution) close() {
	for _, c := range ex.pool {
		c.stop()
	}
	ex.pool = nil
}
