package rowcodec

import "testing"

// intervalBytes builds interval_send bytes.
func intervalBytes(months, days int32, us int64) []byte { return be(us, days, months) }

func TestInterval(t *testing.T) {
	type c struct {
		months, days int32
		us           int64
	}
	f := func(v c, postgres, verbose, sql, iso string) {
		t.Helper()
		src := intervalBytes(v.months, v.days, v.us)
		for style, want := range map[intervalStyle]string{
			intervalPostgres: postgres, intervalPostgresVerbose: verbose,
			intervalSQLStandard: sql, intervalISO8601: iso,
		} {
			checkDecode(t, func(dst, src []byte) ([]byte, error) { return appendInterval(dst, src, style) }, src, `"`+want+`"`)
		}
	}
	const h = int64(usecsPerHour)
	f(c{0, 0, 0}, "00:00:00", "@ 0", "0", "PT0S")
	f(c{14, 3, 4*h + 5*60e6 + 6_789000}, "1 year 2 mons 3 days 04:05:06.789",
		"@ 1 year 2 mons 3 days 4 hours 5 mins 6.789 secs", "+1-2 +3 +4:05:06.789", "P1Y2M3DT4H5M6.789S")
	f(c{-14, 3, -(4*h + 5*60e6 + 6e6)}, "-1 years -2 mons +3 days -04:05:06",
		"@ 1 year 2 mons -3 days 4 hours 5 mins 6 secs ago", "-1-2 +3 -4:05:06", "P-1Y-2M3DT-4H-5M-6S")
	f(c{1, -1, 0}, "1 mon -1 days", "@ 1 mon -1 days", "+0-1 -1 +0:00:00", "P1M-1D")
	f(c{0, 0, -1}, "-00:00:00.000001", "@ 0.000001 secs ago", "-0:00:00.000001", "PT-0.000001S")
	f(c{12, 0, 0}, "1 year", "@ 1 year", "1-0", "P1Y")
	f(c{-12, 0, 0}, "-1 years", "@ 1 year ago", "-1-0", "P-1Y")
	f(c{0, 3, 0}, "3 days", "@ 3 days", "3 0:00:00", "P3D")
	f(c{0, -1, h}, "-1 days +01:00:00", "@ 1 day -1 hours ago", "+0-0 -1 +1:00:00", "P-1DT1H")
	f(c{0, 0, 100 * h}, "100:00:00", "@ 100 hours", "100:00:00", "PT100H")
	f(c{0, 0, 1e6}, "00:00:01", "@ 1 sec", "0:00:01", "PT1S")
	checkDecodeError(t, func(dst, src []byte) ([]byte, error) { return appendInterval(dst, src, 0) }, make([]byte, 15))
}

func TestParseIntervalStyle(t *testing.T) {
	f := func(in string, want intervalStyle, ok bool) {
		t.Helper()
		got, err := parseIntervalStyle(in)
		if (err == nil) != ok || ok && got != want {
			t.Errorf("parseIntervalStyle(%q): got %v, %v; want %v, ok=%v", in, got, err, want, ok)
		}
	}
	f("", intervalPostgres, true)
	f("postgres", intervalPostgres, true)
	f("ISO_8601", intervalISO8601, true)
	f("sql_standard", intervalSQLStandard, true)
	f("postgres_verbose", intervalPostgresVerbose, true)
	f("german", 0, false)
}
