package sweep

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecondSweepRefused runs a second sweep on a folder while the first
// still runs a point: it is refused, naming the first one's pid and host,
// and runs nothing; the first finishes and releases the folder.
func TestSecondSweepRefused(t *testing.T) {
	fakeRunner.reset()
	dir := t.TempDir()
	s := parse(t, "kind: fake\nlist:\n  - {a: 1}\n  - {a: 2}\n")
	host, _ := os.Hostname()
	ctx, cancel := context.WithCancel(context.Background())
	var second error
	fakeRunner.block(2, func() {
		second = RunLocal(context.Background(), s, dir, 1, nil, nil)
		cancel()
	})
	if err := RunLocal(ctx, s, dir, 1, nil, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("first sweep: %v, want canceled", err)
	}
	fakeRunner.block(0, nil)
	want := fmt.Sprintf("%s is in use by another sweep process (pid %d on host %s, %s): wait for it to finish; if that process is gone, remove %s",
		dir, os.Getpid(), host, filepath.Join(dir, LockFile), filepath.Join(dir, LockFile))
	if second == nil || second.Error() != want {
		t.Errorf("second sweep: %v\nwant %s", second, want)
	}
	if calls := fakeRunner.reset(); fmt.Sprint(calls) != "map[1:1 2:1]" {
		t.Errorf("calls %v: want each point once, by the first sweep", calls)
	}
	if _, err := os.Stat(filepath.Join(dir, LockFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the lock outlived its sweep: %v", err)
	}
	if err := RunLocal(context.Background(), s, dir, 1, nil, nil); err != nil {
		t.Errorf("a sweep after the first ended: %v", err)
	}
}

// TestLockHeldElsewhere: a lock of another host cannot be checked and is
// kept; a lock file that names no holder is refused as well; a submission
// to Slurm is refused before anything is submitted.
func TestLockHeldElsewhere(t *testing.T) {
	dir := t.TempDir()
	s := parse(t, "kind: fake\ngrid: {a: [1]}\n")
	if err := Prepare(s, dir); err != nil {
		t.Fatal(err)
	}
	lockPath := filepath.Join(dir, LockFile)
	os.WriteFile(lockPath, []byte("4242 node17\n"), 0o644)
	want := "is in use by another sweep process (pid 4242 on host node17, " + lockPath + ")"
	if err := RunLocal(context.Background(), s, dir, 1, nil, nil); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("local run: %v, want %q", err, want)
	}
	if _, _, err := SubmitSlurm(context.Background(), s, dir, "/bin/panther", 0, nil); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("slurm submission: %v, want %q", err, want)
	}
	os.WriteFile(lockPath, []byte("busy\n"), 0o644)
	if err := RunLocal(context.Background(), s, dir, 1, nil, nil); err == nil || !strings.Contains(err.Error(), `is held by a lock file that does not name its holder ("busy\n")`) {
		t.Errorf("garbled lock: %v", err)
	}
	if b, _ := os.ReadFile(lockPath); string(b) != "busy\n" {
		t.Errorf("a refused run changed the lock to %q", b)
	}
}

// TestStaleLockTakenOver: the lock of a process of this host that no longer
// runs (killed with -9, say) is taken over with a note.
func TestStaleLockTakenOver(t *testing.T) {
	fakeRunner.reset()
	dir := t.TempDir()
	s := parse(t, "kind: fake\ngrid: {a: [1]}\n")
	if err := Prepare(s, dir); err != nil {
		t.Fatal(err)
	}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	lockPath := filepath.Join(dir, LockFile)
	os.WriteFile(lockPath, fmt.Appendf(nil, "%d %s\n", gone.Process.Pid, host), 0o644)
	var notes []string
	if err := RunLocal(context.Background(), s, dir, 1, nil, func(n string) { notes = append(notes, n) }); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("took over %s, left by pid %d on host %s which no longer runs", lockPath, gone.Process.Pid, host)
	if len(notes) != 1 || notes[0] != want {
		t.Errorf("notes %q, want [%q]", notes, want)
	}
	if calls := fakeRunner.reset(); fmt.Sprint(calls) != "map[1:1]" {
		t.Errorf("calls %v", calls)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, LockFile+"*")); len(left) != 0 {
		t.Errorf("lock files left: %v", left)
	}
}
