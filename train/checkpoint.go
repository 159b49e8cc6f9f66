package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/panther-xbar/panther/internal/atomicfile"
	"github.com/panther-xbar/panther/xbar"
)

// checkpointVersion changes whenever the checkpoint's content changes.
// Version 2 added the checksum header.
const checkpointVersion = 2

// CheckpointFile is the file a checkpoint folder holds.
const CheckpointFile = "checkpoint.gob"

// A checkpoint file is the line checkpointHeader, the gob payload, and
// the line "sha256 " + the payload's hex SHA-256 (written as the payload
// streams out, so no second copy of it is held).
const (
	checkpointHeader  = "panther checkpoint 2\n"
	checkpointSumLine = len("sha256 \n") + 2*sha256.Size
)

// checkpoint is the whole state of a run at a batch boundary.
type checkpoint struct {
	Version  int
	Hash     string
	Identity []byte // the configuration's JSON, to say what differs
	State    runState
	Units    []xbar.UnitState
	// Biases holds, for each layer with a bias outside the crossbars in
	// layer order, its read codes followed by its update codes.
	Biases [][]int16
	Float  [][]float32 // per layer; nil where a layer has no weights
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
	for _, b := range xn.vectorBiases() {
		cp.Biases = append(cp.Biases, slices.Concat(b.read, b.update))
	}
	if fn != nil {
		for _, l := range fn.layers {
			cp.Float = append(cp.Float, l.m)
		}
	}
	return atomicfile.Write(filepath.Join(dir, CheckpointFile), func(w io.Writer) error {
		if _, err := io.WriteString(w, checkpointHeader); err != nil {
			return err
		}
		h := sha256.New()
		if err := gob.NewEncoder(io.MultiWriter(w, h)).Encode(&cp); err != nil {
			return err
		}
		_, err := fmt.Fprintf(w, "sha256 %x\n", h.Sum(nil))
		return err
	})
}

// decodeCheckpoint checks a checkpoint file's header, checksum and version
// and decodes it; path names the file in messages.
func decodeCheckpoint(path string, b []byte) (*checkpoint, error) {
	fix := "delete it (or restore a copy) to start afresh, or choose another --checkpoint folder"
	payload, ok := bytes.CutPrefix(b, []byte(checkpointHeader))
	if !ok {
		return nil, fmt.Errorf("checkpoint %s does not start with the line %q: it is not a checkpoint of this panther version: %s",
			path, strings.TrimSpace(checkpointHeader), fix)
	}
	var recorded string
	if n := len(payload) - checkpointSumLine; n >= 0 {
		recorded, ok = strings.CutPrefix(string(payload[n:]), "sha256 ")
		recorded, payload = strings.TrimSuffix(recorded, "\n"), payload[:n]
	}
	if !ok || recorded == "" {
		return nil, fmt.Errorf("checkpoint %s does not end with its checksum line (sha256 and 64 hex digits): it was cut short or changed: %s", path, fix)
	}
	sum := sha256.Sum256(payload)
	if computed := hex.EncodeToString(sum[:]); computed != recorded {
		return nil, fmt.Errorf("checkpoint %s is corrupt: its content has SHA-256 %s, its last line records %q (the file changed after it was written): %s",
			path, computed, recorded, fix)
	}
	var cp checkpoint
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(&cp); err != nil {
		return nil, fmt.Errorf("checkpoint %s is unreadable (%v): %s", path, err, fix)
	}
	if cp.Version != checkpointVersion {
		return nil, fmt.Errorf("checkpoint %s has version %d, this panther writes version %d: %s", path, cp.Version, checkpointVersion, fix)
	}
	return &cp, nil
}

// resume restores the checkpoint in the run's checkpoint folder, after
// removing the temporary files of a checkpoint write that was killed. It
// reports false when there is none; a corrupt checkpoint, or one of
// another configuration or version, is an error that says what is wrong.
func (r *runner) resume() (bool, error) {
	path := filepath.Join(r.opts.Checkpoint, CheckpointFile)
	if _, err := atomicfile.RemoveStale(path); err != nil {
		return false, fmt.Errorf("checkpoint: %w", err)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checkpoint: %w", err)
	}
	cp, err := decodeCheckpoint(path, b)
	if err != nil {
		return false, err
	}
	return true, r.restore(path, cp)
}

// restore puts a decoded checkpoint (read from path) into the run, after
// checking that it belongs to the run's configuration and shapes.
func (r *runner) restore(path string, cp *checkpoint) error {
	cfg := r.cfg
	if cp.Hash != cfg.Hash() {
		diff := differences(cp.Identity, cfg.identity())
		return fmt.Errorf("checkpoint %s belongs to a different configuration (differs in: %s): use the same settings to resume, or another --checkpoint folder",
			path, strings.Join(diff, ", "))
	}
	if s := cp.State; s.Epoch < 0 || s.Epoch > cfg.Epochs || s.BatchInEpoch < 0 || s.BatchInEpoch > r.batches || s.Batches < 0 || s.Examples < 0 {
		return fmt.Errorf("checkpoint %s stands at epoch %d, batch %d (%d batches, %d examples in all), outside a run of %d epochs of %d batches: delete it",
			path, s.Epoch+1, s.BatchInEpoch, s.Batches, s.Examples, cfg.Epochs, r.batches)
	}
	us := r.xn.units()
	if len(cp.Units) != len(us) {
		return fmt.Errorf("checkpoint %s holds %d crossbar units, the model has %d", path, len(cp.Units), len(us))
	}
	for i, u := range us {
		if err := u.Restore(cp.Units[i]); err != nil {
			return fmt.Errorf("checkpoint %s: unit %d: %w", path, i, err)
		}
	}
	bs := r.xn.vectorBiases()
	if len(cp.Biases) != len(bs) {
		return fmt.Errorf("checkpoint %s holds %d biases outside the crossbars, the model has %d", path, len(cp.Biases), len(bs))
	}
	for i, b := range bs {
		if len(cp.Biases[i]) != 2*len(b.update) {
			return fmt.Errorf("checkpoint %s: bias %d holds %d codes, want %d", path, i+1, len(cp.Biases[i]), 2*len(b.update))
		}
		copy(b.read, cp.Biases[i])
		copy(b.update, cp.Biases[i][len(b.update):])
	}
	if fn := r.fn; fn != nil {
		if len(cp.Float) != len(fn.layers) {
			return fmt.Errorf("checkpoint %s holds %d FP32 layers, the model has %d", path, len(cp.Float), len(fn.layers))
		}
		for i := range fn.layers {
			if len(cp.Float[i]) != len(fn.layers[i].m) {
				return fmt.Errorf("checkpoint %s: FP32 layer %d holds %d weights, want %d", path, i+1, len(cp.Float[i]), len(fn.layers[i].m))
			}
			copy(fn.layers[i].m, cp.Float[i])
		}
	}
	r.st = cp.State
	r.xn.vectorSats = r.st.VectorSats
	return nil
}
