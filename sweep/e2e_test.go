package sweep_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/panther-xbar/panther/sweep"
	_ "github.com/panther-xbar/panther/sweep/trainkind"
)

const tinyFile = "testdata/tiny.yaml"

// comparable is a record without its timing.
type comparable struct {
	Point   int
	ID      string
	Status  string
	Params  map[string]any
	Metrics map[string]float64
}

func readAll(t *testing.T, s *sweep.Sweep, dir string) []comparable {
	t.Helper()
	recs, err := sweep.ReadRecords(s, dir)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]comparable, len(recs))
	for i, r := range recs {
		if r == nil {
			t.Fatalf("%s: point %d has no record", dir, i)
		}
		// Through JSON, as the records lie on disk.
		b, _ := json.Marshal(r)
		json.Unmarshal(b, &out[i])
	}
	return out
}

// TestLocalTrainSweep runs the 8 tiny training points of testdata/tiny.yaml
// twice with different worker counts: the records are equal.
func TestLocalTrainSweep(t *testing.T) {
	s, err := sweep.ReadFile(tinyFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Points) != 8 {
		t.Fatalf("%d points, want 8", len(s.Points))
	}
	a, b := t.TempDir(), t.TempDir()
	if err := sweep.RunLocal(context.Background(), s, a, 2, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := sweep.RunLocal(context.Background(), s, b, 1, nil, nil); err != nil {
		t.Fatal(err)
	}
	ra, rb := readAll(t, s, a), readAll(t, s, b)
	if !reflect.DeepEqual(ra, rb) {
		t.Errorf("two runs of one sweep differ:\n%v\n%v", ra, rb)
	}
	for _, r := range ra {
		if r.Status != sweep.Done || !(r.Metrics["test_accuracy"] > 0.15) || r.Params["limit"] != 256.0 {
			t.Errorf("point %d: %+v", r.Point, r)
		}
	}
}

// TestSlurmSweep runs testdata/tiny.yaml through a real Slurm (started by
// scripts/ci-slurm.sh, which sets PANTHER_SLURM=1): the records equal the
// local backend's. Then it cancels one running array task of a slower copy
// of the sweep, resumes, and checks every record is there once and the
// finished ones were not run again.
func TestSlurmSweep(t *testing.T) {
	if os.Getenv("PANTHER_SLURM") != "1" {
		t.Skip("set PANTHER_SLURM=1 with a Slurm cluster running (scripts/ci-slurm.sh)")
	}
	work := t.TempDir()
	bin := filepath.Join(work, "panther")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/panther").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	s, err := sweep.ReadFile(tinyFile)
	if err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(work, "local")
	if err := sweep.RunLocal(context.Background(), s, local, 2, nil, nil); err != nil {
		t.Fatal(err)
	}
	remote := filepath.Join(work, "slurm")
	run(t, bin, "sweep", tinyFile, "--backend", "slurm", "--out", remote)
	wait(t, s, remote)
	run(t, bin, "sweep", "collect", remote)
	if l, r := readAll(t, s, local), readAll(t, s, remote); !reflect.DeepEqual(l, r) {
		t.Errorf("slurm records differ from local ones:\n%v\n%v", r, l)
	}

	// A slower copy, so that a task is caught mid-run.
	src, _ := os.ReadFile(tinyFile)
	slowFile := filepath.Join(work, "slow.yaml")
	os.WriteFile(slowFile, []byte(strings.Replace(string(src), "limit: 256\n", "limit: 4096\n", 1)), 0o644)
	slow, err := sweep.ReadFile(slowFile)
	if err != nil {
		t.Fatal(err)
	}
	killed := filepath.Join(work, "killed")
	run(t, bin, "sweep", slowFile, "--backend", "slurm", "--out", killed)
	st, _, _ := sweep.ReadSlurmState(killed)
	jobID := st.Jobs[0].ID
	task := -1
	for deadline := time.Now().Add(2 * time.Minute); task < 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		out, _ := exec.Command("squeue", "--noheader", "--array", "--jobs="+jobID, "--states=RUNNING", "--format=%K").Output()
		if f := strings.Fields(string(out)); len(f) > 0 {
			if task, err = strconv.Atoi(f[len(f)-1]); err != nil {
				t.Fatalf("squeue task %q: %v", f[len(f)-1], err)
			}
		}
	}
	if task < 0 {
		t.Fatal("no array task started running")
	}
	run(t, "scancel", jobID+"_"+strconv.Itoa(task))
	wait(t, slow, killed)
	recs, _ := sweep.ReadRecords(slow, killed)
	if recs[task] != nil {
		t.Fatalf("the cancelled task %d left a record: %+v", task, recs[task])
	}
	before := map[int][]byte{}
	for i, r := range recs {
		if r != nil {
			before[i], _ = os.ReadFile(filepath.Join(killed, sweep.PointsDir, r2name(i)))
		}
	}
	t.Logf("task %d cancelled; %d of 8 points done before resume", task, len(before))
	run(t, bin, "sweep", "resume", killed)
	st, _, _ = sweep.ReadSlurmState(killed)
	if last := st.Jobs[len(st.Jobs)-1]; len(last.Tasks) != 8-len(before) {
		t.Errorf("resume submitted tasks %v, want the %d missing", last.Tasks, 8-len(before))
	}
	wait(t, slow, killed)
	run(t, bin, "sweep", "collect", killed)
	readAll(t, slow, killed) // every point has its record
	for i, b := range before {
		now, _ := os.ReadFile(filepath.Join(killed, sweep.PointsDir, r2name(i)))
		if string(now) != string(b) {
			t.Errorf("point %d was run again by resume", i)
		}
	}
	files, _ := filepath.Glob(filepath.Join(killed, sweep.PointsDir, "*"))
	lines, _ := os.ReadFile(filepath.Join(killed, sweep.ResultsJSON))
	if len(files) != 8 || strings.Count(string(lines), "\n") != 8 {
		t.Errorf("%d record files, %d merged records: want 8 and 8", len(files), strings.Count(string(lines), "\n"))
	}
}

func r2name(i int) string { return fmt.Sprintf("%04d.json", i) }

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// wait polls until Slurm runs or queues none of the sweep's tasks.
func wait(t *testing.T, s *sweep.Sweep, dir string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		st, err := sweep.ReadStatus(context.Background(), s, dir)
		if err != nil {
			t.Fatal(err)
		}
		if st.Running+st.Pending == 0 {
			return
		}
	}
	t.Fatalf("%s: the sweep did not finish in 5 minutes", dir)
}
