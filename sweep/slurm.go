package sweep

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/panther-xbar/panther/internal/atomicfile"
)

// Files of a Slurm sweep in its results folder.
const (
	BatchFile = "sweep.sbatch" // the job-array script
	SlurmFile = "slurm.json"   // the jobs submitted
	LogsDir   = "logs"         // one log per array task
)

// Batch is what the job-array script needs.
type Batch struct {
	// Exe is the panther binary the tasks run; Workdir the folder they run
	// in (relative paths in the sweep file resolve against it); Dir the
	// results folder. All three must be the same paths on the cluster's
	// nodes.
	Exe, Workdir, Dir string
	Name              string
	Points, Chunk     int
	Res               Slurm
}

// Tasks is the number of array tasks: one per chunk of points.
func (b Batch) Tasks() int { return (b.Points + b.Chunk - 1) / b.Chunk }

var batchTemplate = template.Must(template.New("sbatch").Funcs(template.FuncMap{"q": shellQuote, "sub": func(a, b int) int { return a - b }}).Parse(`#!/bin/bash
# Written by panther sweep: array task T runs points T*{{.Chunk}} to T*{{.Chunk}}+{{sub .Chunk 1}} of
# {{q .Dir}}/sweep.yaml, each writing its record into {{q .Dir}}/points.
#SBATCH --job-name={{.Name}}
#SBATCH --array=0-{{sub .Tasks 1}}
#SBATCH --output={{.Dir}}/logs/%A_%a.out
#SBATCH --chdir={{.Workdir}}
#SBATCH --ntasks=1
{{- with .Res.Time}}
#SBATCH --time={{.}}{{end}}
{{- with .Res.CPUs}}
#SBATCH --cpus-per-task={{.}}{{end}}
{{- with .Res.Mem}}
#SBATCH --mem={{.}}{{end}}
{{- with .Res.Partition}}
#SBATCH --partition={{.}}{{end}}
{{- with .Res.Account}}
#SBATCH --account={{.}}{{end}}
{{- range .Res.Options}}
#SBATCH {{.}}{{end}}
set -u
status=0
first=$((SLURM_ARRAY_TASK_ID * {{.Chunk}}))
for i in $(seq "$first" $((first + {{sub .Chunk 1}}))); do
  [ "$i" -lt {{.Points}} ] || break
  {{q .Exe}} sweep {{q .Dir}}/sweep.yaml --out {{q .Dir}} --point "$i" || status=1
done
exit "$status"
`))

// WriteBatch writes the job-array script.
func WriteBatch(w io.Writer, b Batch) error {
	return batchTemplate.Execute(w, struct {
		Batch
		Tasks int
	}{b, b.Tasks()})
}

// shellQuote quotes s for bash.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Job is one sbatch submission.
type Job struct {
	ID string `json:"id"`
	// Tasks are the array task indices submitted.
	Tasks     []int     `json:"tasks"`
	Submitted time.Time `json:"submitted"`
}

// SlurmState is slurm.json: how the sweep was split and what was
// submitted, newest job last.
type SlurmState struct {
	Exe   string `json:"exe"`
	Chunk int    `json:"chunk"`
	Jobs  []Job  `json:"jobs"`
}

// ReadSlurmState reads slurm.json; ok is false when the sweep never went
// to Slurm.
func ReadSlurmState(dir string) (st SlurmState, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, SlurmFile))
	if errors.Is(err, os.ErrNotExist) {
		return st, false, nil
	}
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil {
		return st, false, fmt.Errorf("%s: %w", filepath.Join(dir, SlurmFile), err)
	}
	return st, true, nil
}

func writeSlurmState(dir string, st SlurmState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, SlurmFile), append(b, '\n'))
}

// SubmitSlurm writes the batch script of s into dir and submits the array
// tasks that hold points not yet done (all of them on a first run), with
// chunk points per task (0: the sweep file's, else 1). exe is the panther
// binary the tasks run. It returns the job, or ok false when nothing is
// left to run. It holds the folder's lock while it submits, so that two
// submissions never queue one task twice; note, when not nil, receives
// remarks such as a stale lock taken over.
func SubmitSlurm(ctx context.Context, s *Sweep, dir, exe string, chunk int, note func(string)) (job Job, ok bool, err error) {
	if err := Prepare(s, dir); err != nil {
		return job, false, err
	}
	release, msg, err := lockFolder(dir)
	if err != nil {
		return job, false, err
	}
	defer release()
	tell(note, msg)
	st, had, err := ReadSlurmState(dir)
	if err != nil {
		return job, false, err
	}
	if had && chunk != 0 && chunk != st.Chunk {
		return job, false, fmt.Errorf("%s was split into chunks of %d points: resume it with the same --chunk", dir, st.Chunk)
	}
	if had {
		chunk = st.Chunk
	}
	if chunk == 0 {
		chunk = max(1, s.Slurm.Chunk)
	}
	abs := func(p string) (string, error) { return filepath.Abs(p) }
	name := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, strings.TrimSuffix(filepath.Base(s.Path), filepath.Ext(s.Path)))
	b := Batch{Exe: exe, Name: "panther-sweep-" + name, Points: len(s.Points), Chunk: chunk, Res: s.Slurm}
	if b.Dir, err = abs(dir); err != nil {
		return job, false, err
	}
	if b.Workdir, err = os.Getwd(); err != nil {
		return job, false, err
	}
	if strings.ContainsAny(b.Dir+b.Workdir+exe, " \t\n\r") {
		return job, false, fmt.Errorf("slurm: the results folder %q, the working folder %q and the binary %q must not contain spaces (sbatch directives cannot quote them)", b.Dir, b.Workdir, exe)
	}
	if err := os.MkdirAll(filepath.Join(dir, LogsDir), 0o755); err != nil {
		return job, false, err
	}
	err = atomicfile.Write(filepath.Join(dir, BatchFile), func(w io.Writer) error { return WriteBatch(w, b) })
	if err != nil {
		return job, false, err
	}
	tasks, err := pendingTasks(ctx, s, dir, chunk, st.Jobs)
	if err != nil || len(tasks) == 0 {
		return job, false, err
	}
	args := []string{"--parsable"}
	if len(tasks) < b.Tasks() {
		args = append(args, "--array="+compressRanges(tasks))
	}
	out, err := slurmCommand(ctx, "sbatch", append(args, filepath.Join(b.Dir, BatchFile))...)
	if err != nil {
		return job, false, err
	}
	jobID, _, _ := strings.Cut(strings.TrimSpace(out), ";")
	if _, err := strconv.ParseUint(jobID, 10, 64); err != nil {
		return job, false, fmt.Errorf("sbatch: unexpected output %q", out)
	}
	job = Job{ID: jobID, Tasks: tasks, Submitted: time.Now().UTC().Truncate(time.Second)}
	st.Exe, st.Chunk, st.Jobs = exe, chunk, append(st.Jobs, job)
	return job, true, writeSlurmState(dir, st)
}

