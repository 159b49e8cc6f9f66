package isa

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Word is one encoded instruction: WordBits bits, most significant byte
// first. Byte 0 is the opcode; the fields of the instruction's row follow
// from bit 119 down, in table order; every bit below them is reserved and 0.
type Word [WordBits / 8]byte

// bits128 is a Word as two integers, for field access.
type bits128 struct{ hi, lo uint64 }

func (w Word) bits() bits128 {
	return bits128{binary.BigEndian.Uint64(w[:8]), binary.BigEndian.Uint64(w[8:])}
}

func (b bits128) word() Word {
	var w Word
	binary.BigEndian.PutUint64(w[:8], b.hi)
	binary.BigEndian.PutUint64(w[8:], b.lo)
	return w
}

// put ORs the n-bit value v (n <= 32) into bits lsb .. lsb+n-1.
func (b *bits128) put(lsb, n int, v uint64) {
	v &= 1<<n - 1
	if lsb >= 64 {
		b.hi |= v << (lsb - 64)
		return
	}
	b.lo |= v << lsb
	if lsb+n > 64 {
		b.hi |= v >> (64 - lsb)
	}
}

// get returns bits lsb .. lsb+n-1 (n <= 32).
func (b bits128) get(lsb, n int) uint64 {
	var v uint64
	if lsb >= 64 {
		v = b.hi >> (lsb - 64)
	} else {
		v = b.lo >> lsb
		if lsb+n > 64 {
			v |= b.hi << (64 - lsb)
		}
	}
	return v & (1<<n - 1)
}

// problem says why v is not valid for field f of in, or "".
func (f *Field) problem(a Arch, in Inst, v int) string {
	if f.unused != nil && f.unused(in) {
		if v != 0 {
			return fmt.Sprintf("is not used with %s and must be 0, got %d", in.Alu, v)
		}
		return ""
	}
	return f.Kind.problem(a, v)
}

// Check reports the first reason in is not a valid instruction under a: an
// unknown opcode, an operand out of range, operands that contradict each
// other, or a field set that the instruction does not use.
func Check(a Arch, in Inst) error {
	d := Lookup(in.Op)
	if d == nil {
		return fmt.Errorf("unknown opcode 0x%02x", uint8(in.Op))
	}
	used := Inst{Op: in.Op}
	for i := range d.Fields {
		f := &d.Fields[i]
		v := f.get(&in)
		if msg := f.problem(a, in, v); msg != "" {
			return fmt.Errorf("%s %s: %s", d.Name, f.Name, msg)
		}
		f.set(&used, v)
	}
	if d.rule != nil {
		if msg := d.rule(a, in); msg != "" {
			return fmt.Errorf("%s: %s", d.Name, msg)
		}
	}
	if used != in {
		if len(d.Fields) == 0 {
			return fmt.Errorf("%s has no operands, but a field is set; all must be 0", d.Name)
		}
		names := make([]string, len(d.Fields))
		for i, f := range d.Fields {
			names[i] = f.Name
		}
		return fmt.Errorf("%s: a field it does not use is set; only %s may be non-zero", d.Name, strings.Join(names, ", "))
	}
	return nil
}

// Encode checks in (see Check) and encodes it.
func Encode(a Arch, in Inst) (Word, error) {
	if err := Check(a, in); err != nil {
		return Word{}, err
	}
	d := defByOp[in.Op]
	var b bits128
	b.put(opcodeLSB, 8, uint64(in.Op))
	for i := range d.Fields {
		f := &d.Fields[i]
		b.put(f.lsb, f.Kind.Bits, uint64(f.get(&in)))
	}
	return b.word(), nil
}

// Decode decodes w and checks the result as Encode does; it also rejects
// set reserved bits.
func Decode(a Arch, w Word) (Inst, error) {
	op := Opcode(w[0])
	d := defByOp[op]
	if d == nil {
		return Inst{}, fmt.Errorf("unknown opcode 0x%02x", w[0])
	}
	b := w.bits()
	in := Inst{Op: op}
	used := bits128{}
	used.put(opcodeLSB, 8, 0xff)
	for i := range d.Fields {
		f := &d.Fields[i]
		n := f.Kind.Bits
		raw := b.get(f.lsb, n)
		v := int(raw)
		if f.Kind.Signed && raw>>(n-1) == 1 {
			v -= 1 << n
		}
		f.set(&in, v)
		used.put(f.lsb, n, 1<<n-1)
	}
	if extra := (bits128{b.hi &^ used.hi, b.lo &^ used.lo}); extra != (bits128{}) {
		return Inst{}, fmt.Errorf("%s: reserved bits are set (%x); they must be 0", d.Name, extra.word())
	}
	if err := Check(a, in); err != nil {
		return Inst{}, err
	}
	return in, nil
}
