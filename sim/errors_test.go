package sim

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/program"
)

// testdata/deadlock.s: the run stops and names every blocked unit with its
// program counter, instruction and what it waits for. Tile 2's second send
// comes at 2 + 2 (the eDRAM read of the first) + 1 (its one flit) = 5.
func TestDeadlockIsReported(t *testing.T) {
	a := preset(t, "panther")
	s, err := New(a, assemble(t, a, "deadlock.s"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Run(context.Background())
	var dl *DeadlockError
	if !errors.As(err, &dl) {
		t.Fatalf("got %v, want a deadlock", err)
	}
	want := []string{
		"tile 0 control unit pc 0 (receive 300, 1, 16, 1, 1) since cycle 2: waits for a message from tile 1 in its receive-buffer slot for that sender; none has been sent",
		"tile 0 core 0 pc 1 (ld r1, r0, 1, 1) since cycle 3: waits for shared-memory word 50 of tile 0 to become valid (it reads words 50..50); nothing has stored it",
		"tile 0 core 1 pc 1 (st r0, r1, 1, 1, 1) since cycle 3: waits for shared-memory word 60 of tile 0 to be free (it writes words 60..60); it holds initial data, which reads never free",
		"tile 1 control unit pc 0 (send 0, 0, 16, 300, 1) since cycle 2: waits for shared-memory word 0 of tile 1 to become valid (it reads words 0..15); nothing has stored it",
		"tile 2 control unit pc 1 (send 0, 3, 2, 0, 1) since cycle 5: waits for tile 3 to receive the previous message from tile 2, which still fills the receive-buffer slot for this sender",
		"tile 3 control unit pc 0 (receive 0, 1, 2, 1, 1) since cycle 2: waits for a message from tile 1 in its receive-buffer slot for that sender; none has been sent",
	}
	if len(dl.Blocked) != len(want) {
		t.Fatalf("%d blocked, want %d:\n%v", len(dl.Blocked), len(want), err)
	}
	for i, w := range want {
		if got := dl.Blocked[i].String(); got != w {
			t.Errorf("blocked %d:\n got %s\nwant %s", i, got, w)
		}
	}
	if !r.Partial || len(r.Blocked) != len(want) || !strings.HasPrefix(r.Stopped, "deadlock at cycle") {
		t.Errorf("the report is not marked partial with the blocked list: partial %v, %q", r.Partial, r.Stopped)
	}
}

// Programs the simulator refuses before running, each with an error that
// names the place and the problem.
func TestLoadErrors(t *testing.T) {
	a := preset(t, "panther")
	core := func(body string) string { return ".tile 0\n\thalt\n.core 0\n" + body + "\thlt\n" }
	for _, c := range []struct {
		name, arch, src string
		weights         []program.Weights
		change          func(*program.Program)
		want            string
	}{
		{name: "other architecture", src: core("\tnop\n"), change: func(p *program.Program) { p.Arch.MatrixUnits = 4 },
			want: "the program was built for MatrixUnits = 4, but architecture panther has structure.matrix_units = 2"},
		{name: "missing matrix unit", src: core("\tmvm u0:mvm, u1:mtvm\n"), weights: unitImages(0, 0, 8, 8, 1),
			want: "tile 0 core 0 instruction 0 (mvm u0:mvm, u1:mtvm): matrix unit 1 has no weight image"},
		{name: "registers past the end", src: core("\tset r0, 0, 1\n\tld r2040, r0, 16, 1\n"),
			want: "tile 0 core 0 instruction 1 (ld r2040, r0, 16, 1): d1 reaches registers 3576..3591, past the register space (0..3583)"},
		{name: "branch past the end", src: core("\tjmp 7\n"),
			want: "tile 0 core 0 instruction 0 (jmp 7): branch target 7 is past the end of the program (2 instructions)"},
		{name: "OPA without an update", arch: "puma", src: core("\tmvm u0:mvm+opa\n"), weights: unitImages(0, 0, 8, 8, 1),
			want: "architecture puma has no weight update (ops.update.mechanism: none), so OPA cannot run"},
		{name: "CRS without an update", arch: "puma", src: core("\tcrs u0\n"), weights: unitImages(0, 0, 8, 8, 1),
			want: "so CRS cannot run"},
		{name: "CRS on a design without CRS", arch: "serial", src: core("\tcrs u0\n"), weights: unitImages(0, 0, 8, 8, 1),
			want: "architecture serial resolves every update at once (crossbar.opa_mode: resolved), so it has no CRS: compile the program for it (panther compile --arch serial)"},
		{name: "send to a tile without code", src: ".tile 0\n\tsend 0, 5, 1, 0, 1\n\thalt\n",
			want: "tile 0 control unit instruction 0 (send 0, 5, 1, 0, 1): cannot send to tile 5: it has no code in this program"},
		{name: "send past shared memory", src: ".tile 0\n\tsend 32760, 0, 16, 0, 1\n\thalt\n",
			want: "mem_addr words 32760..32775 run past shared memory (0..32767)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			aa := a
			if c.arch != "" {
				aa = preset(t, c.arch)
			}
			p := assemble(t, aa, c.name, c.src)
			p.Weights = c.weights
			if c.change != nil {
				c.change(p)
			}
			_, err := New(aa, p, Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v\nwant %q", err, c.want)
			}
		})
	}
}

// Instructions that fail while running stop the run with a RuntimeError
// naming the unit, the program counter and the instruction.
func TestRuntimeErrors(t *testing.T) {
	a := preset(t, "panther")
	for _, c := range []struct {
		name, src, want string
	}{
		{"address out of range", ".tile 0\n\thalt\n.core 0\n\tset r0, -1, 1\n\tld r1, r0, 4, 1\n\thlt\n",
			"tile 0 core 0 pc 1 (ld r1, r0, 4, 1): shared-memory words 65535..65538 lie outside shared memory (0..32767): r0 holds the address 65535"},
		{"division by zero", ".tile 0\n\thalt\n.core 0\n\tset r1, 0, 1\n\talu_int div r2, r0, r1\n\thlt\n",
			"tile 0 core 0 pc 1 (alu_int div r2, r0, r1): division by zero: r1 holds 0"},
		{"no hlt", ".tile 0\n\thalt\n.core 0\n\tnop\n",
			"tile 0 core 0 pc 0 (nop): execution ran past the last instruction (0); end the program with hlt"},
		{"message and receive disagree", ".tile 0\n.data 0\n.word 1, 2, 3\n\tsend 0, 1, 3, 0, 1\n\thalt\n.tile 1\n\treceive 0, 0, 2, 1, 1\n\thalt\n",
			"tile 1 control unit pc 0 (receive 0, 0, 2, 1, 1): the message from tile 0 holds 3 words for address 0, but this receive takes 2 words at 0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := New(a, assemble(t, a, c.name, c.src), Options{})
			if err != nil {
				t.Fatal(err)
			}
			r, err := s.Run(context.Background())
			var re *RuntimeError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v\nwant %q", err, c.want)
			}
			if !r.Partial {
				t.Error("the report is not marked partial")
			}
		})
	}
}

