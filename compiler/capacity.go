package compiler

import "fmt"

// CapacityError reports a well-formed model and configuration whose
// program does not fit a capacity of the architecture: a tile's or core's
// instruction memory, a core's data memory, a tile's shared memory, the
// tiles of its nodes, a reader count's range, the outputs one core
// finishes. A larger architecture, or fewer examples per program where
// the message says so, would compile; a caller that measures many points
// can skip this one and go on (errors.As), where any other error of
// Compile is a fault of its input or of the compiler. Its message is
// Err's.
type CapacityError struct {
	Err error
}

func (e *CapacityError) Error() string { return e.Err.Error() }

func (e *CapacityError) Unwrap() error { return e.Err }

// doesNotFit is a CapacityError with a message formatted as by fmt.Errorf.
func doesNotFit(format string, args ...any) error {
	return &CapacityError{Err: fmt.Errorf(format, args...)}
}
