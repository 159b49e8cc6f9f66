package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteReplacesOnSuccess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	if err := WriteFile(path, []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("second")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "second" {
		t.Fatalf("content %q, want %q", b, "second")
	}
}

func TestWriteCreatesFolders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runs", "a", "out.txt")
	if err := WriteFile(path, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "x" {
		t.Fatalf("content %q", b)
	}
}

func TestFailedWriteLeavesTargetAndNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	if err := WriteFile(path, []byte("kept")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(path, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want it to wrap %v", err, boom)
	}
	if b, _ := os.ReadFile(path); string(b) != "kept" {
		t.Fatalf("target changed to %q after a failed write", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("folder holds %d entries, want only the target (temporary file left behind?)", len(entries))
	}
}

// TestRemoveStale: a write killed between CreateTemp and Rename leaves
// ".checkpoint.gob.tmp-<digits>"; only such files of the one target go.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "checkpoint.gob")
	stale := []string{".checkpoint.gob.tmp-1234567890", ".checkpoint.gob.tmp-7"}
	kept := []string{"checkpoint.gob", ".checkpoint.gob.tmp-", ".checkpoint.gob.tmp-12x", ".metrics.json.tmp-123", "checkpoint.gob.tmp-5", ".checkpoint.gob.tmp-99.bak"}
	for _, name := range append(append([]string(nil), stale...), kept...) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Mkdir(filepath.Join(dir, ".checkpoint.gob.tmp-42"), 0o755) // not a file: kept
	removed, err := RemoveStale(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != len(stale) {
		t.Errorf("removed %v, want %v", removed, stale)
	}
	for _, name := range stale {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind", name)
		}
	}
	for _, name := range append(kept, ".checkpoint.gob.tmp-42") {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s removed: %v", name, err)
		}
	}
	if removed, err := RemoveStale(filepath.Join(dir, "missing", "checkpoint.gob")); err != nil || removed != nil {
		t.Errorf("a missing folder: %v, %v", removed, err)
	}
}