// A program that never ends stops at the cycle limit; a cancelled context
// stops a run too. Both leave a partial report.
func TestLivelockAndInterrupt(t *testing.T) {
	a := preset(t, "panther")
	src := ".tile 0\n\thalt\n.core 0\nloop:\n\tjmp loop\n"
	s, err := New(a, assemble(t, a, "loop.s", src), Options{MaxCycles: 1000})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Run(context.Background())
	var le *LimitError
	if !errors.As(err, &le) || !r.Partial || r.Cycles != 1000 {
		t.Errorf("got %v after %d cycles (partial %v), want the limit at 1000", err, r.Cycles, r.Partial)
	}
	if want := "tile 0 core 0 pc 0 (jmp 0) since cycle 1000: still running, not waiting: it has executed 333 instructions and not reached hlt"; len(r.Blocked) != 1 || r.Blocked[0].String() != want {
		t.Errorf("units not halted at the limit: %v\nwant [%s]", r.Blocked, want)
	}

	s, err = New(a, assemble(t, a, "loop.s", src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err = s.Run(ctx)
	if !errors.Is(err, ErrInterrupted) || !r.Partial || r.Instructions != checkEvery {
		t.Errorf("got %v after %d instructions, want an interruption at %d", err, r.Instructions, checkEvery)
	}
}

// At the cycle limit the error and the report list every unit that has not
// halted, running or waiting, as a deadlock does: here core 0 loops and
// tile 0's control unit waits for a message tile 1 never sends.
func TestLivelockListsUnhaltedUnits(t *testing.T) {
	a := preset(t, "panther")
	src := ".tile 0\n\treceive 0, 1, 1, 1, 1\n\thalt\n.core 0\nloop:\n\tjmp loop\n.tile 1\n\thalt\n"
	s, err := New(a, assemble(t, a, "livelock.s", src), Options{MaxCycles: 1000})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Run(context.Background())
	want := []string{
		"tile 0 control unit pc 0 (receive 0, 1, 1, 1, 1) since cycle 2: waits for a message from tile 1 in its receive-buffer slot for that sender; none has been sent",
		"tile 0 core 0 pc 0 (jmp 0) since cycle 1000: still running, not waiting: it has executed 333 instructions and not reached hlt",
	}
	var le *LimitError
	if !errors.As(err, &le) {
		t.Fatalf("got %v, want the cycle limit", err)
	}
	if wantErr := "stopped at the cycle limit of 1000 cycles: the program loops without end (a livelock) or needs a higher limit (--max-cycles); 2 not halted:\n  " + strings.Join(want, "\n  "); err.Error() != wantErr {
		t.Errorf("error:\n%v\nwant\n%s", err, wantErr)
	}
	got := make([]string, len(r.Blocked))
	for i, b := range r.Blocked {
		got[i] = b.String()
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("report lists\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var text strings.Builder
	if err := r.WriteTable(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "not halted    "+want[1]) {
		t.Errorf("the text report does not list the running core:\n%s", text.String())
	}
}

// The isa and alu operation tables agree by name, so every vector operation
// reaches package alu.
func TestEveryVectorOperationHasAnALUCounterpart(t *testing.T) {
	for op := range isa.AluRandCmp + 1 {
		if aluOps[op].String() != op.String() {
			t.Errorf("%s has no counterpart in package alu", op)
		}
		if op.Unary() != aluOps[op].Unary() {
			t.Errorf("%s: isa unary %v, alu unary %v", op, op.Unary(), aluOps[op].Unary())
		}
	}
}
