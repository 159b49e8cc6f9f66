// Command panther is the command line of the panther toolchain: each
// subcommand lives in its own file, reads flags, calls the library and prints.
// No model logic lives here.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// root is the top command; each subcommand file adds itself in init.
var root = &cobra.Command{
	Use:           "panther",
	Short:         "Toolchain for PANTHER, a ReRAM-crossbar training accelerator",
	Long:          "panther models bit-sliced ReRAM crossbars exactly and builds, simulates and evaluates\ntraining programs for the PANTHER accelerator.",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	if err := execute(); err != nil {
		fmt.Fprintln(os.Stderr, "panther:", err)
		os.Exit(exitStatus(err))
	}
}

// execute runs the command line, within the profiles it asks for.
func execute() error {
	err := root.Execute()
	return errors.Join(err, stopProfiles())
}

// stoppedBy is the error of a command that a signal stopped; the process
// exits with 128 plus the signal's number, as shells report a process the
// signal killed (130 for SIGINT, 143 for SIGTERM), so that scripts and
// batch schedulers can tell a stopped run from a finished one.
type stoppedBy struct {
	sig syscall.Signal
	err error // what the command reports
}

func (s stoppedBy) Error() string { return s.err.Error() }
func (s stoppedBy) Unwrap() error { return s.err }

// exitStatus is the process's exit status for a command's error.
func exitStatus(err error) int {
	var s stoppedBy
	if errors.As(err, &s) {
		return 128 + int(s.sig)
	}
	return 1
}

// signalContext is ctx, cancelled by SIGINT or SIGTERM with the signal as
// its cause (see signalOf); stop releases the signals.
func signalContext(ctx context.Context) (_ context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			sig := s.(syscall.Signal)
			cancel(stoppedBy{sig: sig, err: fmt.Errorf("stopped by %s", signalName(sig))})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel(nil)
	}
}

// signalName is SIGINT or SIGTERM, as users send them.
func signalName(s syscall.Signal) string {
	if s == syscall.SIGINT {
		return "SIGINT"
	}
	return "SIGTERM"
}

// signalOf is the signal that cancelled a signalContext, and false when
// none did.
func signalOf(ctx context.Context) (syscall.Signal, bool) {
	var s stoppedBy
	if errors.As(context.Cause(ctx), &s) {
		return s.sig, true
	}
	return 0, false
}
