package explore_test

import (
	"fmt"

	"github.com/klpcheck/klpcheck/explore"
)

// A program is ordinary Go: every shared access is a scheduling point with
// a footprint, and Explore tries every interleaving that matters.
func Example() {
	counter := func(s *explore.System) {
		x := explore.NewVar(s, "x", 0)
		for i := 0; i < 2; i++ {
			s.Go(fmt.Sprintf("inc%d", i), func(t *explore.Thread) {
				v := x.Load(t)  // one step
				x.Store(t, v+1) // another: the race is between them
			})
		}
		s.AtEnd("lost-update", func() error {
			if x.Peek() != 2 {
				return fmt.Errorf("two increments left x at %d", x.Peek())
			}
			return nil
		})
	}
	res := explore.Explore(counter, explore.Options{Strategy: explore.Bounded})
	fmt.Println(res.Verdict, res.Failure)
	fmt.Println("schedule", res.Schedule, "preemptions", res.Preemptions)
	rec, _ := explore.Replay(counter, res.Schedule, explore.ReplayOptions{})
	fmt.Print(rec.Format())
	// Output:
	// violation lost-update: two increments left x at 1
	// schedule 0.1.1.0 preemptions 1
	//    0  inc0       load x
	//    1  inc1       load x (preempted)
	//    2  inc1       store x
	//    3  inc0       store x
	// FAIL lost-update: two increments left x at 1
}
