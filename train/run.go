package train

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/panther-xbar/panther/internal/jsonfloat"
	"github.com/panther-xbar/panther/model/data"
	"github.com/panther-xbar/panther/rng"
)

// Trainer names.
const (
	Panther = "panther"
	FP32    = "fp32"
)

// EpochMetrics is one trainer's record of one epoch.
type EpochMetrics struct {
	Trainer  string `json:"trainer"`
	Epoch    int    `json:"epoch"`
	Examples int    `json:"examples"`
	// TrainLoss and TrainAccuracy are over the epoch's training examples,
	// as each was seen (before its own update).
	TrainLoss     Loss    `json:"train_loss"`
	TrainAccuracy float64 `json:"train_accuracy"`
	TestLoss      Loss    `json:"test_loss"`
	TestAccuracy  float64 `json:"test_accuracy"`
	// Seconds is the training time of the epoch, evaluation excluded.
	Seconds     float64 `json:"seconds"`
	TestSeconds float64 `json:"test_seconds"`
	// Events are the crossbar events of the epoch's training (panther only).
	Events *Events `json:"events,omitempty"`
}

// CurvePoint is the mean loss and accuracy of a trainer over the training
// examples since the previous point.
type CurvePoint struct {
	Trainer  string  `json:"trainer"`
	Examples int     `json:"examples"` // trained so far, all epochs
	Loss     Loss    `json:"loss"`
	Accuracy float64 `json:"accuracy"`
}

// Loss is a recorded mean loss. A diverging trainer's loss is NaN or
// infinite, which JSON has no number for: it is written as the string
// "NaN", "+Inf" or "-Inf" and read back from it. (Accuracies, counts of
// examples, are always finite.)
type Loss float64

// MarshalJSON writes a finite loss as a number, any other as a string.
func (l Loss) MarshalJSON() ([]byte, error) { return jsonfloat.Marshal(float64(l)) }

// UnmarshalJSON reads what MarshalJSON writes.
func (l *Loss) UnmarshalJSON(b []byte) error {
	v, err := jsonfloat.Unmarshal(b)
	if err != nil {
		return fmt.Errorf("loss %w", err)
	}
	*l = Loss(v)
	return nil
}

// Progress is reported after every batch.
type Progress struct {
	Epoch, Epochs  int
	Batch, Batches int // within the epoch
	// Loss and Accuracy are over the epoch so far, for each trainer.
	Loss         Loss
	Accuracy     float64
	FP32Accuracy float64
	HasFP32      bool
}

// Options are the parts of a run that do not change its results.
type Options struct {
	// Checkpoint is a folder for the run's state (empty: none). A
	// checkpoint of the same configuration there is resumed. It is saved
	// after every epoch, when the run is interrupted, and after every
	// CheckpointEvery-th batch (counted across epochs; 0: not within an
	// epoch).
	Checkpoint      string
	CheckpointEvery int
	// MaxMemory refuses a run whose estimated memory (see EstimateMemory)
	// exceeds it, in bytes (0: no limit).
	MaxMemory int64
	// Batch and Epoch, when set, are called after every batch and epoch.
	Batch func(Progress)
	Epoch func([]EpochMetrics)
}

// Validate checks the checkpoint interval and the memory limit.
func (o Options) Validate() error {
	var errs []error
	if o.CheckpointEvery < 0 || o.CheckpointEvery > 0 && o.Checkpoint == "" {
		errs = append(errs, fmt.Errorf("checkpoint every %d batches: want 0 (after every epoch only) or more, with a checkpoint folder", o.CheckpointEvery))
	}
	if o.MaxMemory < 0 {
		errs = append(errs, fmt.Errorf("memory limit %d bytes: want 0 (none) or more", o.MaxMemory))
	}
	return errors.Join(errs...)
}

// Result is a whole run.
type Result struct {
	Config        Config         `json:"config"`
	ConfigHash    string         `json:"config_hash"`
	TrainExamples int            `json:"train_examples"`
	TestExamples  int            `json:"test_examples"`
	Epochs        []EpochMetrics `json:"epochs"`
	Curve         []CurvePoint   `json:"curve"`
	// ResumedFrom gives the epoch and batch a checkpoint resumed at.
	ResumedFrom string `json:"resumed_from,omitempty"`
	// Interrupted is set when the run stopped early (its checkpoint saved).
	Interrupted bool `json:"interrupted,omitempty"`
	// Weights are the crossbar trainer's weights at the end of a finished
	// run (after the final CRS), per layer as model.InitialWeights lays
	// them out; WriteOutputs saves them as weights.json.
	Weights [][]float64 `json:"-"`
}

// ErrInterrupted is returned (with the partial result) when the context
// ended the run at a batch boundary.
var ErrInterrupted = errors.New("training interrupted")

// tally sums losses and hits of one trainer.
type tally struct {
	Loss    float64
	Correct int
	N       int
}

func (t *tally) add(rs []exampleResult) {
	for _, r := range rs {
		t.Loss += r.loss
		if r.correct {
			t.Correct++
		}
		t.N++
	}
}

