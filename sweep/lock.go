package sweep

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// LockFile is the lock of a results folder: while one process runs or
// submits a sweep's points there, it holds this file, which names its pid
// and host.
const LockFile = "sweep.lock"

// holder is who holds a lock: the first line of a lock file, "pid host".
type holder struct {
	pid  int
	host string
}

func (h holder) String() string { return fmt.Sprintf("pid %d on host %s", h.pid, h.host) }

func parseHolder(b []byte) (holder, bool) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	pid, host, ok := strings.Cut(string(line), " ")
	n, err := strconv.Atoi(pid)
	if !ok || err != nil || n <= 0 || host == "" {
		return holder{}, false
	}
	return holder{n, host}, true
}

// alive reports whether a process of this host runs with pid: signal 0
// checks without disturbing it (a process of another user, which may not be
// signalled, runs).
func alive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return !errors.Is(p.Signal(syscall.Signal(0)), os.ErrProcessDone)
}

// lock takes the lock file at path for this process, or says who holds it.
// A lock left by a process of this host that is gone is taken over; note
// then says so. A lock of another host cannot be checked and is kept.
// release removes the lock.
func lock(path, what string) (release func(), note string, err error) {
	host, err := os.Hostname()
	if err != nil {
		return nil, "", fmt.Errorf("lock %s: %w", path, err)
	}
	me := holder{os.Getpid(), host}
	content := []byte(fmt.Sprintf("%d %s\n", me.pid, me.host))
	// Written under a name of its own, then linked: the link either creates
	// the lock whole or fails because it exists, on NFS too.
	tmp := fmt.Sprintf("%s.%s.%d.%d", path, host, me.pid, lockSeq.Add(1))
	if err := os.WriteFile(tmp, content, 0o644); err != nil {
		return nil, "", fmt.Errorf("lock %s: %w", path, err)
	}
	defer os.Remove(tmp)
	for range 3 {
		err := os.Link(tmp, path)
		if err == nil {
			return func() { os.Remove(path) }, note, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, "", fmt.Errorf("lock %s: %w", path, err)
		}
		old, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, "", fmt.Errorf("lock %s: %w", path, err)
		}
		h, ok := parseHolder(old)
		switch {
		case !ok:
			return nil, "", fmt.Errorf("%s is held by a lock file that does not name its holder (%q): if no sweep runs on %s, remove %s", what, old, what, path)
		case h.host == host && !alive(h.pid):
			// The holder is gone: take its lock over, unless another
			// process did so since it was read.
			if now, _ := os.ReadFile(path); !bytes.Equal(now, old) {
				continue
			}
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, "", fmt.Errorf("lock %s: %w", path, err)
			}
			note = fmt.Sprintf("took over %s, left by %s which no longer runs", path, h)
			continue
		}
		return nil, "", fmt.Errorf("%s is in use by another sweep process (%s, %s): wait for it to finish; if that process is gone, remove %s", what, h, path, path)
	}
	return nil, "", fmt.Errorf("lock %s: it changed hands while this process took it: run again", path)
}

// lockSeq numbers the locks one process takes, so that their temporary
// files differ.
var lockSeq atomic.Int64

// lockFolder locks the results folder dir.
func lockFolder(dir string) (release func(), note string, err error) {
	return lock(filepath.Join(dir, LockFile), dir)
}
