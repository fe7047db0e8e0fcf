package bench

import (
	"bytes"
	"fmt"
	"html/template"
	"os"

	"github.com/tsenart/vegeta/v12/lib/plot"
)

// plotPoints is how many points per series a plot keeps (vegeta's LTTB
// downsampling keeps the shape, spikes included, of a run of 100,000
// requests in a file of a few hundred KB).
const plotPoints = 4000

// plotFor returns the latency plot of a scenario, created on first use.
func (r *runner) plotFor(scenario string) *plot.Plot {
	if r.plots == nil {
		r.plots = map[string]*plot.Plot{}
	}
	p, ok := r.plots[scenario]
	if !ok {
		p = plot.New(plot.Title("pgfast bench: "+scenario+" latency over time"), plot.Downsample(plotPoints))
		r.plots[scenario] = p
	}
	return p
}

// plotPage is the --plot file: one section per scenario, each holding
// vegeta's own plot page (uPlot and its data inlined) in an iframe's
// srcdoc, so the file needs nothing but a browser. vegeta's page has
// fixed element ids, which is why each one gets its own document.
var plotPage = template.Must(template.New("plots").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>pgfast bench: latency over time</title>
<style>
body { font-family: system-ui, sans-serif; margin: 20px; }
iframe { width: 100%; height: 720px; border: 1px solid #ccc; }
</style>
</head>
<body>
<h1>pgfast bench: latency over time</h1>
<p>{{.Header}}</p>
<p>One plot per scenario: each request's latency (log scale) against the seconds since its attack began; repeated runs are separate series. A paced attack's first {{.Warmup}} are its warm-up, plotted but not measured.</p>
{{range .Sections}}<section id="{{.Scenario}}">
<h2>{{.Scenario}}</h2>
<p>{{.Measured}}</p>
<iframe title="{{.Scenario}} latency over time" srcdoc="{{.Page}}"></iframe>
</section>
{{end}}</body>
</html>
`))

// writePlot writes the plots of rep's scenarios, in table order, to path.
func (r *runner) writePlot(path string, rep *Report) error {
	type section struct{ Scenario, Measured, Page string }
	data := struct {
		Header, Warmup string
		Sections       []section
	}{Header: rep.Header(), Warmup: warmupFor(r.o.Duration).String()}
	for i := range rep.Results {
		res := &rep.Results[i]
		p, ok := r.plots[res.Scenario]
		if !ok {
			continue
		}
		p.Close()
		var page bytes.Buffer
		if _, err := p.WriteTo(&page); err != nil {
			return fmt.Errorf("cannot draw the %s plot: %w", res.Scenario, err)
		}
		data.Sections = append(data.Sections, section{Scenario: res.Scenario, Measured: res.Measured(), Page: page.String()})
	}
	var b bytes.Buffer
	if err := plotPage.Execute(&b, data); err != nil {
		return fmt.Errorf("BUG: cannot render the plot page: %w", err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("cannot write plot: %w", err)
	}
	return nil
}
