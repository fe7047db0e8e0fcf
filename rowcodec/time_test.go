package rowcodec

import (
	"math"
	"testing"
	"time"
)

// days2000 counts days from 2000-01-01 to a proleptic Gregorian date
// (astronomical years: 0 is 1 BC).
func days2000(y, m, d int) int64 {
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Unix()/secsPerDay - 10957
}

func TestDate(t *testing.T) {
	f := func(days int64, want string) {
		t.Helper()
		checkDecode(t, appendDate, be(int32(days)), want)
	}
	f(0, `"2000-01-01"`)
	f(-1, `"1999-12-31"`)
	f(59, `"2000-02-29"`)
	f(math.MaxInt32, `"infinity"`)
	f(math.MinInt32, `"-infinity"`)
	f(-postgresEpochJDate, `"4714-11-24 BC"`) // Julian day 0
	f(days2000(-4712, 11, 24), `"4713-11-24 BC"`)
	f(days2000(0, 12, 31), `"0001-12-31 BC"`)
	f(days2000(1, 1, 1), `"0001-01-01"`)
	f(days2000(-43, 3, 15), `"0044-03-15 BC"`)
	f(days2000(9979, 1, 1), `"9979-01-01"`)
	f(days2000(10030, 12, 9), `"10030-12-09"`)
	f(days2000(5874897, 12, 31), `"5874897-12-31"`)
	checkDecodeError(t, appendDate, []byte{1, 2})
}

func TestTime(t *testing.T) {
	f := func(dec decoder, src []byte, want string) {
		t.Helper()
		checkDecode(t, dec, src, want)
	}
	f(appendTime, be(int64(0)), `"00:00:00"`)
	f(appendTime, be(int64(usecsPerDay)), `"24:00:00"`)
	f(appendTime, be(int64(usecsPerDay-1)), `"23:59:59.999999"`)
	f(appendTime, be(int64(45296_500000)), `"12:34:56.5"`)
	f(appendTime, be(int64(1)), `"00:00:00.000001"`)
	f(appendTimeTZ, be(int64(0), int32(0)), `"00:00:00+00"`)
	f(appendTimeTZ, be(int64(0), int32(-19800)), `"00:00:00+05:30"`)
	f(appendTimeTZ, be(int64(0), int32(12600)), `"00:00:00-03:30"`)
	f(appendTimeTZ, be(int64(0), int32(-50400)), `"00:00:00+14"`)
	f(appendTimeTZ, be(int64(0), int32(2670)), `"00:00:00-00:44:30"`)
	checkDecodeError(t, appendTime, be(int64(-1)))
	checkDecodeError(t, appendTime, be(int64(usecsPerDay+1)))
	checkDecodeError(t, appendTimeTZ, be(int64(0)))
}

func TestTimestamp(t *testing.T) {
	f := func(us int64, want string) {
		t.Helper()
		checkDecode(t, appendTimestamp, be(us), want)
	}
	f(0, `"2000-01-01T00:00:00"`)
	f(-1, `"1999-12-31T23:59:59.999999"`)
	f(86400_000000+1_500000, `"2000-01-02T00:00:01.5"`)
	f(math.MaxInt64, `"infinity"`)
	f(math.MinInt64, `"-infinity"`)
	f(days2000(-4712, 11, 24)*usecsPerDay, `"4713-11-24T00:00:00 BC"`)
	f(9223371331199999999, `"294276-12-31T23:59:59.999999"`)
}

func TestTimestampTZ(t *testing.T) {
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	monrovia, err := time.LoadLocation("Africa/Monrovia")
	if err != nil {
		t.Fatal(err)
	}
	f := func(us int64, loc *time.Location, want string) {
		t.Helper()
		checkDecode(t, func(dst, src []byte) ([]byte, error) { return appendTimestampTZ(dst, src, loc) }, be(us), want)
	}
	f(0, nil, `"2000-01-01T00:00:00+00:00"`)
	f(0, time.UTC, `"2000-01-01T00:00:00+00:00"`)
	f(0, kolkata, `"2000-01-01T05:30:00+05:30"`)
	f(-1, kolkata, `"2000-01-01T05:29:59.999999+05:30"`)
	f(math.MaxInt64, kolkata, `"infinity"`)
	f(math.MinInt64, kolkata, `"-infinity"`)
	// 1920-06-01 12:00 UTC: Monrovia kept -0:44:30 then.
	f(time.Date(1920, 6, 1, 12, 0, 0, 0, time.UTC).Sub(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).Microseconds(),
		monrovia, `"1920-06-01T11:15:30-00:44:30"`)
	f(time.Date(1972, 5, 1, 0, 0, 0, 0, time.UTC).Sub(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).Microseconds(),
		monrovia, `"1972-05-01T00:00:00+00:00"`)
	f(time.Date(1920, 6, 1, 12, 0, 0, 0, time.UTC).Sub(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).Microseconds(),
		time.FixedZone("", -5*3600), `"1920-06-01T07:00:00-05:00"`)
}
