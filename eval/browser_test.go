package eval

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/panther-xbar/panther/arch"
	"github.com/panther-xbar/panther/model"
	"github.com/panther-xbar/panther/sim"
)

// layoutCheck, appended to the report for the test only, lists every
// chart element that the browser lays out beyond its chart's edges (a
// clipped legend or label), or says ok.
const layoutCheck = `<script>
const bad = [];
document.querySelectorAll('svg').forEach((svg, i) => {
  const w = svg.width.baseVal.value, h = svg.height.baseVal.value;
  svg.querySelectorAll('text, rect, line').forEach(el => {
    const b = el.getBBox();
    if (b.x < -0.5 || b.y < -0.5 || b.x + b.width > w + 0.5 || b.y + b.height > h + 0.5) {
      bad.push('chart ' + i + ': ' + el.tagName + ' "' + el.textContent + '" spans x ' + b.x.toFixed(1) + '..' + (b.x + b.width).toFixed(1) +
        ', y ' + b.y.toFixed(1) + '..' + (b.y + b.height).toFixed(1) + ' of ' + w + ' x ' + h);
    }
  });
});
document.body.insertAdjacentHTML('beforeend', '<pre id="layout">' + document.querySelectorAll('svg').length + ' charts: ' + (bad.length ? bad.join('; ') : 'ok') + '</pre>');
</script>`

// browser returns a headless Chromium or Chrome on PATH, or "".
func browser() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// A real browser lays the report out with every label and legend entry
// inside its chart, with every operation class in the legend.
func TestHTMLReportInBrowser(t *testing.T) {
	chrome := browser()
	if chrome == "" {
		t.Skip("no headless browser: install Debian's chromium (apt-get install chromium) to check the report's layout")
	}
	o := fakeOptions()
	o.simulate = func(ctx context.Context, w Workload, a *arch.Arch, b, k int, bias model.BiasPlacement, stage func(string)) (Measure, error) {
		m, err := fake(ctx, w, a, b, k, bias, stage)
		// Every class of the simulator, so that the legend is full.
		m.ByClass = nil
		for _, n := range []string{"mvm", "mtvm", "opa", "crs", "vector", "memory", "network", "control", "leakage"} {
			m.ByClass = append(m.ByClass, sim.Share{Name: n, PJ: m.EnergyPJ / 9, Percent: 100.0 / 9})
		}
		return m, err
	}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var page strings.Builder
	if err := res.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "eval.html")
	html := strings.Replace(page.String(), "</body>", layoutCheck+"</body>", 1)
	if err := os.WriteFile(path, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(chrome, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "file://"+path).Output()
	if err != nil {
		t.Fatalf("%s --dump-dom: %v", chrome, err)
	}
	m := regexp.MustCompile(`<pre id="layout">([0-9]+ charts: [^<]*)</pre>`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("the browser ran no layout check; its page:\n%.2000s", out)
	}
	// mlp-l4 at batches 1 and 4, vgg16 at 1: three groups of three charts.
	if got := string(m[1]); got != "9 charts: ok" {
		t.Errorf("layout: %s", got)
	}
	for _, n := range []string{">leakage</text>", ">control</text>", "energy per step (uJ, log scale)"} {
		if !strings.Contains(string(out), n) {
			t.Errorf("the page lacks %q", n)
		}
	}
}
