package bench

import (
	"maps"
	"slices"
)

// mergeRounds folds the rows of repeated runs (Options.Repeat) into one row
// per scenario, in the first run's order: each metric and extra becomes the
// median of its runs, and Samples keeps every run's value of each metric,
// from which Compare derives the metric's noise floor. Counts add up; the
// first failure, skip reason and note are kept, and the worst start
// (Settle). A single run is returned as it is.
func mergeRounds(rounds [][]Result) []Result {
	if len(rounds) == 0 {
		return nil
	}
	if len(rounds) == 1 {
		return rounds[0]
	}
	out := make([]Result, 0, len(rounds[0]))
	for _, first := range rounds[0] {
		var runs []*Result
		for _, rows := range rounds {
			for i := range rows {
				if rows[i].Scenario == first.Scenario {
					runs = append(runs, &rows[i])
				}
			}
		}
		out = append(out, mergeRuns(runs))
	}
	return out
}

// mergeRuns merges one scenario's rows of several runs (see mergeRounds).
func mergeRuns(runs []*Result) Result {
	m := Result{Scenario: runs[0].Scenario, Metrics: map[string]float64{}, Extra: map[string]float64{},
		Samples: map[string][]float64{}}
	extras := map[string][]float64{}
	seen := map[string]bool{}
	for _, r := range runs {
		for k, v := range r.Metrics {
			m.Samples[k] = append(m.Samples[k], v)
		}
		for k, v := range r.Extra {
			extras[k] = append(extras[k], v)
		}
		m.Requests += r.Requests
		m.Errors += r.Errors
		m.Seconds += r.Seconds
		for _, e := range r.ErrorSamples {
			if !seen[e] && len(m.ErrorSamples) < maxSamples {
				seen[e] = true
				m.ErrorSamples = append(m.ErrorSamples, e)
			}
		}
		if m.Failure == "" {
			m.Failure = r.Failure
		}
		if m.Skipped == "" {
			m.Skipped = r.Skipped
		}
		if m.Note == "" {
			m.Note = r.Note
		}
		m.Settle = m.Settle.worse(r.Settle)
	}
	for _, k := range slices.Sorted(maps.Keys(m.Samples)) {
		m.Metrics[k] = median(m.Samples[k])
	}
	for k, vs := range extras {
		m.Extra[k] = median(vs)
	}
	if m.Failure != "" || m.Skipped != "" {
		// A row that failed in one run is not measured: its median would
		// mix runs that measured different things.
		m.Metrics, m.Samples = map[string]float64{}, nil
	}
	if len(m.Samples) == 0 {
		m.Samples = nil
	}
	return m
}

// median returns the median of vs (the mean of the middle two for an even
// count), 0 for none. vs is not changed.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// spread is max - min of vs: the noise a metric showed across the runs of
// one report, 0 with fewer than two.
func spread(vs []float64) float64 {
	if len(vs) < 2 {
		return 0
	}
	return slices.Max(vs) - slices.Min(vs)
}