func (t tally) mean() (loss Loss, acc float64) {
	if t.N == 0 {
		return 0, 0
	}
	return Loss(t.Loss / float64(t.N)), float64(t.Correct) / float64(t.N)
}

// runState is where a run stands: everything a checkpoint needs besides
// the weights.
type runState struct {
	Epoch, BatchInEpoch int
	Batches, LastCRS    int    // batches trained in all, and that count at the last CRS
	Examples            int    // examples trained in all
	Order               []byte // data-order stream at the start of the epoch
	Epochal, Window     [2]tally
	Seconds             [2]float64
	EventsBase          Events
	VectorSats          int64
	Metrics             []EpochMetrics
	Curve               []CurvePoint
}

// Run trains cfg.Model on train, evaluates on test after every epoch, and
// returns the metrics. It stops at the end of the batch during which ctx
// ends, saving a checkpoint when opts.Checkpoint is set, and returns
// ErrInterrupted with the result so far.
func Run(ctx context.Context, cfg Config, train, test *data.Set, opts Options) (*Result, error) {
	r, err := newRunner(cfg, train, test, opts)
	if err != nil {
		return nil, err
	}
	return r.res, r.run(ctx)
}

// runner is one run in progress.
type runner struct {
	cfg           Config
	opts          Options
	train, test   *data.Set
	nTrain, nTest int
	batches       int // per epoch
	xn            *crossbarNet
	fn            *floatNet[float32]
	st            runState
	res           *Result
}

// newRunner checks the configuration against the data, builds both
// trainers and resumes a matching checkpoint.
func newRunner(cfg Config, train, test *data.Set, opts Options) (*runner, error) {
	if err := errors.Join(cfg.Validate(), opts.Validate()); err != nil {
		return nil, err
	}
	if err := checkFits(cfg.Model, train.Size(), data.Classes(train, test)); err != nil {
		return nil, err
	}
	if test.Size() != train.Size() {
		return nil, fmt.Errorf("test examples hold %d values, training examples %d", test.Size(), train.Size())
	}
	r := &runner{cfg: cfg, opts: opts, train: train, test: test}
	r.nTrain, r.nTest = cfg.Examples(train, test)
	if r.nTrain == 0 || r.nTest == 0 {
		return nil, fmt.Errorf("dataset %s: %d training and %d test examples: need at least one of each", cfg.Dataset, r.nTrain, r.nTest)
	}
	r.batches = (r.nTrain + cfg.Batch - 1) / cfg.Batch
	if need := EstimateMemory(cfg, train, test, opts.Checkpoint != ""); opts.MaxMemory > 0 && need.Total() > opts.MaxMemory {
		return nil, fmt.Errorf("training %s needs about %s, more than the memory limit of %s: use fewer or smaller layers or fewer slices, or drop the FP32 reference (--no-fp32); raise the limit (--max-memory) only if the machine has the memory",
			cfg.Model.Name, need, FormatBytes(opts.MaxMemory))
	}
	var err error
	if r.xn, err = newCrossbarNet(cfg.Model, cfg); err != nil {
		return nil, err
	}
	if cfg.FP32 {
		r.fn = newFloatNet[float32](cfg.Model, cfg)
	}
	r.res = &Result{Config: cfg, ConfigHash: cfg.Hash(), TrainExamples: r.nTrain, TestExamples: r.nTest}
	r.st.Order, _ = rng.Derive(cfg.Seed, "order", 0).MarshalBinary()
	if opts.Checkpoint != "" {
		resumed, err := r.resume()
		if err != nil {
			return nil, err
		}
		if resumed {
			r.res.ResumedFrom = fmt.Sprintf("epoch %d, batch %d", r.st.Epoch+1, r.st.BatchInEpoch)
		}
	}
	return r, nil
}

