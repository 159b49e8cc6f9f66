package train

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReadDeviceFile: the --device YAML never panics; every error names
// the file, and what it accepts is a valid device model.
func FuzzReadDeviceFile(f *testing.F) {
	for _, s := range []string{
		"kind: nonlinear\nalpha: 2\nsigma: 0.01\n",
		"kind: ideal\nd2d: 0.1\nc2c: 0.05\nread_noise: 0.01\nstuck_low: 0.01\nstuck_high: 0.01\n",
		"kind: table\n",
		"kind: ideal\nalpha: 1\n",
		"kind: quantum\n",
		"stuck_low: 0.6\nstuck_high: 0.6\n",
		"kind: [1, 2]\n",
		"read_noise: 0.1\nread_noise_scale: range\n",
		"kind: nonlinear\nsigma: 1\nsigma_update: g\n",
		"stuck_low: 0.01\nfault_map: true\nspare_rows: 4\nspare_cols: 2\n",
		"spare_cols: 3\n",
		"fault_map: yes please\n",
		"",
		"kind: ideal\n---\nkind: table\n",
	} {
		f.Add(s)
	}
	// One file per fuzzing process, which runs its inputs one at a time.
	path := filepath.Join(f.TempDir(), "d.yaml")
	f.Fuzz(func(t *testing.T, src string) {
		// A table path would make the reader open whatever file the input
		// names; tables have their own fuzz target in package device.
		if strings.ContainsAny(src, "/\\") {
			return
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := ReadDeviceFile(path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted an invalid device model: %v", err)
		}
	})
}
