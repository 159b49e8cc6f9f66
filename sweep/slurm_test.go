package sweep

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestBatchScript(t *testing.T) {
	var buf bytes.Buffer
	b := Batch{Exe: "/opt/panther/bin/panther", Workdir: "/home/me/work", Dir: "/scratch/it's here", Name: "panther-sweep-tiny",
		Points: 10, Chunk: 3, Res: Slurm{Time: "00:10:00", CPUs: 2, Mem: "1G", Partition: "debug", Options: []string{"--qos=short"}}}
	if err := WriteBatch(&buf, b); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "sweep.sbatch.golden")
	if *update {
		os.WriteFile(golden, buf.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("batch script:\n%s\nwant (%s):\n%s", buf.Bytes(), golden, want)
	}
	if b.Tasks() != 4 {
		t.Errorf("tasks %d, want 4", b.Tasks())
	}
}

func TestQueueParsing(t *testing.T) {
	got := parseQueue("12_3 RUNNING\n12_[5-7,9%2] PENDING\n13_1 RUNNING\n12 RUNNING\n", map[string]bool{"12": true})
	want := map[int]string{3: "RUNNING", 5: "PENDING", 6: "PENDING", 7: "PENDING", 9: "PENDING"}
	if len(got) != len(want) {
		t.Fatalf("parsed %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("task %d: %q, want %q", k, got[k], v)
		}
	}
	if r := compressRanges([]int{0, 1, 2, 3, 7, 9, 10}); r != "0-3,7,9-10" {
		t.Errorf("ranges %q", r)
	}
}
