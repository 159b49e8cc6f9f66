package compiler

import (
	"github.com/panther-xbar/panther/alu"
	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/isa"
	"github.com/panther-xbar/panther/program"
	"github.com/panther-xbar/panther/xbar"
)

// emu runs a whole program, tile programs included, on the compiler's
// machine with the numerics of package sim added (vector operations through
// package alu, matrix units through package xbar), so that tests can read
// the final shared memory and crossbar cells, which sim does not expose.
type emu struct {
	*machine
	units map[*mproc][]*xbar.Unit
	eta   map[*mproc][]float64
}

func newEmu(ar *arch.Arch, p *program.Program) (*emu, error) {
	e := &emu{machine: newMachine(p.Arch), units: map[*mproc][]*xbar.Unit{}, eta: map[*mproc][]float64{}}
	for _, tc := range p.Code.Tiles {
		e.load(tc)
	}
	for _, w := range p.Weights {
		for _, pr := range e.procs {
			if pr.t.id != w.Tile || pr.core != w.Core {
				continue
			}
			if e.units[pr] == nil {
				e.units[pr] = make([]*xbar.Unit, p.Arch.MatrixUnits)
				e.eta[pr] = make([]float64, p.Arch.MatrixUnits)
			}
			u, err := xbar.NewUnit(ar.UnitConfig(), w.Rows, w.Cols)
			if err != nil {
				return nil, err
			}
			if err := u.Program(w.Codes); err != nil {
				return nil, err
			}
			e.units[pr][w.Unit], e.eta[pr][w.Unit] = u, w.Eta
		}
	}
	e.numeric = e.exec
	return e, nil
}

// exec is the numeric half of an instruction, as package sim runs it.
func (e *emu) exec(p *mproc, in isa.Inst) error {
	a := e.a
	switch in.Op {
	case isa.OpAlu, isa.OpAlui:
		n := in.Vec
		x := append([]int16(nil), p.regs[in.R1:in.R1+n]...)
		var y []int16
		if in.Op == isa.OpAlui {
			y = make([]int16, n)
			for i := range y {
				y[i] = int16(in.Imm)
			}
		} else if !in.Alu.Unary() {
			y = append([]int16(nil), p.regs[in.R2:in.R2+n]...)
		}
		dst := p.regs[in.D1 : in.D1+n]
		if in.Alu == isa.AluRelud {
			for i := range dst {
				dst[i], _ = alu.Mul(x[i], alu.Relud(y[i]))
			}
			return nil
		}
		op, err := alu.ParseOp(in.Alu.String())
		if err != nil {
			return err
		}
		_, err = alu.Apply(op, dst, x, y, nil)
		return err
	case isa.OpMvm:
		for u, un := range e.units[p] {
			if un == nil {
				continue
			}
			rows, cols := un.Forward().Rows(), un.Forward().Cols()
			if in.Mask.Runs(u, isa.XbarMVM) {
				if err := un.MVM(p.regs[a.XbarIn(u, isa.XbarMVM):][:rows], p.regs[a.XbarOut(u, isa.XbarMVM):][:cols], nil); err != nil {
					return err
				}
			}
			if in.Mask.Runs(u, isa.XbarMTVM) {
				if err := un.MTVM(p.regs[a.XbarIn(u, isa.XbarMTVM):][:cols], p.regs[a.XbarOut(u, isa.XbarMTVM):][:rows], nil); err != nil {
					return err
				}
			}
			if in.Mask.Runs(u, isa.XbarOPA) {
				if err := un.OPA(p.regs[a.XbarIn(u, isa.XbarOPA):][:rows], p.regs[a.XbarOut(u, isa.XbarOPA):][:cols], e.eta[p][u]); err != nil {
					return err
				}
			}
		}
	case isa.OpCrs:
		for u, un := range e.units[p] {
			if un != nil && in.Mask.Resolves(u) {
				un.CRS()
			}
		}
	}
	return nil
}

// unit returns the matrix unit of tile, core, unit.
func (e *emu) unit(tile, core, unit int) *xbar.Unit {
	for p, us := range e.units {
		if p.t.id == tile && p.core == core {
			return us[unit]
		}
	}
	return nil
}

// results reads an inference program's outputs: per example, the network's
// output in the model's order (C, H, W).
func (e *emu) results(res *Result, examples int, out mapShape) [][]int16 {
	ys := make([][]int16, examples)
	for ex := range ys {
		ys[ex] = make([]int16, out.size())
		for _, o := range res.Outputs {
			t := e.tiles[o.Tile]
			w := o.C1 - o.C0
			for px := range o.Pixels {
				for c := o.C0; c < o.C1; c++ {
					ys[ex][c*out.pixels()+px] = t.mem[o.Addr+(ex*o.Pixels+px)*w+c-o.C0]
				}
			}
		}
	}
	return ys
}
