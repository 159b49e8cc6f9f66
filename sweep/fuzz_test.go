package sweep

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// FuzzReadRecord: whatever a point's record file holds, reading it never
// panics; a record read is one of this sweep's and survives being written
// and read again unchanged.
func FuzzReadRecord(f *testing.F) {
	s, err := Parse("fuzz.yaml", []byte("kind: fake\ngrid: {a: [1]}\n"))
	if err != nil {
		f.Fatal(err)
	}
	good, _ := json.Marshal(Record{Point: 0, ID: s.IDs[0], Kind: "fake", Status: Done, Params: s.Points[0], Metrics: Metrics{"sum": 2}})
	f.Add(good)
	f.Add([]byte(`{"point":0,"id":"` + s.IDs[0] + `","status":"done","metrics":{"loss":null,"acc":"NaN","x":"-Inf"}}`))
	f.Add([]byte(`{"point":0,"id":"` + s.IDs[0] + `","metrics":null,"params":{"a":[1,{"b":null}]}}`))
	f.Add([]byte(`{"point":3,"id":"x"}`))
	dir := f.TempDir()
	if err := os.MkdirAll(dir+"/"+PointsDir, 0o755); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(recordPath(dir, 0), data, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := readRecord(s, dir, 0)
		if err != nil {
			if !strings.Contains(err.Error(), recordPath(dir, 0)) {
				t.Errorf("error without the file: %v", err)
			}
			return
		}
		if r.Point != 0 || r.ID != s.IDs[0] {
			t.Fatalf("accepted a record of point %d, id %s", r.Point, r.ID)
		}
		if err := writeRecord(dir, r); err != nil {
			t.Fatalf("a record read cannot be written: %v", err)
		}
		first, _ := os.ReadFile(recordPath(dir, 0))
		again, err := readRecord(s, dir, 0)
		if err != nil {
			t.Fatalf("a record written cannot be read: %v\n%s", err, first)
		}
		writeRecord(dir, again)
		if second, _ := os.ReadFile(recordPath(dir, 0)); !bytes.Equal(first, second) {
			t.Fatalf("written twice, the record changed:\n%s\n%s", first, second)
		}
	})
}

// FuzzReadResults: a merged results file never makes ReadResults panic,
// and errors name the file and line.
func FuzzReadResults(f *testing.F) {
	if b, err := os.ReadFile("testdata/results.jsonl"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"point":0,"status":"done","params":{"a":1},"metrics":{"m":null}}` + "\n\n" + `{"point":1}`))
	f.Add([]byte("not json\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := readResults("fuzz.jsonl", bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.jsonl") {
				t.Errorf("error without the file name: %v", err)
			}
			return
		}
		for _, r := range recs {
			if _, err := json.Marshal(r); err != nil {
				t.Fatalf("a record read cannot be written again: %v", err)
			}
		}
	})
}

// FuzzParseQueue: squeue's output never makes parseQueue panic or loop;
// the tasks it returns are indices a sweep can have.
func FuzzParseQueue(f *testing.F) {
	f.Add("12_3 RUNNING\n12_[5-7,9%2] PENDING\n13_1 RUNNING\n12 RUNNING\n")
	f.Add("12_[9223372036854775806-9223372036854775807] PENDING\n")
	f.Add("12_[0-1048576] PENDING\n")
	f.Fuzz(func(t *testing.T, out string) {
		for task, state := range parseQueue(out, map[string]bool{"12": true}) {
			if task < 0 || task >= MaxPoints || state == "" || strings.ContainsAny(state, " \t\n") {
				t.Fatalf("task %d state %q", task, state)
			}
		}
	})
}

// FuzzParseHolder: a lock file's content never makes parseHolder panic; a
// holder it accepts reads back from the line a lock would hold.
func FuzzParseHolder(f *testing.F) {
	f.Add([]byte("4242 node17\n"))
	f.Add([]byte("busy\n"))
	f.Add([]byte("-1 h\n"))
	f.Add([]byte("12 a b\nmore"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := parseHolder(b)
		if !ok {
			return
		}
		if h.pid <= 0 || h.host == "" {
			t.Fatalf("accepted %+v", h)
		}
		if again, ok := parseHolder(fmt.Appendf(nil, "%d %s\n", h.pid, h.host)); !ok || again != h {
			t.Fatalf("%+v reads back as %+v", h, again)
		}
	})
}

// FuzzReadSlurmState: whatever slurm.json holds, reading it never panics,
// and errors name the file.
func FuzzReadSlurmState(f *testing.F) {
	f.Add([]byte(`{"exe":"/bin/panther","chunk":2,"jobs":[{"id":"12","tasks":[0,3],"submitted":"2026-01-02T03:04:05Z"}]}`))
	f.Add([]byte(`{"jobs":[{"submitted":"yesterday"}]}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(dir+"/"+SlurmFile, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := ReadSlurmState(dir); err != nil && (ok || !strings.Contains(err.Error(), SlurmFile)) {
			t.Fatalf("ok %v, error %v", ok, err)
		}
	})
}
