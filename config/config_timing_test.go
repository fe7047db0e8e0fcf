package config

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParse measures a full parse, validation included. It runs at start and on each
// reload only, so it is no hot path; most of its time is yaml.v3's parser.
func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"full.yaml", "full.json"} {
		data, err := os.ReadFile(filepath.Join(samples, name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Parse(data, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
