package sim

// engine owns virtual time: a queue of wake-ups, one at most per component,
// ordered by time and then by component id, so that simultaneous events run
// in the same order on every run. A component that cannot progress is not in
// the queue; whatever unblocks it pushes it back.
type engine struct {
	now  int64
	heap []wakeup
}

type wakeup struct {
	t  int64
	id int32
}

func (w wakeup) before(o wakeup) bool { return w.t < o.t || w.t == o.t && w.id < o.id }

func (e *engine) push(t int64, id int) {
	w := wakeup{t, int32(id)}
	e.heap = append(e.heap, w)
	h := e.heap
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !w.before(h[p]) {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = w
}

func (e *engine) pop() wakeup {
	h := e.heap
	top := h[0]
	last := h[len(h)-1]
	h = h[:len(h)-1]
	e.heap = h
	if len(h) == 0 {
		return top
	}
	i := 0
	for {
		c := 2*i + 1
		if c >= len(h) {
			break
		}
		if c+1 < len(h) && h[c+1].before(h[c]) {
			c++
		}
		if !h[c].before(last) {
			break
		}
		h[i] = h[c]
		i = c
	}
	h[i] = last
	return top
}

// first reports whether component id, ready at t, comes before everything
// queued: it may then go on at t without a round trip through the queue,
// which gives the same order as the round trip.
func (e *engine) first(t int64, id int) bool {
	return len(e.heap) == 0 || (wakeup{t, int32(id)}).before(e.heap[0])
}