// pendingTasks lists the array tasks holding a point that is missing or
// failed and not queued or running in Slurm now.
func pendingTasks(ctx context.Context, s *Sweep, dir string, chunk int, jobs []Job) ([]int, error) {
	recs, err := ReadRecords(s, dir)
	if err != nil {
		return nil, err
	}
	active := map[int]string{}
	if len(jobs) > 0 {
		if active, err = queueStates(ctx, jobs); err != nil {
			return nil, err
		}
	}
	var tasks []int
	for t := 0; t*chunk < len(s.Points); t++ {
		if _, busy := active[t]; busy {
			continue
		}
		for i := t * chunk; i < min(len(s.Points), (t+1)*chunk); i++ {
			if recs[i] == nil || recs[i].Status != Done {
				tasks = append(tasks, t)
				break
			}
		}
	}
	return tasks, nil
}

// queueStates asks squeue for the array tasks of jobs that are still
// queued or running: task index -> state (PENDING, RUNNING, ...).
func queueStates(ctx context.Context, jobs []Job) (map[int]string, error) {
	me, err := user.Current()
	if err != nil {
		return nil, fmt.Errorf("squeue: %w", err)
	}
	// All of the user's jobs rather than --jobs, which fails on ids squeue
	// has already forgotten.
	out, err := slurmCommand(ctx, "squeue", "--noheader", "--array", "--user="+me.Username, "--format=%i %T")
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for _, j := range jobs {
		ids[j.ID] = true
	}
	return parseQueue(out, ids), nil
}

// parseQueue reads squeue lines "JOB_TASK STATE"; a pending array may be
// one line "JOB_[3,5-7%2] PENDING".
func parseQueue(out string, jobs map[string]bool) map[int]string {
	states := map[int]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		job, task, ok := strings.Cut(f[0], "_")
		if !ok || !jobs[job] {
			continue
		}
		task = strings.Trim(task, "[]")
		task, _, _ = strings.Cut(task, "%")
		for _, part := range strings.Split(task, ",") {
			lo, hi, isRange := strings.Cut(part, "-")
			a, err1 := strconv.Atoi(lo)
			b := a
			var err2 error
			if isRange {
				b, err2 = strconv.Atoi(hi)
			}
			// No sweep has MaxPoints tasks: larger indices are not ours,
			// and would overflow the loop below.
			if err1 != nil || err2 != nil || a < 0 || b < a || b >= MaxPoints {
				continue
			}
			for t := a; t <= b; t++ {
				states[t] = f[1]
			}
		}
	}
	return states
}

// compressRanges writes sorted indices as Slurm's array syntax: 0-3,7,9-10.
func compressRanges(xs []int) string {
	var parts []string
	for i := 0; i < len(xs); {
		j := i
		for j+1 < len(xs) && xs[j+1] == xs[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(xs[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", xs[i], xs[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

func slurmCommand(ctx context.Context, name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Status is where a sweep stands.
type Status struct {
	Total, Done, Failed, Missing int
	// Running and Pending count the points of array tasks Slurm runs or
	// queues now (among the missing and failed ones).
	Running, Pending int
	// FailedPoints and MissingPoints list the point indices.
	FailedPoints, MissingPoints []int
	Slurm                       bool
}

// ReadStatus reads the records of dir and, for a Slurm sweep, asks squeue
// about its jobs.
func ReadStatus(ctx context.Context, s *Sweep, dir string) (Status, error) {
	recs, err := ReadRecords(s, dir)
	if err != nil {
		return Status{}, err
	}
	st := Status{Total: len(s.Points)}
	active := map[int]string{}
	ss, isSlurm, err := ReadSlurmState(dir)
	if err != nil {
		return st, err
	}
	if isSlurm && len(ss.Jobs) > 0 {
		st.Slurm = true
		if active, err = queueStates(ctx, ss.Jobs); err != nil {
			return st, err
		}
	}
	for i, r := range recs {
		switch {
		case r != nil && r.Status == Done:
			st.Done++
			continue
		case r != nil:
			st.Failed++
			st.FailedPoints = append(st.FailedPoints, i)
		default:
			st.Missing++
			st.MissingPoints = append(st.MissingPoints, i)
		}
		if isSlurm {
			switch active[i/max(1, ss.Chunk)] {
			case "RUNNING", "COMPLETING":
				st.Running++
			case "PENDING", "CONFIGURING":
				st.Pending++
			}
		}
	}
	return st, nil
}
