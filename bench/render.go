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
	if rep.Repeat > 1 {
		fmt.Fprintf(&b, "; each scenario run %d times, medians shown", rep.Repeat)
	}
	return b.String()
}

var tableColumns = []string{"scenario", "README target", "measured", "vs /ping", "vs limit", "errors", "result"}

// row returns a result's table cells, in tableColumns order; limit is the
// report's composed limit in req/s (0 when not measured).
func (r *Result) row(limit float64) []string {
	target := r.Target
	if target == "" {
		target = "—"
	}
	ratio := "—"
	if r.RatioToPing > 0 {
		ratio = strconv.FormatFloat(r.RatioToPing, 'f', 2, 64) + "×"
	}
	vsLimit := "—"
	if r.VsLimit > 0 && limit > 0 {
		vsLimit = strconv.FormatFloat(r.VsLimit, 'f', 2, 64) + "× of " + formatCount(limit)
	}
	errs := "—"
	if r.Requests > 0 {
		errs = formatPercent(r.ErrorRate())
	}
	return []string{r.Scenario, target, r.Measured(), ratio, vsLimit, errs, r.Status()}
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
	case ScenarioPing:
		return formatCount(m[MetricReqPerSec]) + " req/s"
	case ScenarioPeak:
		return formatCount(m[MetricReqPerSec]) + " req/s" + r.coalescing()
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
	case ScenarioMemory:
		s := "peak RSS " + formatMB(m[MetricPeakRSS])
		if hw, ok := r.Extra[extraMaxRSS]; ok {
			s += " (high-water " + formatMB(hw) + ")"
		}
		return s
	case ScenarioPool:
		return formatPercent(m[MetricEfficiency]) + " efficiency (" + formatCount(r.Extra[extraEmptyAcquires]) +
			" of " + formatCount(r.Extra[extraAcquires]) + " acquires found the pool empty; " +
			formatCount(r.Extra[extraGateWaits]) + " waited at the gate)"
	}
	return ""
}

// coalescing describes how much of peak coalesced runs answered, when the
// target reported its routes' coalescing: the share of requests, the
// mean run and the share of runs answered by one keyed statement.
func (r *Result) coalescing() string {
	n, ok := r.Extra[extraCoalesced]
	if !ok || r.Requests == 0 {
		return ""
	}
	runs := r.Extra[extraCoalescedRuns]
	if runs == 0 {
		return " (none coalesced)"
	}
	return " (" + formatPercent(n/float64(r.Requests)) + " coalesced, " + strconv.FormatFloat(n/runs, 'f', 1, 64) +
		" per run, " + formatPercent(r.Extra[extraKeyedRuns]/runs) + " of runs keyed)"
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
		fmt.Fprintln(tw, strings.Join(rep.Results[i].row(rep.limit()), "\t"))
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
		cells := rep.Results[i].row(rep.limit())
		for j := range cells {
			cells[j] = strings.ReplaceAll(cells[j], "|", `\|`)
		}
		buf.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	rep.appendNotes(buf, "- ")
	return buf.Bytes()
}

// limit is the composed limit in req/s, 0 when not measured.
func (rep *Report) limit() float64 {
	if rep.Limit == nil {
		return 0
	}
	return rep.Limit.ReqPerSec
}

// limitNote says what the vs limit column was divided by, or why it is
// empty.
func (l *Limit) note() string {
	if l.Failure != "" {
		return "vs limit: not measured: " + l.Failure
	}
	return fmt.Sprintf("vs limit: measured / %s req/s, the composed limit 1/(1/H + 1/D) of H = %s req/s (/ping) and D = %s statements/s "+
		"(the route's statement straight on PostgreSQL, pgbench with %d connections for %s)",
		formatCount(l.ReqPerSec), formatCount(l.HTTPReqPerSec), formatCount(l.DBReqPerSec), l.Connections, formatSeconds(l.Seconds))
}

// appendNotes writes one line per note and per sample error, if any, and
// the composed limit's.
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
	if rep.Limit != nil {
		line(rep.Limit.note())
	}
	if n := settleNote(rep.Results); n != "" {
		line(n)
	}
	if rep.Plot != "" {
		if bullet != "" { // markdown
			line("latency over time, one plot per scenario: [" + rep.Plot + "](" + rep.Plot + ")")
		} else {
			line("latency over time, one plot per scenario: " + rep.Plot)
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

// formatMB renders megabytes with one decimal: 41.23 → "41.2 MB".
func formatMB(mb float64) string {
	return strconv.FormatFloat(mb, 'f', 1, 64) + " MB"
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
