package bench

import "testing"

func TestCPUModel(t *testing.T) {
	f := func(cpuinfo, want string) {
		t.Helper()
		if got := cpuModel([]byte(cpuinfo)); got != want {
			t.Fatalf("cpuModel(%q): got %q; want %q", cpuinfo, got, want)
		}
	}
	f("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13 64-Core Processor\nmodel name\t: other\n", "AMD EPYC 7B13 64-Core Processor")
	f("model name\t:   Intel(R)  Xeon(R)   CPU  \n", "Intel(R) Xeon(R) CPU")
	f("processor\t: 0\nBogoMIPS\t: 108.00\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n", "Raspberry Pi 4 Model B Rev 1.4")
	f("processor\t: 0\ncpu\t\t: POWER9 (raw), altivec supported\n", "POWER9 (raw), altivec supported")
	f("", "unknown CPU")
}

func TestShortVersion(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := shortVersion(in); got != want {
			t.Fatalf("shortVersion(%q): got %q; want %q", in, got, want)
		}
	}
	f("PostgreSQL 17.6 (Debian 17.6-1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 14.2.0-19) 14.2.0, 64-bit", "PostgreSQL 17.6 (Debian 17.6-1)")
	f("PostgreSQL 16.1", "PostgreSQL 16.1")
}
