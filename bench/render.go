package bench

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Header describes the machine and the load in one line, for the top of
// the table.
func (rep *Report) Header() string {
	m := rep.Machine
	var b strings.Builder
	b.WriteString("pgfast")
	if m.Pgfast != "" {
		b.WriteString(" " + m.Pgfast)
	}
	fmt.Fprintf(&b, " bench against %s on %d cores (%s), %s, %s; ", rep.Target, m.Cores, m.CPU, m.Go, m.PostgreSQL)
	fmt.Fprintf(&b, "%s per scenario, %s connections, select at %s req/s, batches of %d at %d/s",
		formatSeconds(rep.Seconds), formatCount(float64(rep.Connections)), formatCount(float64(rep.Rate)), rep.BatchSize, rep.BatchRate)
	return b.String()
}

var tableColumns = []string{"scenario", "README target", "measured", "vs /ping", "errors", "result"}

// row returns a result's table cells, in tableColumns order.
func (r *Result) row() []string {
	target := r.Target
	if target == "" {
		target = "—"
	}
	ratio := "—"
	if r.RatioToPing > 0 {
		ratio = strconv.FormatFloat(r.RatioToPing, 'f', 2, 64) + "×"
	}
	errs := "—"
	if r.Requests > 0 {
		errs = formatPercent(r.ErrorRate())
	}
	return []string{r.Scenario, target, r.Measured(), ratio, errs, r.Status()}
}

// Measured is the table's measured cell: the scenario's headline numbers,
// or "not measured" (the notes under the table say why).
func (r *Result) Measured() string {
	m := r.Metrics
	if r.Skipped != "" {
		return "skipped"
	}
	if len(m) == 0 {
		return "not measured"
	}
	switch r.Scenario {
	case ScenarioSelect:
		return "p50 " + formatMillis(m[MetricP50]) + ", p99 " + formatMillis(m[MetricP99])
	case ScenarioBatch:
		return "p50 " + formatMillis(m[MetricP50])
	case ScenarioPeak, ScenarioPing:
		return formatCount(m[MetricReqPerSec]) + " req/s"
	case ScenarioCached:
		s := formatCount(m[MetricReqPerSec]) + " req/s"
		if v, ok := m[MetricHitRate]; ok {
			return s + ", hit rate " + formatPercent(v)
		}
		return s + ", hit rate not measured"
	case ScenarioProxy:
		s := formatCount(m[MetricReqPerSec]) + " req/s"
		if d, ok := r.Extra[extraDirectReqPerSec]; ok {
			s += " (" + strconv.FormatFloat(r.Extra[extraVsDirect], 'f', 2, 64) + "× direct " + formatCount(d) + " req/s)"
		}
		return s
	case ScenarioRows:
		return formatCount(m[MetricRowsPerSec]) + " rows/s (" + formatCount(r.Extra[MetricReqPerSec]) + " req/s)"
	case ScenarioPool:
		return formatPercent(m[MetricEfficiency]) + " efficiency (" + formatCount(r.Extra[extraEmptyAcquires]) +
			" of " + formatCount(r.Extra[extraAcquires]) + " acquires found the pool empty; " +
			formatCount(r.Extra[extraGateWaits]) + " waited at the gate)"
	}
	return ""
}

// AppendText appends the report as a plain-text table for a terminal: the
// header, one aligned row per scenario, and the notes.
func (rep *Report) AppendText(dst []byte) []byte {
	buf := bytes.NewBuffer(dst)
	buf.WriteString(rep.Header())
	buf.WriteString("\n\n")
	tw := tabwriter.NewWriter(buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(tableColumns, "\t"))
	for i := range rep.Results {
		fmt.Fprintln(tw, strings.Join(rep.Results[i].row(), "\t"))
	}
	tw.Flush()
	rep.appendNotes(buf, "")
	return buf.Bytes()
}

// AppendMarkdown appends the report as markdown: the header as a paragraph,
// then the table, then the notes. The README's benchmark section is this
// output.
func (rep *Report) AppendMarkdown(dst []byte) []byte {
	buf := bytes.NewBuffer(dst)
	buf.WriteString(rep.Header())
	buf.WriteString(".\n\n")
	buf.WriteString("| " + strings.Join(tableColumns, " | ") + " |\n")
	buf.WriteString("|" + strings.Repeat("---|", len(tableColumns)) + "\n")
	for i := range rep.Results {
		cells := rep.Results[i].row()
		for j := range cells {
			cells[j] = strings.ReplaceAll(cells[j], "|", `\|`)
		}
		buf.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	rep.appendNotes(buf, "- ")
	return buf.Bytes()
}

// appendNotes writes one line per note and per sample error, if any.
func (rep *Report) appendNotes(buf *bytes.Buffer, bullet string) {
	first := true
	line := func(s string) {
		if first {
			buf.WriteString("\n")
			first = false
		}
		buf.WriteString(bullet + s + "\n")
	}
	for i := range rep.Results {
		r := &rep.Results[i]
		if r.Failure != "" {
			line(r.Scenario + ": " + r.Failure)
		}
		if r.Skipped != "" {
			line(r.Scenario + ": skipped: " + r.Skipped)
		}
		if r.Note != "" {
			line(r.Scenario + ": " + r.Note)
		}
		if r.Errors > 0 {
			line(fmt.Sprintf("%s: %s of %s responses failed, e.g. %s", r.Scenario, formatCount(float64(r.Errors)),
				formatCount(float64(r.Requests)), strings.Join(r.ErrorSamples, "; ")))
		}
	}
}

// formatCount renders v rounded to an integer with thousands separators:
// 15234.6 → "15,235".
func formatCount(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	s := strconv.FormatInt(int64(math.Round(math.Abs(v))), 10)
	var b strings.Builder
	if v < 0 && s != "0" {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// formatMillis renders a latency in milliseconds with three significant
// digits or so: 0.613 → "0.61 ms", 12.34 → "12.3 ms", 250.4 → "250 ms".
func formatMillis(ms float64) string {
	switch {
	case ms < 10:
		return strconv.FormatFloat(ms, 'f', 2, 64) + " ms"
	case ms < 100:
		return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(ms, 'f', 0, 64) + " ms"
}

// formatPercent renders a 0..1 share as a percentage with two decimals.
func formatPercent(v float64) string {
	return strconv.FormatFloat(v*100, 'f', 2, 64) + "%"
}

// formatSeconds renders a duration in seconds as Go would print it: "5s",
// "1.5s".
func formatSeconds(s float64) string {
	return strconv.FormatFloat(s, 'f', -1, 64) + "s"
}
