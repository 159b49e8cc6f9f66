package train

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/panther-xbar/panther/internal/atomicfile"
	"github.com/panther-xbar/panther/xbar"
)

// checkpointVersion changes whenever the checkpoint's content changes.
const checkpointVersion = 1

// CheckpointFile is the file a checkpoint folder holds.
const CheckpointFile = "checkpoint.gob"

// checkpoint is the whole state of a run at a batch boundary.
type checkpoint struct {
	Version  int
	Hash     string
	Identity []byte // the configuration's JSON, to say what differs
	State    runState
	Units    []xbar.UnitState
	Float    [][]float32 // per layer; nil where a layer has no weights
}

func saveCheckpoint(dir string, cfg Config, st *runState, xn *crossbarNet, fn *floatNet[float32]) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	st.VectorSats = xn.vectorSats
	cp := checkpoint{Version: checkpointVersion, Hash: cfg.Hash(), Identity: cfg.identity(), State: *st}
	for _, u := range xn.units() {
		us, err := u.State()
		if err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		cp.Units = append(cp.Units, us)
	}
	if fn != nil {
		for _, l := range fn.layers {
			cp.Float = append(cp.Float, l.m)
		}
	}
	return atomicfile.Write(filepath.Join(dir, CheckpointFile), func(w io.Writer) error {
		return gob.NewEncoder(w).Encode(&cp)
	})
}

// loadCheckpoint restores a checkpoint from dir into st, xn and fn. It
// reports false when there is none; a checkpoint of another configuration
// or version is an error that says what differs.
func loadCheckpoint(dir string, cfg Config, st *runState, xn *crossbarNet, fn *floatNet[float32]) (bool, error) {
	path := filepath.Join(dir, CheckpointFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checkpoint: %w", err)
	}
	var cp checkpoint
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&cp); err != nil {
		return false, fmt.Errorf("checkpoint %s is unreadable (%v): delete it or choose another folder", path, err)
	}
	if cp.Version != checkpointVersion {
		return false, fmt.Errorf("checkpoint %s has version %d, this panther writes version %d: delete it or choose another folder", path, cp.Version, checkpointVersion)
	}
	if cp.Hash != cfg.Hash() {
		diff := differences(cp.Identity, cfg.identity())
		return false, fmt.Errorf("checkpoint %s belongs to a different configuration (differs in: %s): use the same settings to resume, or another --checkpoint folder",
			path, strings.Join(diff, ", "))
	}
	us := xn.units()
	if len(cp.Units) != len(us) {
		return false, fmt.Errorf("checkpoint %s holds %d crossbar units, the model has %d", path, len(cp.Units), len(us))
	}
	for i, u := range us {
		if err := u.Restore(cp.Units[i]); err != nil {
			return false, fmt.Errorf("checkpoint %s: unit %d: %w", path, i, err)
		}
	}
	if fn != nil {
		if len(cp.Float) != len(fn.layers) {
			return false, fmt.Errorf("checkpoint %s holds %d FP32 layers, the model has %d", path, len(cp.Float), len(fn.layers))
		}
		for i := range fn.layers {
			if len(cp.Float[i]) != len(fn.layers[i].m) {
				return false, fmt.Errorf("checkpoint %s: FP32 layer %d holds %d weights, want %d", path, i+1, len(cp.Float[i]), len(fn.layers[i].m))
			}
			copy(fn.layers[i].m, cp.Float[i])
		}
	}
	*st = cp.State
	xn.vectorSats = st.VectorSats
	return true, nil
}