func (r *runner) run(ctx context.Context) error {
	cfg, st, xn, fn := r.cfg, &r.st, r.xn, r.fn
	nTrain := r.nTrain
	batchesPerEpoch := r.batches
	curveEvery := cfg.CurveEvery
	if curveEvery == 0 {
		curveEvery = max(1, batchesPerEpoch/50)
	}
	results := [2][]exampleResult{make([]exampleResult, cfg.Batch), make([]exampleResult, cfg.Batch)}
	pixels, labels := r.train.Example, r.train.Labels
	defer func() { r.res.Epochs, r.res.Curve = st.Metrics, st.Curve }()
	for st.Epoch < cfg.Epochs {
		src := rng.New(0)
		if err := src.UnmarshalBinary(st.Order); err != nil {
			return fmt.Errorf("data order: %w", err)
		}
		perm := src.Perm(nTrain)
		if st.BatchInEpoch == 0 {
			st.EventsBase = xn.events() // after the last test pass's reads
		}
		for st.BatchInEpoch < batchesPerEpoch {
			b := st.BatchInEpoch
			examples := perm[b*cfg.Batch : min((b+1)*cfg.Batch, nTrain)]
			start := time.Now()
			if err := xn.trainBatch(examples, pixels, labels, results[0]); err != nil {
				return err
			}
			st.Batches++
			if st.Batches%cfg.CRSInterval == 0 {
				xn.crs()
				st.LastCRS = st.Batches
			}
			st.Seconds[0] += time.Since(start).Seconds()
			st.Epochal[0].add(results[0][:len(examples)])
			st.Window[0].add(results[0][:len(examples)])
			if fn != nil {
				start = time.Now()
				fn.trainBatch(examples, pixels, labels, results[1])
				st.Seconds[1] += time.Since(start).Seconds()
				st.Epochal[1].add(results[1][:len(examples)])
				st.Window[1].add(results[1][:len(examples)])
			}
			st.Examples += len(examples)
			st.BatchInEpoch++
			if st.Batches%curveEvery == 0 || st.BatchInEpoch == batchesPerEpoch {
				st.addCurvePoints(fn != nil)
			}
			if r.opts.Batch != nil {
				p := Progress{Epoch: st.Epoch + 1, Epochs: cfg.Epochs, Batch: st.BatchInEpoch, Batches: batchesPerEpoch, HasFP32: fn != nil}
				p.Loss, p.Accuracy = st.Epochal[0].mean()
				_, p.FP32Accuracy = st.Epochal[1].mean()
				r.opts.Batch(p)
			}
			if every := r.opts.CheckpointEvery; every > 0 && st.Batches%every == 0 && st.BatchInEpoch < batchesPerEpoch && ctx.Err() == nil {
				// (The epoch's end and an interruption save one anyway.)
				if err := saveCheckpoint(r.opts.Checkpoint, cfg, st, xn, fn); err != nil {
					return err
				}
			}
			if ctx.Err() != nil {
				r.res.Interrupted = true
				if r.opts.Checkpoint != "" {
					if err := saveCheckpoint(r.opts.Checkpoint, cfg, st, xn, fn); err != nil {
						return err
					}
				}
				return ErrInterrupted
			}
		}
		if st.Epoch == cfg.Epochs-1 && st.LastCRS != st.Batches {
			xn.crs() // the final CRS: exported weights are resolved
			st.LastCRS = st.Batches
		}
		epoch, err := st.endEpoch(xn, fn, r.test, r.nTest)
		if err != nil {
			return err
		}
		st.Order, _ = src.MarshalBinary() // the stream after this epoch's permutation
		st.Epoch++
		st.BatchInEpoch = 0
		if r.opts.Checkpoint != "" {
			if err := saveCheckpoint(r.opts.Checkpoint, cfg, st, xn, fn); err != nil {
				return err
			}
		}
		if r.opts.Epoch != nil {
			r.opts.Epoch(epoch)
		}
	}
	var err error
	r.res.Weights, err = xn.weights()
	return err
}

// Examples is the number of training and test examples the run uses: the
// first Limit and TestLimit of each set (all for 0).
func (c Config) Examples(train, test *data.Set) (nTrain, nTest int) {
	limit := func(n, lim int) int {
		if lim > 0 {
			return min(n, lim)
		}
		return n
	}
	return limit(train.Len(), c.Limit), limit(test.Len(), c.TestLimit)
}

func (st *runState) addCurvePoints(fp32 bool) {
	for t, name := range []string{Panther, FP32} {
		if t == 1 && !fp32 {
			break
		}
		loss, acc := st.Window[t].mean()
		st.Curve = append(st.Curve, CurvePoint{Trainer: name, Examples: st.Examples, Loss: loss, Accuracy: acc})
		st.Window[t] = tally{}
	}
}

// endEpoch evaluates both trainers on the test set and records the epoch.
func (st *runState) endEpoch(xn *crossbarNet, fn *floatNet[float32], test *data.Set, nTest int) ([]EpochMetrics, error) {
	// The events are read before the test pass: they count training only.
	events := xn.events().Combine(st.EventsBase, -1)
	results := make([]exampleResult, nTest)
	start := time.Now()
	if err := xn.evaluate(nTest, test.Example, test.Labels, results); err != nil {
		return nil, err
	}
	var t tally
	t.add(results)
	m := EpochMetrics{Trainer: Panther, Epoch: st.Epoch + 1, Examples: st.Epochal[0].N, Seconds: st.Seconds[0],
		TestSeconds: time.Since(start).Seconds(), Events: &events}
	m.TrainLoss, m.TrainAccuracy = st.Epochal[0].mean()
	m.TestLoss, m.TestAccuracy = t.mean()
	out := []EpochMetrics{m}
	if fn != nil {
		start = time.Now()
		fn.evaluate(nTest, test.Example, test.Labels, results)
		t = tally{}
		t.add(results)
		f := EpochMetrics{Trainer: FP32, Epoch: st.Epoch + 1, Examples: st.Epochal[1].N, Seconds: st.Seconds[1],
			TestSeconds: time.Since(start).Seconds()}
		f.TrainLoss, f.TrainAccuracy = st.Epochal[1].mean()
		f.TestLoss, f.TestAccuracy = t.mean()
		out = append(out, f)
	}
	st.Metrics = append(st.Metrics, out...)
	st.Epochal, st.Seconds = [2]tally{}, [2]float64{}
	return out, nil
}
