package train

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReadStudyRecords: whatever a study's results.jsonl holds, reading it
// never panics; every record returned is of the study's settings, and a
// record of other settings is an error naming the file and line.
func FuzzReadStudyRecords(f *testing.F) {
	f.Add([]byte(`{"dataset":"mnist","variant":"inplace","settings":"s1","test_accuracy":0.5,"events":{"opa_pulses":3},"slice_sat_rate":[0.1]}` + "\n"))
	f.Add([]byte(`{"settings":"s1"}` + "\n" + `{"settings":"other"}` + "\n"))
	f.Add([]byte(`{"settings":"s1","test_loss":null}` + "\n" + `{"settings":"s1","test_acc`))
	path := filepath.Join(f.TempDir(), StudyJSONL)
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		recs, err := readStudyRecords(path, "s1")
		if err != nil {
			// The scanner's own error (a line over 1 MiB) does not name
			// the file yet.
			if !strings.HasPrefix(err.Error(), path) && !strings.HasPrefix(err.Error(), "study") && !strings.Contains(err.Error(), "token too long") {
				t.Errorf("error without the file: %v", err)
			}
			return
		}
		for _, r := range recs {
			if r.Settings != "s1" {
				t.Fatalf("a record of settings %q returned", r.Settings)
			}
		}
	})
}
